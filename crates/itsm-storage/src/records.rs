//! The shared record table: insert with a readable number, read with display names, update under
//! optimistic concurrency, and list with filters, sorting, keyset pagination and full-text search.

use std::fmt::Write as _;

use itsm_domain::{
    GroupId, OrganizationId, Record, RecordFields, RecordId, RecordKind, RecordNumber, UserId,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};

use crate::backend::{backend_of, Backend};
use crate::batch;
use crate::batch::{bind_all, Bind};
use crate::{instant, micros, Result, StorageError};

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

/// Marks a query whose best plan depends on its parameters (a list page, a report, a replay
/// batch): PostgreSQL plans it afresh for each call as an unnamed statement, because a cached
/// generic plan of such a query can be many times slower (a replay batch took a second). Every
/// other statement keeps its prepared, cached plan: re-planning the token lookup and the view join
/// on every call cost more than running them. SQLite plans do not depend on parameters that way,
/// so there it stays prepared.
pub(crate) fn planned_per_call<'q>(
    c: &AnyConnection,
    q: Query<'q, Any, AnyArguments<'q>>,
) -> Query<'q, Any, AnyArguments<'q>> {
    q.persistent(backend_of(c) == Backend::Sqlite)
}

/// Placeholders for statements built at run time: `$1, $2, ...` on PostgreSQL and plain `?` on
/// SQLite. Numbered names cost SQLite a walk of its name list per parameter when sqlx binds them, which
/// makes a statement with thousands of parameters quadratic; anonymous ones bind in order for free.
/// Every placeholder must come from the same `Params`, in the order the values are bound.
pub(crate) struct Params {
    sqlite: bool,
    n: usize,
}

impl Params {
    pub(crate) fn new(c: &AnyConnection) -> Params {
        Params {
            sqlite: backend_of(c) == Backend::Sqlite,
            n: 0,
        }
    }

    pub(crate) fn next(&mut self) -> String {
        self.n += 1;
        if self.sqlite {
            "?".to_owned()
        } else {
            format!("${}", self.n)
        }
    }

    /// `k` placeholders separated by commas.
    pub(crate) fn list(&mut self, k: usize) -> String {
        (0..k).map(|_| self.next()).collect::<Vec<_>>().join(", ")
    }
}

/// Names shown beside the ids of a record, read in the same query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordNames {
    pub organization: String,
    pub assignment_group: Option<String>,
    pub assignee: Option<String>,
    pub service: Option<String>,
    pub configuration_item: Option<String>,
    pub requester: Option<String>,
}

/// The SLA clock a queue shows for a record: the one due soonest, derived from its clocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueClock {
    /// `running`, `paused`, `breached` or `met`; `None` when no target applies.
    pub status: Option<String>,
    pub due_at: Option<jiff::Timestamp>,
    /// When its first warning falls due.
    pub warn_at: Option<jiff::Timestamp>,
}

/// A record with the names of what it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView {
    pub record: Record,
    pub names: RecordNames,
    pub sla: QueueClock,
}

const SELECT_VIEW: &str =
    "SELECT r.id, r.kind, r.number, r.organization_id, r.title, r.description, r.state, \
     r.priority, r.assignment_group_id, r.assignee_id, r.service_id, r.configuration_item_id, \
     r.requester_id, r.details, r.version, r.created_at, r.updated_at, r.created_by, \
     r.sla_status, r.sla_due_at, r.sla_warn_at, \
     o.name AS organization_name, g.name AS group_name, a.display_name AS assignee_name, \
     s.title AS service_title, ci.title AS ci_title, q.display_name AS requester_name \
     FROM records r \
     JOIN organizations o ON o.id = r.organization_id \
     LEFT JOIN assignment_groups g ON g.id = r.assignment_group_id \
     LEFT JOIN users a ON a.id = r.assignee_id \
     LEFT JOIN records s ON s.id = r.service_id \
     LEFT JOIN records ci ON ci.id = r.configuration_item_id \
     LEFT JOIN users q ON q.id = r.requester_id";

