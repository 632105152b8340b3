//! Inserting records, alone or many in one statement, and updating them under their version.

use itsm_domain::{OrganizationId, Record, RecordFields, RecordId, RecordKind, UserId};
use sqlx::{AnyConnection, Row};

use crate::backend::{backend_of, Backend};
use crate::batch;
use crate::{micros, Result, StorageError};

/// The ids new records and their creation events will take, and in the same round trip the value
/// of `also` (a scalar query a caller needs with them), if given.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reserve_for_creations(
    c: &mut AnyConnection,
    n: usize,
    also: Option<&str>,
) -> Result<(Vec<i64>, Vec<i64>, Option<i64>)> {
    let (mut ids, value) = batch::reserve_ids(c, &[("records", n), ("audit_events", n)], also).await?;
    let events = ids.pop().unwrap_or_default();
    let records = ids.pop().unwrap_or_default();
    Ok((records, events, value))
}

/// The next `n` readable numbers of a kind.
async fn next_numbers(c: &mut AnyConnection, kind: RecordKind, n: usize) -> Result<Vec<i64>> {
    match backend_of(c) {
        // One writer at a time (see `Store`), so the numbers after the largest are never taken
        // twice; the unique (kind, number) index makes it an index lookup.
        Backend::Sqlite => {
            let last: i64 = sqlx::query("SELECT COALESCE(MAX(number), 0) FROM records WHERE kind = $1")
                .bind(kind.as_str())
                .fetch_one(&mut *c)
                .await?
                .try_get(0)?;
            Ok(batch::following(last, n))
        }
        // A sequence never blocks concurrent creators; a rolled-back creation leaves a gap in the
        // numbers, which is the usual trade.
        Backend::Postgres => {
            let sql = format!(
                "SELECT nextval('record_number_{}') FROM generate_series(1, $1)",
                kind.as_str()
            );
            batch::next_values(c, &sql, n).await
        }
    }
}

fn organization_of(f: &RecordFields) -> Result<OrganizationId> {
    f.organization_id
        .ok_or_else(|| StorageError::Corrupt("record without organization".into()))
}

/// The stored columns of a record's fields, as a batch row.
fn fields_row(kind: RecordKind, f: &RecordFields) -> Result<serde_json::Map<String, serde_json::Value>> {
    let details = serde_json::to_string(&f.details).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let serde_json::Value::Object(row) = serde_json::json!({
        "organization_id": organization_of(f)?.0,
        "title": f.title, "description": f.description, "state": f.state,
        "priority": f.priority.map(i64::from).unwrap_or(0),
        "assignment_group_id": f.assignment_group_id.map(|g| g.0),
        "assignee_id": f.assignee_id.map(|u| u.0), "service_id": f.service_id.map(|r| r.0),
        "configuration_item_id": f.configuration_item_id.map(|r| r.0),
        "requester_id": f.requester_id.map(|u| u.0), "details": details,
        "search_text": kind.search_text(&f.details),
    }) else {
        return Err(StorageError::Corrupt("record row is not an object".into()));
    };
    Ok(row)
}

/// A record to insert: its fields, who creates it and when.
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    pub kind: RecordKind,
    pub fields: &'a RecordFields,
    pub actor: Option<UserId>,
    pub at: jiff::Timestamp,
}

/// Inserts a new record with the next readable number of its kind, at version 1.
#[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
pub async fn insert(
    c: &mut AnyConnection,
    kind: RecordKind,
    fields: &RecordFields,
    actor: Option<UserId>,
    now: jiff::Timestamp,
) -> Result<Record> {
    let new = NewRecord {
        kind,
        fields,
        actor,
        at: now,
    };
    insert_many(c, &[new]).await?.pop().ok_or(StorageError::NotFound)
}

/// Inserts records in one statement (whatever their number), each with the next readable number
/// of its kind, at version 1. Answers them in the order given.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_many(c: &mut AnyConnection, new: &[NewRecord<'_>]) -> Result<Vec<Record>> {
    // Ids: a single row's comes back from the insert; a batch's are taken up front.
    let ids = if new.len() == 1 {
        vec![0]
    } else {
        batch::next_ids(c, "records", new.len()).await?
    };
    let prepared = prepare_many(c, new, ids).await?;
    let mut inserts = batch::Inserts::default();
    let prepared = prepared.add_to(&mut inserts);
    let returned = inserts.run(c).await?;
    prepared.numbered(&returned)
}