fn view_from_row(row: &AnyRow) -> Result<RecordView> {
    let kind: String = row.try_get("kind")?;
    let kind =
        RecordKind::parse(&kind).ok_or_else(|| StorageError::Corrupt(format!("unknown kind {kind}")))?;
    let details: String = row.try_get("details")?;
    let details = match serde_json::from_str(&details) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => {
            return Err(StorageError::Corrupt(
                "record details are not a JSON object".into(),
            ))
        }
    };
    let priority: i64 = row.try_get("priority")?;
    let record = Record {
        id: RecordId(row.try_get("id")?),
        kind,
        number: row.try_get("number")?,
        organization_id: OrganizationId(row.try_get("organization_id")?),
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        state: row.try_get("state")?,
        priority: (priority > 0).then(|| i16::try_from(priority).unwrap_or(5)),
        assignment_group_id: row.try_get::<Option<i64>, _>("assignment_group_id")?.map(GroupId),
        assignee_id: row.try_get::<Option<i64>, _>("assignee_id")?.map(UserId),
        service_id: row.try_get::<Option<i64>, _>("service_id")?.map(RecordId),
        configuration_item_id: row
            .try_get::<Option<i64>, _>("configuration_item_id")?
            .map(RecordId),
        requester_id: row.try_get::<Option<i64>, _>("requester_id")?.map(UserId),
        details,
        version: row.try_get("version")?,
        created_at: instant(row.try_get("created_at")?)?,
        updated_at: instant(row.try_get("updated_at")?)?,
        created_by: row.try_get::<Option<i64>, _>("created_by")?.map(UserId),
    };
    let names = RecordNames {
        organization: row.try_get("organization_name")?,
        assignment_group: row.try_get("group_name")?,
        assignee: row.try_get("assignee_name")?,
        service: row.try_get("service_title")?,
        configuration_item: row.try_get("ci_title")?,
        requester: row.try_get("requester_name")?,
    };
    let opt_instant = |v: Option<i64>| v.map(instant).transpose();
    let sla = QueueClock {
        status: row.try_get("sla_status")?,
        due_at: opt_instant(row.try_get("sla_due_at")?)?,
        warn_at: opt_instant(row.try_get("sla_warn_at")?)?,
    };
    Ok(RecordView { record, names, sla })
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
fn fields_row(f: &RecordFields) -> Result<serde_json::Map<String, serde_json::Value>> {
    let details = serde_json::to_string(&f.details).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let serde_json::Value::Object(row) = serde_json::json!({
        "organization_id": organization_of(f)?.0,
        "title": f.title, "description": f.description, "state": f.state,
        "priority": f.priority.map(i64::from).unwrap_or(0),
        "assignment_group_id": f.assignment_group_id.map(|g| g.0),
        "assignee_id": f.assignee_id.map(|u| u.0), "service_id": f.service_id.map(|r| r.0),
        "configuration_item_id": f.configuration_item_id.map(|r| r.0),
        "requester_id": f.requester_id.map(|u| u.0), "details": details,
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
        let mut row = fields_row(f)?;
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
        records.push(Record {
            id: RecordId(*id),
            kind: n.kind,
            number: *number,
            organization_id,
            title: f.title.clone(),
            description: f.description.clone(),
            state: f.state.clone(),
            priority: f.priority,
            assignment_group_id: f.assignment_group_id,
            assignee_id: f.assignee_id,
            service_id: f.service_id,
            configuration_item_id: f.configuration_item_id,
            requester_id: f.requester_id,
            details: f.details.clone(),
            version: 1,
            created_at: n.at,
            updated_at: n.at,
            created_by: n.actor,
        });
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
    id: RecordId,
    expected_version: i64,
    fields: &RecordFields,
    now: jiff::Timestamp,
) -> Result<i64> {
    let change = RecordUpdate {
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
        let mut row = fields_row(u.fields)?;
        row.extend([
            ("id".to_owned(), u.id.0.into()),
            ("version".to_owned(), u.expected_version.into()),
            ("at".to_owned(), micros(u.at).into()),
        ]);
        rows.push(serde_json::Value::Object(row));
    }
    const SET: [&str; 11] = [
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
    ];
    use batch::ColumnType::{Int, Text};
    let text = |col: &str| matches!(col, "title" | "description" | "state" | "details");
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

/// Reads one record with its names.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(c: &mut AnyConnection, id: RecordId) -> Result<Option<RecordView>> {
    let sql = format!("{SELECT_VIEW} WHERE r.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *c).await?;
    row.as_ref().map(view_from_row).transpose()
}

/// Reads several records by id, in id order; ids that do not exist are left out.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_many(c: &mut AnyConnection, ids: &[RecordId]) -> Result<Vec<RecordView>> {
    select_by_ids(
        c,
        ids,
        |list| format!("{SELECT_VIEW} WHERE r.id IN ({list}) ORDER BY r.id"),
        view_from_row,
    )
    .await
}

/// Runs the query `sql` builds around an `IN` list of `ids` (512 at a time, so no statement meets
/// a placeholder limit) and parses every row it answers.
pub(crate) async fn select_by_ids<T>(
    c: &mut AnyConnection,
    ids: &[RecordId],
    sql: impl Fn(&str) -> String,
    parse: impl Fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(512) {
        // The list is padded to a power of two with the last id again, so a handful of statement
        // texts serve every size and each is prepared (and on PostgreSQL planned) once.
        let len = chunk.len().next_power_of_two();
        let mut p = Params::new(c);
        let sql = sql(&p.list(len));
        let last = chunk.last().map_or(0, |id| id.0);
        let binds: Vec<Bind> = chunk
            .iter()
            .map(|id| id.0)
            .chain(std::iter::repeat(last))
            .take(len)
            .map(|id| Bind::Int(Some(id)))
            .collect();
        let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(&mut *c).await?;
        for row in &rows {
            out.push(parse(row)?);
        }
    }
    Ok(out)
}

/// Every record of some kinds, up to `limit`, by id: for small reference sets such as agreements and
/// calendars, which are read whole.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn all_of_kinds(
    c: &mut AnyConnection,
    kinds: &[RecordKind],
    limit: u32,
) -> Result<Vec<RecordView>> {
    if kinds.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = format!("{SELECT_VIEW} WHERE r.kind IN (");
    for (i, _) in kinds.iter().enumerate() {
        let _ = write!(sql, "{}${}", if i > 0 { ", " } else { "" }, i + 1);
    }
    let _ = write!(sql, ") ORDER BY r.id LIMIT {limit}");
    let binds: Vec<Bind> = kinds
        .iter()
        .map(|k| Bind::Text(Some(k.as_str().to_owned())))
        .collect();
    let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(&mut *c).await?;
    rows.iter().map(view_from_row).collect()
}

/// Reads one record by its readable number.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_by_number(c: &mut AnyConnection, number: RecordNumber) -> Result<Option<RecordView>> {
    let sql = format!("{SELECT_VIEW} WHERE r.kind = $1 AND r.number = $2");
    let row = sqlx::query(&sql)
        .bind(number.kind.as_str())
        .bind(number.number)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(view_from_row).transpose()
}

/// What a list is sorted by. Each is an indexed column, so every page is an index range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    UpdatedAt,
    CreatedAt,
    Priority,
    Number,
    /// The SLA due instant of the queue clock; records without one come last.
    Due,
}

/// Stands for "no due instant" so that keyset pages over the due column need no NULL handling.
const NO_DUE: i64 = i64::MAX;

impl SortField {
    pub const ALL: [SortField; 5] = [
        SortField::UpdatedAt,
        SortField::CreatedAt,
        SortField::Priority,
        SortField::Number,
        SortField::Due,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::UpdatedAt => "updated_at",
            SortField::CreatedAt => "created_at",
            SortField::Priority => "priority",
            SortField::Number => "number",
            SortField::Due => "due",
        }
    }

    pub fn parse(s: &str) -> Option<SortField> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    fn column(self) -> &'static str {
        match self {
            SortField::UpdatedAt => "r.updated_at",
            SortField::CreatedAt => "r.created_at",
            SortField::Priority => "r.priority",
            SortField::Number => "r.number",
            // The same expression as the index records_kind_sla_due.
            SortField::Due => "COALESCE(r.sla_due_at, 9223372036854775807)",
        }
    }

    /// The columns `c` with an index on (kind, c, this sort's column, id): a list asking for one
    /// value of `c` walks only its own rows, in order. Kept in step with the migrations.
    fn walk_indexes(self) -> &'static [&'static str] {
        match self {
            SortField::UpdatedAt => &[
                "state",
                "assignment_group_id",
                "assignee_id",
                "organization_id",
                "service_id",
                "requester_id",
            ],
            SortField::Priority => &["assignment_group_id", "assignee_id"],
            SortField::CreatedAt | SortField::Number | SortField::Due => &[],
        }
    }

    fn value(self, v: &RecordView) -> i64 {
        let r = &v.record;
        match self {
            SortField::UpdatedAt => micros(r.updated_at),
            SortField::CreatedAt => micros(r.created_at),
            SortField::Priority => r.priority.map(i64::from).unwrap_or(0),
            SortField::Number => r.number,
            SortField::Due => v.sla.due_at.map(micros).unwrap_or(NO_DUE),
        }
    }
}

/// A position in a sorted list: the sort value and id of the last row of the previous page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub value: i64,
    pub id: i64,
}

impl Cursor {
    pub fn encode(self) -> String {
        format!("{}.{}", self.value, self.id)
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let (v, id) = s.split_once('.')?;
        Some(Cursor {
            value: v.parse().ok()?,
            id: id.parse().ok()?,
        })
    }
}

/// Filters of a record list. Every filter is optional; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Only records of these organizations; `None` for staff, who see all.
    pub visible_organizations: Option<Vec<OrganizationId>>,
    pub states: Vec<String>,
    pub priority: Option<i16>,
    pub organization_id: Option<OrganizationId>,
    /// `Some(None)` asks for records without a group.
    pub assignment_group_id: Option<Option<GroupId>>,
    /// `Some(None)` asks for unassigned records.
    pub assignee_id: Option<Option<UserId>>,
    pub service_id: Option<RecordId>,
    pub requester_id: Option<UserId>,
    /// Words that must all occur in the title or description (prefix match).
    pub text: Option<String>,
}