/// New records ready to be written with other rows in one [`batch::Inserts`]: the records as they
/// will read back once written, and their rows.
#[derive(Debug)]
pub struct PreparedRecords {
    records: Vec<Record>,
    pub(crate) rows: Vec<serde_json::Value>,
    inline_numbers: bool,
    /// One row without an id: the database assigns it.
    assigned_id: bool,
}

/// A batch of new records added to an [`batch::Inserts`]; [`AddedRecords::numbered`] answers them
/// once it has run.
#[derive(Debug)]
pub struct AddedRecords {
    records: Vec<Record>,
    assigned_id: bool,
}

impl PreparedRecords {
    /// The records as written (their readable numbers are known once written).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Adds the records to `inserts`, which returns their ids and numbers.
    pub fn add_to(self, inserts: &mut batch::Inserts) -> AddedRecords {
        use batch::ColumnType::{Computed, Int, Text};
        let number_column = if self.inline_numbers {
            Computed(
                "(SELECT COALESCE(MAX(r.number), 0) + 1 FROM records r WHERE r.kind = v.kind)",
                "nextval(CAST('record_number_' || v.kind AS regclass))",
            )
        } else {
            Int
        };
        let mut columns = vec![
            ("id", Int),
            ("kind", Text),
            ("number", number_column),
            ("organization_id", Int),
            ("title", Text),
            ("description", Text),
            ("state", Text),
            ("priority", Int),
            ("assignment_group_id", Int),
            ("assignee_id", Int),
            ("service_id", Int),
            ("configuration_item_id", Int),
            ("requester_id", Int),
            ("details", Text),
            ("search_text", Text),
            ("version", Int),
            ("created_at", Int),
            ("updated_at", Int),
            ("created_by", Int),
        ];
        if self.assigned_id {
            columns.remove(0);
        }
        // Clock columns, when the caller computed the records' clocks before writing them.
        if self.rows.iter().any(|r| r.get("sla_status").is_some()) {
            columns.extend([
                ("sla_status", Text),
                ("sla_due_at", Int),
                ("sla_warn_at", Int),
                ("sla_fingerprint", Int),
                ("sla_clock_keys", Text),
            ]);
        }
        inserts.add("records", columns, self.rows, "RETURNING id, number");
        AddedRecords {
            records: self.records,
            assigned_id: self.assigned_id,
        }
    }
}

impl AddedRecords {
    /// The records with the ids and numbers the insert returned.
    pub fn numbered(self, returned: &[sqlx::any::AnyRow]) -> Result<Vec<Record>> {
        let mut records = self.records;
        let mut assigned = std::collections::HashMap::with_capacity(returned.len());
        for row in returned {
            let id: i64 = row.try_get(0)?;
            let number: i64 = row.try_get(1)?;
            assigned.insert(id, number);
        }
        if self.assigned_id {
            let (id, number) = assigned.into_iter().next().ok_or(StorageError::NotFound)?;
            for r in &mut records {
                r.id = RecordId(id);
                r.number = number;
            }
        } else {
            for r in &mut records {
                r.number = *assigned.get(&r.id.0).ok_or(StorageError::NotFound)?;
            }
        }
        Ok(records)
    }
}