/// A page request: sort order, where to start and how many rows.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub sort: SortField,
    pub descending: bool,
    pub after: Option<Cursor>,
    pub limit: u32,
}

/// The largest page anyone can ask for: no query is unbounded.
pub const MAX_PAGE: u32 = 200;

/// One page of a list, and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// Splits search text into words safe for either full-text engine: letters and digits only.
pub fn search_terms(text: &str) -> Vec<String> {
    text.split(|ch: char| !ch.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect()
}

/// One condition of a list, with its own values, so that each query of a list can take the
/// conditions it needs and number their placeholders itself.
#[derive(Debug, Clone)]
struct Cond {
    /// SQL with a `?` for each value, in order.
    sql: String,
    binds: Vec<Bind>,
    /// Set when the condition asks for one value of this column, so an index that starts with the
    /// column can serve it in order (see `SortField::walk_indexes`).
    column: Option<&'static str>,
}

impl Cond {
    fn new(sql: String, binds: Vec<Bind>) -> Cond {
        Cond {
            sql,
            binds,
            column: None,
        }
    }

    /// `column = value` (or `column IS NULL` without a value).
    fn equals(column: &'static str, b: Option<Bind>) -> Cond {
        match b {
            Some(b) => Cond {
                sql: format!("r.{column} = ?"),
                binds: vec![b],
                column: Some(column),
            },
            // PostgreSQL cannot read an order from an index past an `IS NULL` condition.
            None => Cond {
                sql: format!("r.{column} IS NULL"),
                binds: vec![],
                column: None,
            },
        }
    }

    /// `column IN (values)`; with one value, `column = value`.
    fn one_of(column: &'static str, mut values: Vec<Bind>) -> Cond {
        if values.len() == 1 {
            return Cond::equals(column, values.pop());
        }
        Cond {
            sql: format!("r.{column} IN ({})", vec!["?"; values.len()].join(", ")),
            binds: values,
            column: None,
        }
    }

    /// `(sort column, id) cmp position`: where a keyset page starts or ends.
    fn keyset(col: &str, cmp: &str, at: Cursor) -> Cond {
        Cond {
            sql: format!("({col}, r.id) {cmp} (?, ?)"),
            binds: vec![Bind::Int(Some(at.value)), Bind::Int(Some(at.id))],
            column: None,
        }
    }

    /// The same condition, which the database will not answer from an index: `+r.column` on
    /// SQLite, `COALESCE(r.column, r.column)` on PostgreSQL (an expression no index is on).
    fn unindexed(&self, backend: Backend) -> Cond {
        let mut cond = self.clone();
        if let Some(rest) = self.sql.strip_prefix("r.") {
            let (column, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            cond.sql = match backend {
                Backend::Sqlite => format!("+r.{column} {tail}"),
                Backend::Postgres => format!("COALESCE(r.{column}, r.{column}) {tail}"),
            };
        }
        cond
    }
}

/// `AND`s the conditions onto `sql`, numbering their placeholders after those already in `binds`.
fn push_all<'a>(sql: &mut String, binds: &mut Vec<Bind>, conds: impl IntoIterator<Item = &'a Cond>) {
    for cond in conds {
        sql.push_str(" AND ");
        let mut parts = cond.sql.split('?');
        if let Some(first) = parts.next() {
            sql.push_str(first);
        }
        for (part, b) in parts.zip(&cond.binds) {
            binds.push(b.clone());
            let _ = write!(sql, "${}{part}", binds.len());
        }
    }
}

/// How many rows a list may read in its order along one index, in two steps, before it answers a
/// short page (see `walked_page`). Most lists fill their page within the first step.
const LIST_WALKS: [u32; 2] = [1_000, 4_000];

/// How a list that no index serves whole walks the records.
struct Walk<'a> {
    kind: Bind,
    sort: SortField,
    descending: bool,
    /// The condition whose index the walk follows, if any; else the sort's own index.
    along: Option<&'a Cond>,
    /// The list's conditions, `along` among them; not the cursor.
    conds: &'a [Cond],
    after: Option<Cursor>,
    limit: u32,
}

/// The position between the due sort's two stretches: after the last record with a due instant in
/// ascending order, after the last without one in descending order. The plain keyset comparison
/// reads it the same way, so it is a valid cursor for any page of a list by due instant.
const DUE_STRETCH_START: Cursor = Cursor {
    value: NO_DUE,
    id: i64::MIN,
};

impl Walk<'_> {
    /// The conditions that keep the rows after `from` (exclusive) up to `until` (inclusive),
    /// written as a range of the walked index.
    ///
    /// By due instant the sort key is an expression, and neither database reads a range of
    /// (expression, id) from its index: a row-value bound was checked row by row to the end of the
    /// index (184 ms on SQLite). So that order is walked in two stretches, the records with a due
    /// instant and those without one (which all share the key `NO_DUE`, in id order), and a step
    /// never crosses from one to the other. In the first, a bound is a range of the expression
    /// (the id is checked only among equal keys); in the second, a range of the id.
    fn range(&self, from: Option<Cursor>, until: Option<Cursor>) -> Vec<Cond> {
        let col = self.sort.column();
        let (cmp, cmp_end) = if self.descending { ("<", ">=") } else { (">", "<=") };
        if self.sort != SortField::Due {
            return from
                .map(|f| Cond::keyset(col, cmp, f))
                .into_iter()
                .chain(until.map(|u| Cond::keyset(col, cmp_end, u)))
                .collect();
        }
        let int = |v: i64| Bind::Int(Some(v));
        // `key >= v AND (key > v OR id > i)`: the first part is the index range.
        let due_bound = |at: Cursor, strict: &str, id_cmp: &str| {
            Cond::new(
                format!("{col} {strict}= ? AND ({col} {strict} ? OR r.id {id_cmp} ?)"),
                vec![int(at.value), int(at.value), int(at.id)],
            )
        };
        let mut conds = Vec::new();
        if self.in_due_stretch(from) {
            conds.push(Cond::new(format!("{col} < ?"), vec![int(NO_DUE)]));
            if let Some(f) = from.filter(|f| f.value != NO_DUE) {
                conds.push(due_bound(f, cmp, cmp));
            }
            if let Some(u) = until {
                conds.push(due_bound(u, &cmp_end[..1], cmp_end));
            }
        } else {
            conds.push(Cond::new(format!("{col} = ?"), vec![int(NO_DUE)]));
            if let Some(f) = from.filter(|f| f != &DUE_STRETCH_START) {
                conds.push(Cond::new(format!("r.id {cmp} ?"), vec![int(f.id)]));
            }
            if let Some(u) = until {
                conds.push(Cond::new(format!("r.id {cmp_end} ?"), vec![int(u.id)]));
            }
        }
        conds
    }

    /// The order of the rows after `from`. Among the records without a due instant it is the id's
    /// alone: with the key in it, SQLite sorted the whole stretch rather than read it in the
    /// index's order (330 ms for a page at 1,000,000 incidents).
    fn order(&self, from: Option<Cursor>) -> String {
        let dir = if self.descending { "DESC" } else { "ASC" };
        if self.sort == SortField::Due && !self.in_due_stretch(from) {
            format!(" ORDER BY r.id {dir}")
        } else {
            format!(" ORDER BY {} {dir}, r.id {dir}", self.sort.column())
        }
    }

    /// Whether the rows after `from` start among the records with a due instant.
    fn in_due_stretch(&self, from: Option<Cursor>) -> bool {
        match from {
            None => !self.descending,
            Some(f) if f == DUE_STRETCH_START => self.descending,
            Some(f) => f.value != NO_DUE,
        }
    }

    /// Where the walk goes on once the rows after `from` ran out: the due sort's second stretch,
    /// if `from` was in the first; else nowhere.
    fn next_stretch(&self, from: Option<Cursor>) -> Option<Cursor> {
        let in_first = self.in_due_stretch(from) != self.descending;
        (self.sort == SortField::Due && in_first).then_some(DUE_STRETCH_START)
    }
}