/// Prepares new records at version 1 with the ids given (one id of 0 lets the database assign
/// it). Readable numbers are taken inside the insert where that is safe (PostgreSQL's sequences,
/// a single SQLite row), else here.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn prepare_many(
    c: &mut AnyConnection,
    new: &[NewRecord<'_>],
    ids: Vec<i64>,
) -> Result<PreparedRecords> {
    let backend = backend_of(c);
    let single = new.len() == 1;
    let assigned_id = single && ids.first() == Some(&0);
    // An SQLite batch cannot be numbered inside its insert (the statement reads the table it
    // writes, so every row would see the same largest number).
    let inline_numbers = backend == Backend::Postgres || single;
    let mut numbers = vec![0; new.len()];
    if !inline_numbers {
        for kind in RecordKind::all() {
            let wanted = new.iter().filter(|n| n.kind == kind).count();
            if wanted > 0 {
                let mut mine = next_numbers(c, kind, wanted).await?.into_iter();
                for (slot, n) in numbers.iter_mut().zip(new) {
                    if n.kind == kind {
                        *slot = mine.next().ok_or(StorageError::NotFound)?;
                    }
                }
            }
        }
    }
    let mut rows = Vec::with_capacity(new.len());
    let mut records = Vec::with_capacity(new.len());
    for ((n, id), number) in new.iter().zip(&ids).zip(&numbers) {
        let f = n.fields;
        let organization_id = organization_of(f)?;
        let mut row = fields_row(n.kind, f)?;
        row.extend([
            ("id".to_owned(), (*id).into()),
            ("kind".to_owned(), n.kind.as_str().into()),
            ("number".to_owned(), (*number).into()),
            ("version".to_owned(), 1.into()),
            ("created_at".to_owned(), micros(n.at).into()),
            ("updated_at".to_owned(), micros(n.at).into()),
            ("created_by".to_owned(), n.actor.map(|a| a.0).into()),
        ]);
        rows.push(serde_json::Value::Object(row));
        records.push(Record::first(
            RecordId(*id),
            n.kind,
            *number,
            organization_id,
            f.clone(),
            n.at,
            n.actor,
        ));
    }
    if ids.len() != new.len() {
        return Err(StorageError::Corrupt("fewer ids than records".into()));
    }
    Ok(PreparedRecords {
        records,
        rows,
        inline_numbers,
        assigned_id,
    })
}

/// Writes a record's new fields if it is still at `expected_version`; returns the new version.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    c: &mut AnyConnection,
    kind: RecordKind,
    id: RecordId,
    expected_version: i64,
    fields: &RecordFields,
    now: jiff::Timestamp,
) -> Result<i64> {
    let change = RecordUpdate {
        kind,
        id,
        expected_version,
        fields,
        at: now,
    };
    update_many(c, &[change]).await?;
    Ok(expected_version + 1)
}

/// A record's new fields, to be written if it is still at `expected_version`.
#[derive(Debug, Clone, Copy)]
pub struct RecordUpdate<'a> {
    pub kind: RecordKind,
    pub id: RecordId,
    pub expected_version: i64,
    pub fields: &'a RecordFields,
    pub at: jiff::Timestamp,
}

/// Writes records' new fields in one statement, each only if still at its expected version (each
/// new version is the expected one plus one). When one of them is not, nothing is written and
/// the first such record's conflict (or absence) is the answer.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_many(c: &mut AnyConnection, changes: &[RecordUpdate<'_>]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::with_capacity(changes.len());
    for u in changes {
        let mut row = fields_row(u.kind, u.fields)?;
        row.extend([
            ("id".to_owned(), u.id.0.into()),
            ("version".to_owned(), u.expected_version.into()),
            ("at".to_owned(), micros(u.at).into()),
        ]);
        rows.push(serde_json::Value::Object(row));
    }
    const SET: [&str; 12] = [
        "organization_id",
        "title",
        "description",
        "state",
        "priority",
        "assignment_group_id",
        "assignee_id",
        "service_id",
        "configuration_item_id",
        "requester_id",
        "details",
        "search_text",
    ];
    use batch::ColumnType::{Int, Text};
    let text = |col: &str| matches!(col, "title" | "description" | "state" | "details" | "search_text");
    let mut columns = vec![("id", Int), ("version", Int), ("at", Int)];
    columns.extend(SET.iter().map(|col| (*col, if text(col) { Text } else { Int })));
    let set: Vec<String> = SET.iter().map(|col| format!("{col} = v.{col}")).collect();
    let statement = format!(
        "UPDATE records SET {}, version = records.version + 1, updated_at = v.at FROM v \
         WHERE records.id = v.id AND records.version = v.version RETURNING records.id",
        set.join(", ")
    );
    let written: Vec<i64> = batch::with_rows(c, &columns, rows, &statement)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    if written.len() == changes.len() {
        return Ok(());
    }
    // Some record moved on: say which, for the caller's 412 (the caller's transaction rolls back
    // what the statement did write).
    let written: std::collections::HashSet<i64> = written.into_iter().collect();
    if let Some(u) = changes.iter().find(|u| !written.contains(&u.id.0)) {
        let current: Option<i64> = sqlx::query_scalar("SELECT version FROM records WHERE id = $1")
            .bind(u.id.0)
            .fetch_optional(&mut *c)
            .await?;
        return Err(match current {
            Some(current) => StorageError::VersionConflict { current },
            None => StorageError::NotFound,
        });
    }
    Err(StorageError::Corrupt(
        "a versioned update wrote fewer rows than it matched".into(),
    ))
}