/// One page of a list that no index serves whole, reading at most the sum of `LIST_WALKS` rows.
/// Two conditions that each hold for many records but rarely together otherwise walked every
/// record of one of them: new incidents of one group, at 1,000,000 incidents, took 413 ms on
/// SQLite.
///
/// Each step first reads from the index the position that many rows on along the most selective
/// condition an index serves in this order (or along the sort alone); the page's query is then
/// bounded to end there, and the next step goes on after it. A page that fills is answered as
/// usual, and so is one whose walk reached the last record. One that comes up short after the
/// last step answers what it found with a cursor at that position, and the next page goes on from
/// there: a page may hold fewer rows than asked for, or none, and still have a next one.
async fn walked_page(c: &mut AnyConnection, walk: &Walk<'_>) -> Result<(Vec<AnyRow>, Option<Cursor>)> {
    let col = walk.sort.column();
    // The page query must walk the index the bounds are read from: left to choose, both
    // databases at times walked the state's index instead, through every new incident in the
    // bound's time span (the 16,000 the benchmark had just created), to check the group of each
    // (95 ms on PostgreSQL, whose statistics did not know them yet). So the other conditions are
    // written so that no index can answer them. Along the sort's own index PostgreSQL's own
    // choice was the better one: forced along it, checking each row in the table, an unassigned
    // queue took 95 ms instead of 2. SQLite still reads `+r.c` from the walked index when the
    // index holds `c` (migration `sqlite/0008`), and looks up in the table only the rows that pass.
    let backend = backend_of(c);
    let checked: Vec<Cond> = walk
        .conds
        .iter()
        .map(|cond| match (walk.along, backend) {
            (Some(along), _) if std::ptr::eq(cond, along) => cond.clone(),
            (None, Backend::Postgres) => cond.clone(),
            _ => cond.unindexed(backend),
        })
        .collect();
    let mut rows = Vec::new();
    let mut from = walk.after;
    for steps in LIST_WALKS {
        let order = &walk.order(from);
        let mut binds = vec![walk.kind.clone()];
        let mut sql = format!("SELECT {col}, r.id FROM records r WHERE r.kind = $1");
        push_all(
            &mut sql,
            &mut binds,
            walk.along.into_iter().chain(&walk.range(from, None)),
        );
        let end_sql = format!("{sql}{order} LIMIT 1 OFFSET {}", steps - 1);
        let end = match planned_per_call(c, bind_all(sqlx::query(&end_sql), &binds))
            .fetch_optional(&mut *c)
            .await?
        {
            Some(row) => Some(Cursor {
                value: row.try_get::<Option<i64>, _>(0)?.unwrap_or(0),
                id: row.try_get(1)?,
            }),
            None => None,
        };
        let wanted = walk.limit as usize + 1 - rows.len();
        let mut binds = vec![walk.kind.clone()];
        let page_sql = match (backend, walk.along) {
            (Backend::Sqlite, _) => {
                let mut sql = String::from("SELECT r.* FROM records r WHERE r.kind = $1");
                push_all(&mut sql, &mut binds, checked.iter().chain(&walk.range(from, end)));
                format!("{sql}{order} LIMIT {wanted}")
            }
            // The step's rows by count rather than up to `end`: PostgreSQL stops a scan at a
            // row-value bound only when its first column passes it, so a step along a group's
            // index by priority read on through every row of the bound's priority (4.8 ms
            // instead of 0.3 for 1,000 rows). The ids come from the walked index alone
            // (migration `postgres/0007`); only the page's rows are read from the table.
            (Backend::Postgres, Some(along)) => {
                let mut sql = String::from("SELECT r.* FROM records r WHERE r.kind = $1");
                push_all(
                    &mut sql,
                    &mut binds,
                    std::iter::once(along).chain(&walk.range(from, None)),
                );
                let mut kept = String::from(" WHERE TRUE");
                push_all(&mut kept, &mut binds, &checked);
                format!(
                    "SELECT * FROM records WHERE id IN (SELECT r.id FROM ({sql}{order} LIMIT {steps}) r{kept}{order} LIMIT {wanted})"
                )
            }
            (Backend::Postgres, None) => {
                let mut sql = String::from(" FROM records r WHERE r.kind = $1");
                push_all(&mut sql, &mut binds, checked.iter().chain(&walk.range(from, end)));
                format!("SELECT * FROM records WHERE id IN (SELECT r.id{sql}{order} LIMIT {wanted})")
            }
        };
        rows.extend(
            planned_per_call(c, bind_all(sqlx::query(&with_names(&page_sql, order)), &binds))
                .fetch_all(&mut *c)
                .await?,
        );
        if rows.len() > walk.limit as usize {
            return Ok((rows, None));
        }
        match end.or_else(|| walk.next_stretch(from)) {
            Some(next) => from = Some(next),
            None => return Ok((rows, None)),
        }
    }
    Ok((rows, from))
}

/// From this many matches on, an SQLite text search walks the sort index instead of reading every
/// match (see `list`).
const COMMON_TERM_MATCHES: i64 = 2_000;

/// A list page's records (`page_sql` answers them) with the names they show, in list order.
fn with_names(page_sql: &str, order: &str) -> String {
    format!(
        "{}{order}",
        SELECT_VIEW.replacen("FROM records r", &format!("FROM ({page_sql}) r"), 1)
    )
}

/// How many rows of a list a PostgreSQL text search reads in list order looking for a full page.
const SEARCH_WALK: u32 = 20_000;

/// Up to this many matches, a PostgreSQL text search reads every match and sorts them.
const SEARCH_GATHER: i64 = 10_000;

/// An SQLite text search's condition on `id` (`r.id`, or `+r.id` to keep the planner off it): the
/// records the index matches with the query `q`, and those not indexed yet (see
/// `index_pending_search`) whose title or description holds every term. Those are matched as text
/// as stored, for the second or so until they are indexed: a term inside a word matches, a stemmed
/// form does not. (`CROSS JOIN` makes SQLite read the few pending records first: left to choose,
/// it read every record and looked each up among the pending ones.)
fn sqlite_text_condition(id: &str, q: String, terms: &[String]) -> Cond {
    let mut binds = vec![Bind::Text(Some(q))];
    let mut pending = Vec::with_capacity(terms.len());
    for t in terms {
        // `search_terms` keeps letters and digits only, so a term holds no `%` or `_`.
        binds.push(Bind::Text(Some(format!("%{t}%"))));
        pending.push("(x.title || ' ' || x.description) LIKE ?");
    }
    Cond::new(
        format!(
            "{id} IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ? UNION ALL \
             SELECT p.record_id FROM records_fts_pending p CROSS JOIN records x ON x.id = p.record_id WHERE {})",
            pending.join(" AND ")
        ),
        binds,
    )
}

/// One page of a PostgreSQL text search (`sql`: the list's conditions; the tsquery `q` is also the
/// last of `binds`). PostgreSQL's estimate of how many records a prefix query matches was wrong both ways
/// at 1,000,000 incidents: it read and sorted all 44,000 matches of two common words (280 ms)
/// and walked the whole list looking for a rare one (2.8 s). So: first walk the list in order
/// through a bounded window, keeping matches (a common term fills its page there); failing that,
/// count the matches up to a bound and, when few, read them all through the text index and sort;
/// only a term with many matches that the other conditions mostly exclude walks the whole list.
async fn search_page(
    c: &mut AnyConnection,
    sql: &str,
    order: &str,
    binds: &[Bind],
    q: &str,
    limit: u32,
) -> Result<Vec<AnyRow>> {
    let n = binds.len();
    let matches = format!("COALESCE(r.search @@ to_tsquery('english', ${n}), false)");
    let walked = format!(
        "SELECT r.* FROM ({sql}{order} LIMIT {SEARCH_WALK}) r WHERE {matches}{order} LIMIT {}",
        limit + 1
    );
    let rows = planned_per_call(c, bind_all(sqlx::query(&with_names(&walked, order)), binds))
        .fetch_all(&mut *c)
        .await?;
    if rows.len() > limit as usize {
        return Ok(rows);
    }
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT 1 FROM records WHERE search @@ to_tsquery('english', $1) LIMIT $2) x",
    )
    .bind(q)
    .bind(SEARCH_GATHER + 1)
    .fetch_one(&mut *c)
    .await?;
    let page_sql = if found <= SEARCH_GATHER {
        // The bound inside keeps the planner from flattening the subquery into a walk.
        format!(
            "{sql} AND r.id IN (SELECT id FROM records WHERE search @@ to_tsquery('english', ${n}) LIMIT {}){order} LIMIT {}",
            SEARCH_GATHER + 1,
            limit + 1
        )
    } else {
        format!("{sql} AND {matches}{order} LIMIT {}", limit + 1)
    };
    Ok(
        planned_per_call(c, bind_all(sqlx::query(&with_names(&page_sql, order)), binds))
            .fetch_all(&mut *c)
            .await?,
    )
}

/// Lists records of one kind.
#[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
pub async fn list(
    c: &mut AnyConnection,
    kind: RecordKind,
    filter: &RecordFilter,
    page: PageRequest,
) -> Result<Page<RecordView>> {
    let backend = backend_of(c);
    let int = |v: i64| Bind::Int(Some(v));
    let mut conds = Vec::new();
    if let Some(orgs) = &filter.visible_organizations {
        if orgs.is_empty() {
            return Ok(Page {
                items: vec![],
                next: None,
            });
        }
        conds.push(Cond::one_of(
            "organization_id",
            orgs.iter().map(|o| int(o.0)).collect(),
        ));
    }
    if !filter.states.is_empty() {
        conds.push(Cond::one_of(
            "state",
            filter
                .states
                .iter()
                .map(|s| Bind::Text(Some(s.clone())))
                .collect(),
        ));
    }
    if let Some(p) = filter.priority {
        conds.push(Cond::equals("priority", Some(int(i64::from(p)))));
    }
    if let Some(o) = filter.organization_id {
        conds.push(Cond::equals("organization_id", Some(int(o.0))));
    }
    if let Some(g) = filter.assignment_group_id {
        conds.push(Cond::equals("assignment_group_id", g.map(|g| int(g.0))));
    }
    if let Some(u) = filter.assignee_id {
        conds.push(Cond::equals("assignee_id", u.map(|u| int(u.0))));
    }
    if let Some(s) = filter.service_id {
        conds.push(Cond::equals("service_id", Some(int(s.0))));
    }
    if let Some(u) = filter.requester_id {
        conds.push(Cond::equals("requester_id", Some(int(u.0))));
    }
    // SQLite's text condition joins the others; PostgreSQL's search picks its own plan.
    let mut text = None;
    let mut pg_text = None;
    if let Some(t) = &filter.text {
        let terms = search_terms(t);
        if !terms.is_empty() {
            match backend {
                Backend::Sqlite => {
                    let q = terms
                        .iter()
                        .map(|t| format!("\"{t}\"*"))
                        .collect::<Vec<_>>()
                        .join(" ");
                    // SQLite's planner cannot tell a rare term from a common one. A rare term is
                    // best served by reading its few records and sorting them; a common one by
                    // walking the list's sort index and keeping the matches, because reading and
                    // sorting its matches took 300 ms for a word in a fifth of 1,000,000
                    // records. A bounded count of the matches decides; `+r.id` keeps the
                    // planner off the id lookup.
                    let common: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM (SELECT rowid FROM records_fts WHERE records_fts MATCH $1 LIMIT $2)",
                    )
                    .bind(q.as_str())
                    .bind(COMMON_TERM_MATCHES)
                    .fetch_one(&mut *c)
                    .await?;
                    let id = if common >= COMMON_TERM_MATCHES {
                        "+r.id"
                    } else {
                        "r.id"
                    };
                    text = Some(sqlite_text_condition(id, q, &terms));
                }
                Backend::Postgres => {
                    let q = terms
                        .iter()
                        .map(|t| format!("{t}:*"))
                        .collect::<Vec<_>>()
                        .join(" & ");
                    pg_text = Some(q);
                }
            }
        }
    }
    let col = page.sort.column();
    let (cmp, dir) = if page.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    let after = page.after.map(|a| Cond::keyset(col, cmp, a));
    let limit = page.limit.clamp(1, MAX_PAGE);
    let order = format!(" ORDER BY {col} {dir}, r.id {dir}");
    let kind_bind = Bind::Text(Some(kind.as_str().to_owned()));
    // The page is chosen from `records` alone and only its rows are joined to the names they
    // show: joined first, PostgreSQL joined every match of a two-word search (44,000 rows at
    // 1,000,000 incidents, 685 ms) before sorting and cutting the page.
    let all = |binds: &mut Vec<Bind>, text: Option<&Cond>| {
        let mut sql = String::from("SELECT r.* FROM records r WHERE r.kind = $1");
        binds.push(kind_bind.clone());
        push_all(&mut sql, binds, conds.iter().chain(text).chain(&after));
        sql
    };
    let indexes = page.sort.walk_indexes();
    let served = match conds.as_slice() {
        [] => true,
        [one] => one.column.is_some_and(|c| indexes.contains(&c)),
        _ => false,
    };
    let (rows, stopped) = if let Some(q) = pg_text {
        let mut binds = Vec::new();
        let sql = all(&mut binds, None);
        binds.push(Bind::Text(Some(q.clone())));
        (search_page(c, &sql, &order, &binds, &q, limit).await?, None)
    } else if text.is_some() || (served && page.sort != SortField::Due) {
        // An SQLite text search chose its plan above; a list an index serves whole walks only
        // matching rows. By due instant even such a list is walked, so that a deep page starts
        // from an index range rather than from the first record (see `Walk::range`).
        let mut binds = Vec::new();
        let page_sql = format!("{}{order} LIMIT {}", all(&mut binds, text.as_ref()), limit + 1);
        let rows = planned_per_call(c, bind_all(sqlx::query(&with_names(&page_sql, &order)), &binds))
            .fetch_all(&mut *c)
            .await?;
        (rows, None)
    } else {
        // The most selective condition an index serves in this order leads the walk.
        let along = WALK_PREFERENCE.iter().find_map(|col| {
            conds
                .iter()
                .find(|c| c.column == Some(*col) && indexes.contains(col))
        });
        let walk = Walk {
            kind: kind_bind.clone(),
            sort: page.sort,
            descending: page.descending,
            along,
            conds: &conds,
            after: page.after,
            limit,
        };
        walked_page(c, &walk).await?
    };
    let mut items = rows.iter().map(view_from_row).collect::<Result<Vec<_>>>()?;
    let next = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(|v| Cursor {
            value: page.sort.value(v),
            id: v.record.id.0,
        })
    } else {
        stopped
    };
    Ok(Page { items, next })
}

/// The conditions a walk prefers to follow, most selective first as records usually spread.
const WALK_PREFERENCE: [&str; 6] = [
    "assignee_id",
    "requester_id",
    "service_id",
    "assignment_group_id",
    "organization_id",
    "state",
];
