//! SLA clocks as stored: one row per record and applicable target, replaced whenever the clock is
//! replayed; the warnings and breaches they raised (each once); and the outbox of events that
//! notifications will read. The clocks are derived data: the history they are replayed from is in
//! `state_transitions`.

use std::collections::HashMap;
use std::fmt::Write as _;

use itsm_domain::{RecordId, RecordKind};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::backend::{backend_of, Backend};
use crate::batch::{bind_all, Bind};
use crate::records::{planned_per_call, select_by_ids, QueueClock};
use crate::{instant, micros, Result};

/// A replayed clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockRow {
    pub record_id: RecordId,
    pub agreement_id: RecordId,
    pub target_key: String,
    pub agreement_type: String,
    pub metric: String,
    pub target_name: String,
    pub calendar_id: Option<RecordId>,
    pub status: String,
    pub target_micros: i64,
    pub elapsed_micros: i64,
    pub started_at: Option<jiff::Timestamp>,
    pub stopped_at: Option<jiff::Timestamp>,
    pub due_at: Option<jiff::Timestamp>,
    pub next_notice_at: Option<jiff::Timestamp>,
    /// Why the target applies.
    pub reason: String,
    pub computed_at: jiff::Timestamp,
}

const CLOCK_COLUMNS: &str = "record_id, agreement_id, target_key, agreement_type, metric, target_name, \
     calendar_id, status, target_micros, elapsed_micros, started_at, stopped_at, due_at, next_notice_at, \
     reason, computed_at";

fn opt_instant(v: Option<i64>) -> Result<Option<jiff::Timestamp>> {
    v.map(instant).transpose()
}

fn clock_from_row(row: &AnyRow) -> Result<ClockRow> {
    Ok(ClockRow {
        record_id: RecordId(row.try_get("record_id")?),
        agreement_id: RecordId(row.try_get("agreement_id")?),
        target_key: row.try_get("target_key")?,
        agreement_type: row.try_get("agreement_type")?,
        metric: row.try_get("metric")?,
        target_name: row.try_get("target_name")?,
        calendar_id: row.try_get::<Option<i64>, _>("calendar_id")?.map(RecordId),
        status: row.try_get("status")?,
        target_micros: row.try_get("target_micros")?,
        elapsed_micros: row.try_get("elapsed_micros")?,
        started_at: opt_instant(row.try_get("started_at")?)?,
        stopped_at: opt_instant(row.try_get("stopped_at")?)?,
        due_at: opt_instant(row.try_get("due_at")?)?,
        next_notice_at: opt_instant(row.try_get("next_notice_at")?)?,
        reason: row.try_get("reason")?,
        computed_at: instant(row.try_get("computed_at")?)?,
    })
}

/// Which clock of a record: the agreement and the target's key within it.
pub type ClockKey = (RecordId, String);

/// What a replay stores on a record itself, beside its clock rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedRecord {
    pub id: RecordId,
    pub queue: QueueClock,
    /// A digest of everything the replay computed (clock rows and queue clock). A later replay that
    /// computes the same digest has nothing to write, so a recomputation never reads clock rows.
    pub fingerprint: i64,
    /// The clocks the record had before (`records.sla_clock_keys`); those the replay no longer
    /// computes are deleted by their primary key.
    pub previous: Vec<ClockKey>,
}

/// Replaces the clocks of the given records with `rows` and sets each record's queue clock,
/// fingerprint and clock keys, with one statement per table whatever the number of records. The
/// record rows are written first, so that on PostgreSQL whoever replaces a record's clocks holds
/// its row lock (a job, a change and a recomputation never interleave).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn replace_clocks(
    c: &mut AnyConnection,
    records: &[ReplayedRecord],
    rows: &[ClockRow],
) -> Result<()> {
    let records: Vec<(&ReplayedRecord, Option<i64>)> = records.iter().map(|r| (r, None)).collect();
    write_replayed(c, &records, rows).await?;
    Ok(())
}

/// Like [`replace_clocks`] for a recomputation that read its records outside their row locks: only
/// records still at the version it read (the second of each pair) are written (on PostgreSQL the
/// update waits for a concurrent writer and then sees its version), so a change that replayed a
/// record's clocks meanwhile is never overwritten by the older replay. Answers how many records
/// were written.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn replace_clocks_at_versions(
    c: &mut AnyConnection,
    records: &[(ReplayedRecord, i64)],
    rows: &[ClockRow],
) -> Result<usize> {
    let records: Vec<(&ReplayedRecord, Option<i64>)> = records.iter().map(|(r, v)| (r, Some(*v))).collect();
    write_replayed(c, &records, rows).await
}

/// Writes replays: the records' columns (where the version matches, when one is given), then the
/// clock rows of the records written. Answers how many records were written.
async fn write_replayed(
    c: &mut AnyConnection,
    records: &[(&ReplayedRecord, Option<i64>)],
    rows: &[ClockRow],
) -> Result<usize> {
    if records.is_empty() {
        return Ok(0);
    }
    let keys = keys_by_record(rows);
    let entries: Vec<serde_json::Value> = records
        .iter()
        .map(|(r, version)| {
            let mine = keys.get(&r.id).map(Vec::as_slice).unwrap_or_default();
            serde_json::json!({
                "id": r.id.0,
                "version": version,
                "status": r.queue.status,
                "due_at": r.queue.due_at.map(micros),
                "warn_at": r.queue.warn_at.map(micros),
                "fingerprint": r.fingerprint,
                "clock_keys": serde_json::json!(mine).to_string(),
            })
        })
        .collect();
    use crate::batch::ColumnType::{Int, Text};
    let columns = [
        ("id", Int),
        ("version", Int),
        ("status", Text),
        ("due_at", Int),
        ("warn_at", Int),
        ("fingerprint", Int),
        ("clock_keys", Text),
    ];
    let written = crate::batch::with_rows(
        c,
        &columns,
        entries,
        "UPDATE records SET sla_status = v.status, sla_due_at = v.due_at, sla_warn_at = v.warn_at, \
         sla_fingerprint = v.fingerprint, sla_clock_keys = v.clock_keys \
         FROM v WHERE records.id = v.id AND (v.version IS NULL OR records.version = v.version) \
         RETURNING records.id",
    )
    .await?;
    let mut ids: Vec<RecordId> = written
        .iter()
        .map(|r| Ok(RecordId(r.try_get(0)?)))
        .collect::<Result<_>>()?;
    ids.sort_unstable_by_key(|r| r.0);
    let kept = |id: &RecordId| ids.binary_search_by_key(&id.0, |r| r.0).is_ok();
    let stale: Vec<serde_json::Value> = records
        .iter()
        .filter(|(r, _)| kept(&r.id))
        .flat_map(|(r, _)| {
            let now = keys.get(&r.id).map(Vec::as_slice).unwrap_or_default();
            r.previous
                .iter()
                .filter(|(a, k)| !now.contains(&(a.0, k.as_str())))
                .map(|(a, k)| serde_json::json!({"record_id": r.id.0, "agreement_id": a.0, "target_key": k}))
        })
        .collect();
    if !stale.is_empty() {
        // By primary key: a plan the statistics cannot spoil (deleting by record alone was planned
        // as a walk over every clock when the table had grown since it was last analyzed).
        let delete = match backend_of(c) {
            Backend::Postgres => {
                "DELETE FROM sla_clocks s USING v WHERE s.record_id = v.record_id \
                 AND s.agreement_id = v.agreement_id AND s.target_key = v.target_key"
            }
            Backend::Sqlite => {
                "DELETE FROM sla_clocks WHERE (record_id, agreement_id, target_key) IN \
                 (SELECT record_id, agreement_id, target_key FROM v)"
            }
        };
        let columns = [("record_id", Int), ("agreement_id", Int), ("target_key", Text)];
        crate::batch::with_rows(c, &columns, stale, delete).await?;
    }
    let rows: Vec<&ClockRow> = rows.iter().filter(|r| kept(&r.record_id)).collect();
    write_clock_rows(c, &rows).await?;
    Ok(ids.len())
}

/// Inserts clock rows, or updates those already there.
async fn write_clock_rows(c: &mut AnyConnection, rows: &[&ClockRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let clocks: Vec<serde_json::Value> = rows.iter().map(|r| clock_row(r)).collect();
    let updates: Vec<String> = CLOCK_COLUMNS
        .split(',')
        .map(str::trim)
        .filter(|col| !matches!(*col, "record_id" | "agreement_id" | "target_key"))
        .map(|col| format!("{col} = excluded.{col}"))
        .collect();
    let upsert = format!(
        "ON CONFLICT (record_id, agreement_id, target_key) DO UPDATE SET {}",
        updates.join(", ")
    );
    crate::batch::insert_returning(c, "sla_clocks", &clock_columns(), clocks, &upsert).await?;
    Ok(())
}

fn clock_row(r: &ClockRow) -> serde_json::Value {
    serde_json::json!({
        "record_id": r.record_id.0,
        "agreement_id": r.agreement_id.0,
        "target_key": r.target_key,
        "agreement_type": r.agreement_type,
        "metric": r.metric,
        "target_name": r.target_name,
        "calendar_id": r.calendar_id.map(|c| c.0),
        "status": r.status,
        "target_micros": r.target_micros,
        "elapsed_micros": r.elapsed_micros,
        "started_at": r.started_at.map(micros),
        "stopped_at": r.stopped_at.map(micros),
        "due_at": r.due_at.map(micros),
        "next_notice_at": r.next_notice_at.map(micros),
        "reason": r.reason,
        "computed_at": micros(r.computed_at),
    })
}

fn clock_columns() -> Vec<(&'static str, crate::batch::ColumnType)> {
    use crate::batch::ColumnType::{Int, Text};
    CLOCK_COLUMNS
        .split(',')
        .map(str::trim)
        .map(|col| {
            let text = matches!(
                col,
                "target_key" | "agreement_type" | "metric" | "target_name" | "status" | "reason"
            );
            (col, if text { Text } else { Int })
        })
        .collect()
}

/// The clock keys of each record among `rows`, as `records.sla_clock_keys` stores them.
fn keys_by_record(rows: &[ClockRow]) -> HashMap<RecordId, Vec<(i64, &str)>> {
    let mut keys: HashMap<RecordId, Vec<(i64, &str)>> = HashMap::new();
    for r in rows {
        keys.entry(r.record_id)
            .or_default()
            .push((r.agreement_id.0, r.target_key.as_str()));
    }
    keys
}

/// Gives new records, before they are written, what their first replay computed: the queue
/// clock, fingerprint and clock keys go into the records' own rows (the clock rows follow with
/// [`add_clock_rows`]). So a creation writes its clocks with its records, not after them.
pub fn set_new_clocks(
    prepared: &mut crate::records::PreparedRecords,
    replayed: &[ReplayedRecord],
    rows: &[ClockRow],
) {
    let keys = keys_by_record(rows);
    let by_id: HashMap<i64, &ReplayedRecord> = replayed.iter().map(|r| (r.id.0, r)).collect();
    let with_clocks = !replayed.is_empty();
    for row in &mut prepared.rows {
        let Some(m) = row.as_object_mut() else { continue };
        let id = m.get("id").and_then(serde_json::Value::as_i64).unwrap_or(0);
        match by_id.get(&id) {
            Some(r) => {
                let mine = keys.get(&r.id).map(Vec::as_slice).unwrap_or_default();
                m.insert("sla_status".into(), r.queue.status.clone().into());
                m.insert("sla_due_at".into(), r.queue.due_at.map(micros).into());
                m.insert("sla_warn_at".into(), r.queue.warn_at.map(micros).into());
                m.insert("sla_fingerprint".into(), r.fingerprint.into());
                m.insert(
                    "sla_clock_keys".into(),
                    serde_json::json!(mine).to_string().into(),
                );
            }
            // Every row of a batch has the columns once one has; a record without clocks keeps
            // the columns' defaults.
            None if with_clocks => {
                m.insert("sla_status".into(), serde_json::Value::Null);
            }
            None => {}
        }
    }
}

/// Adds new clock rows (of records written by the same `inserts`, after them) to `inserts`.
pub fn add_clock_rows(inserts: &mut crate::batch::Inserts, rows: &[ClockRow]) {
    inserts.add(
        "sla_clocks",
        clock_columns(),
        rows.iter().map(clock_row).collect(),
        "",
    );
}

/// What a clock replay needs of one record, read for many records at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockInput {
    pub id: RecordId,
    pub kind: RecordKind,
    pub organization_id: itsm_domain::OrganizationId,
    pub service_id: Option<RecordId>,
    pub service_offering_id: Option<RecordId>,
    pub priority: Option<i16>,
    pub assignment_group_id: Option<itsm_domain::GroupId>,
    pub created_at: jiff::Timestamp,
    pub first_response_at: Option<jiff::Timestamp>,
    pub transitions: Vec<TransitionRow>,
    /// The fingerprint of the last replay stored (see [`ReplayedRecord`]), if any.
    pub fingerprint: Option<i64>,
    /// The clocks stored now.
    pub clock_keys: Vec<ClockKey>,
    /// The record's version when read.
    pub version: i64,
}

fn corrupt(what: &str) -> crate::StorageError {
    crate::StorageError::Corrupt(format!("clock inputs: {what}"))
}

/// The shapes of the JSON document `clock_inputs` reads, deserialized as they are (arrays).
#[derive(serde::Deserialize)]
/// A transition: instant, state, reason, id (ties at one instant go by id).
struct InTransition(i64, String, Option<String>, i64);

#[derive(serde::Deserialize)]
struct InRecord(
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<String>,
    Vec<InTransition>,
    Option<i64>,
    Option<String>,
    i64,
    Option<i64>,
);

/// `records.sla_clock_keys`: a JSON array of [agreement id, target key].
fn parse_keys(text: Option<&str>) -> Result<Vec<ClockKey>> {
    let keys: Vec<(i64, String)> = match text {
        Some(t) => serde_json::from_str(t).map_err(|e| corrupt(&format!("clock keys: {e}")))?,
        None => Vec::new(),
    };
    Ok(keys.into_iter().map(|(a, k)| (RecordId(a), k)).collect())
}

/// The clocks stored for each of some records (`records.sla_clock_keys`), by record id.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn clock_keys_of(
    c: &mut AnyConnection,
    records: &[RecordId],
) -> Result<HashMap<RecordId, Vec<ClockKey>>> {
    let rows = select_by_ids(
        c,
        records,
        |list| format!("SELECT id, sla_clock_keys FROM records WHERE id IN ({list})"),
        |row| Ok((RecordId(row.try_get(0)?), row.try_get::<Option<String>, _>(1)?)),
    )
    .await?;
    rows.into_iter()
        .map(|(id, text)| Ok((id, parse_keys(text.as_deref())?)))
        .collect()
}

fn parse_input(r: InRecord) -> Result<ClockInput> {
    let id = RecordId(r.0);
    let kind = RecordKind::parse(&r.1).ok_or_else(|| corrupt("kind"))?;
    let mut steps = r.8;
    // In history order; the database leaves the order to us (sorting inside its aggregate cost
    // PostgreSQL a fifth of the read).
    steps.sort_unstable_by_key(|t| (t.0, t.3));
    let transitions = steps
        .into_iter()
        .map(|t| {
            Ok(TransitionRow {
                record_id: id,
                at: instant(t.0)?,
                to_state: t.1,
                reason: t.2,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ClockInput {
        id,
        kind,
        organization_id: itsm_domain::OrganizationId(r.2),
        service_id: r.3.map(RecordId),
        service_offering_id: r.12.map(RecordId),
        priority: r.4.filter(|p| *p > 0).map(|p| i16::try_from(p).unwrap_or(5)),
        assignment_group_id: r.5.map(itsm_domain::GroupId),
        created_at: instant(r.6)?,
        first_response_at: r.7.and_then(|s| s.parse().ok()),
        transitions,
        fingerprint: r.9,
        clock_keys: parse_keys(r.10.as_deref())?,
        version: r.11,
    })
}

/// The replay inputs of up to `limit` records of `kinds` after `after` (by id) whose clocks may still
/// move (see `measured_filter`), each with its transitions and the fingerprint of its last replay
/// (not its clock rows, which would be four fifths of the document).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn clock_inputs(
    c: &mut AnyConnection,
    kinds: &[RecordKind],
    closed_since: Option<jiff::Timestamp>,
    after: RecordId,
    limit: u32,
) -> Result<Vec<ClockInput>> {
    read_clock_inputs(c, kinds, closed_since, after, limit)
        .await?
        .parse()
}

/// A batch of replay inputs as the database wrote it: one JSON document, so a batch costs one round
/// trip whatever its size, and parsing it can run elsewhere while the next batch is read.
#[derive(Debug, Clone)]
pub struct ClockInputBatch {
    /// The largest record id in the batch, where the next batch starts; `None` when it is empty.
    pub last: Option<RecordId>,
    document: String,
}

impl ClockInputBatch {
    /// The inputs, by record id.
    pub fn parse(&self) -> Result<Vec<ClockInput>> {
        let doc: Vec<InRecord> = serde_json::from_str(&self.document).map_err(|e| corrupt(&e.to_string()))?;
        let mut out = doc.into_iter().map(parse_input).collect::<Result<Vec<_>>>()?;
        out.sort_by_key(|i| i.id.0);
        Ok(out)
    }
}

/// Reads a batch of [`clock_inputs`] without parsing it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn read_clock_inputs(
    c: &mut AnyConnection,
    kinds: &[RecordKind],
    closed_since: Option<jiff::Timestamp>,
    after: RecordId,
    limit: u32,
) -> Result<ClockInputBatch> {
    let (filter, binds) = measured_filter(kinds, closed_since, after, limit);
    let sql = match backend_of(c) {
        Backend::Postgres => {
            "SELECT CAST(COALESCE(json_agg(json_build_array(r.id, r.kind, r.organization_id, r.service_id, r.priority, \
             r.assignment_group_id, r.created_at, CAST(r.details AS json) ->> 'first_response_at', \
             (SELECT COALESCE(json_agg(json_build_array(t.at, t.to_state, t.reason, t.id)), '[]') \
              FROM state_transitions t WHERE t.record_id = r.id), \
             r.sla_fingerprint, r.sla_clock_keys, r.version, \
             CAST(r.details AS json) -> 'service_offering_id')), '[]') AS TEXT), MAX(r.id) FROM ({filter}) r"
        }
        Backend::Sqlite => {
            "SELECT json_group_array(json_array(r.id, r.kind, r.organization_id, r.service_id, r.priority, \
             r.assignment_group_id, r.created_at, json_extract(r.details, '$.first_response_at'), \
             json((SELECT json_group_array(json_array(t.at, t.to_state, t.reason, t.id)) \
              FROM state_transitions t WHERE t.record_id = r.id)), \
             r.sla_fingerprint, r.sla_clock_keys, r.version, \
             json_extract(r.details, '$.service_offering_id'))), MAX(r.id) FROM ({filter}) r"
        }
    };
    let sql = sql.replace("{filter}", &filter);
    let row = planned_per_call(c, bind_all(sqlx::query(&sql), &binds))
        .fetch_one(&mut *c)
        .await?;
    let text: Option<String> = row.try_get(0)?;
    let last: Option<i64> = row.try_get(1)?;
    Ok(ClockInputBatch {
        last: last.map(RecordId),
        document: text.unwrap_or_else(|| "[]".to_owned()),
    })
}

/// The clocks of a record, SLA first, then by metric.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn clocks(c: &mut AnyConnection, record: RecordId) -> Result<Vec<ClockRow>> {
    clocks_of(c, &[record]).await
}

/// The stored clocks of some records, by record, then as [`clocks`] orders them.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn clocks_of(c: &mut AnyConnection, records: &[RecordId]) -> Result<Vec<ClockRow>> {
    select_by_ids(
        c,
        records,
        |list| {
            format!(
                "SELECT {CLOCK_COLUMNS} FROM sla_clocks WHERE record_id IN ({list}) \
                 ORDER BY record_id, agreement_type DESC, metric, agreement_id"
            )
        },
        clock_from_row,
    )
    .await
}

/// A state transition as a clock replays it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRow {
    pub record_id: RecordId,
    pub at: jiff::Timestamp,
    pub to_state: String,
    pub reason: Option<String>,
}

/// The state transitions of some records, by record and then in the order they happened.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn transitions_of(c: &mut AnyConnection, records: &[RecordId]) -> Result<Vec<TransitionRow>> {
    select_by_ids(
        c,
        records,
        |list| {
            format!(
                "SELECT record_id, at, to_state, reason FROM state_transitions WHERE record_id IN ({list}) \
                 ORDER BY record_id, at, id"
            )
        },
        |row| {
            Ok(TransitionRow {
                record_id: RecordId(row.try_get("record_id")?),
                at: instant(row.try_get("at")?)?,
                to_state: row.try_get("to_state")?,
                reason: row.try_get("reason")?,
            })
        },
    )
    .await
}

/// `SELECT * FROM records` limited to records of `kinds` whose clocks may still move (not in a final
/// state, or updated since `closed_since` when given), after an id, by id.
fn measured_filter(
    kinds: &[RecordKind],
    closed_since: Option<jiff::Timestamp>,
    after: RecordId,
    limit: u32,
) -> (String, Vec<Bind>) {
    let mut sql = String::from("SELECT * FROM records WHERE id > $1 AND (");
    let mut binds = vec![Bind::Int(Some(after.0))];
    for (i, kind) in kinds.iter().enumerate() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        binds.push(Bind::Text(Some(kind.as_str().to_owned())));
        let _ = write!(sql, "(kind = ${}", binds.len());
        let finals: Vec<&str> = kind
            .lifecycle()
            .states
            .iter()
            .filter(|s| s.is_final())
            .map(|s| s.name)
            .collect();
        if !finals.is_empty() {
            sql.push_str(" AND (state NOT IN (");
            for (j, f) in finals.iter().enumerate() {
                binds.push(Bind::Text(Some((*f).to_owned())));
                let _ = write!(sql, "{}${}", if j > 0 { ", " } else { "" }, binds.len());
            }
            sql.push(')');
            if let Some(since) = closed_since {
                binds.push(Bind::Int(Some(micros(since))));
                let _ = write!(sql, " OR updated_at >= ${}", binds.len());
            }
            sql.push(')');
        }
        sql.push(')');
    }
    if kinds.is_empty() {
        sql.push_str("1 = 0");
    }
    let _ = write!(sql, ") ORDER BY id LIMIT {}", limit.max(1));
    (sql, binds)
}

/// Claims records whose clocks have a warning or breach due at `now`, at most `limit`. On PostgreSQL
/// the records' rows stay locked until the transaction ends and other job runners skip them (a record,
/// not a clock, is the unit: its clocks are replaced together); on SQLite the single writer already
/// runs one job transaction at a time.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn claim_due_notices(
    c: &mut AnyConnection,
    now: jiff::Timestamp,
    limit: u32,
) -> Result<Vec<RecordId>> {
    let sql = match backend_of(c) {
        Backend::Postgres => {
            "SELECT id AS record_id FROM records WHERE id IN (SELECT record_id FROM sla_clocks \
             WHERE next_notice_at <= $1 ORDER BY next_notice_at LIMIT $2) FOR UPDATE SKIP LOCKED"
        }
        Backend::Sqlite => {
            "SELECT record_id FROM sla_clocks WHERE next_notice_at <= $1 ORDER BY next_notice_at LIMIT $2"
        }
    };
    let rows = sqlx::query(sql)
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *c)
        .await?;
    let mut ids: Vec<RecordId> = rows
        .iter()
        .map(|r| Ok(RecordId(r.try_get(0)?)))
        .collect::<Result<_>>()?;
    ids.sort_unstable_by_key(|r| r.0);
    ids.dedup();
    Ok(ids)
}

/// A warning or breach to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub record_id: RecordId,
    pub agreement_id: RecordId,
    pub target_key: String,
    /// The clock run it belongs to: a clock restarted on reopen warns again.
    pub started_at: jiff::Timestamp,
    /// The share of the target used; 100 is the breach.
    pub percent: u32,
    /// The business instant at which it fell due.
    pub due_at: jiff::Timestamp,
    pub recorded_at: jiff::Timestamp,
}

/// Records notices unless they are recorded already; answers, in the order given, whether this
/// call recorded each (the primary key makes a notice exactly-once across nodes).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_notices(c: &mut AnyConnection, notices: &[Notice]) -> Result<Vec<bool>> {
    if notices.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<serde_json::Value> = notices
        .iter()
        .map(|n| {
            serde_json::json!({
                "record_id": n.record_id.0, "agreement_id": n.agreement_id.0, "target_key": n.target_key,
                "started_at": micros(n.started_at), "percent": n.percent, "due_at": micros(n.due_at),
                "recorded_at": micros(n.recorded_at),
            })
        })
        .collect();
    use crate::batch::ColumnType::{Int, Text};
    let columns = [
        ("record_id", Int),
        ("agreement_id", Int),
        ("target_key", Text),
        ("started_at", Int),
        ("percent", Int),
        ("due_at", Int),
        ("recorded_at", Int),
    ];
    let returned = crate::batch::insert_returning(
        c,
        "sla_notices",
        &columns,
        rows,
        "ON CONFLICT DO NOTHING RETURNING record_id, agreement_id, target_key, started_at, percent",
    )
    .await?;
    let mut recorded = std::collections::HashSet::new();
    for r in &returned {
        let key: (i64, i64, String, i64, i64) = (
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get(4)?,
        );
        recorded.insert(key);
    }
    Ok(notices
        .iter()
        .map(|n| {
            recorded.contains(&(
                n.record_id.0,
                n.agreement_id.0,
                n.target_key.clone(),
                micros(n.started_at),
                i64::from(n.percent),
            ))
        })
        .collect())
}

/// Links notices to the audit events that reported them.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_notice_events(c: &mut AnyConnection, links: &[(&Notice, i64)]) -> Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = links
        .iter()
        .map(|(n, event)| {
            serde_json::json!({
                "record_id": n.record_id.0, "agreement_id": n.agreement_id.0, "target_key": n.target_key,
                "started_at": micros(n.started_at), "percent": n.percent, "event_id": event,
            })
        })
        .collect();
    use crate::batch::ColumnType::{Int, Text};
    let columns = [
        ("record_id", Int),
        ("agreement_id", Int),
        ("target_key", Text),
        ("started_at", Int),
        ("percent", Int),
        ("event_id", Int),
    ];
    crate::batch::with_rows(
        c,
        &columns,
        rows,
        "UPDATE sla_notices SET event_id = v.event_id FROM v \
         WHERE sla_notices.record_id = v.record_id AND sla_notices.agreement_id = v.agreement_id \
         AND sla_notices.target_key = v.target_key AND sla_notices.started_at = v.started_at \
         AND sla_notices.percent = v.percent",
    )
    .await?;
    Ok(())
}

/// The notices of a record, oldest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn notices(c: &mut AnyConnection, record: RecordId) -> Result<Vec<Notice>> {
    let rows = sqlx::query(
        "SELECT record_id, agreement_id, target_key, started_at, percent, due_at, recorded_at \
         FROM sla_notices WHERE record_id = $1 ORDER BY due_at, percent",
    )
    .bind(record.0)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Notice {
                record_id: RecordId(r.try_get(0)?),
                agreement_id: RecordId(r.try_get(1)?),
                target_key: r.try_get(2)?,
                started_at: instant(r.try_get(3)?)?,
                percent: u32::try_from(r.try_get::<i64, _>(4)?).unwrap_or(0),
                due_at: instant(r.try_get(5)?)?,
                recorded_at: instant(r.try_get(6)?)?,
            })
        })
        .collect()
}

/// Sets when each clock (record, agreement, target key) next needs the warning job.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_next_notices(
    c: &mut AnyConnection,
    next: &[(RecordId, RecordId, &str, Option<jiff::Timestamp>)],
) -> Result<()> {
    if next.is_empty() {
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = next
        .iter()
        .map(|(r, a, k, t)| {
            serde_json::json!({"record_id": r.0, "agreement_id": a.0, "target_key": k, "next": t.map(micros)})
        })
        .collect();
    use crate::batch::ColumnType::{Int, Text};
    let columns = [
        ("record_id", Int),
        ("agreement_id", Int),
        ("target_key", Text),
        ("next", Int),
    ];
    crate::batch::with_rows(
        c,
        &columns,
        rows,
        "UPDATE sla_clocks SET next_notice_at = v.next FROM v \
         WHERE sla_clocks.record_id = v.record_id AND sla_clocks.agreement_id = v.agreement_id \
         AND sla_clocks.target_key = v.target_key",
    )
    .await?;
    Ok(())
}

/// An event for notifications and webhooks.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub id: i64,
    pub topic: String,
    pub record_id: Option<RecordId>,
    pub payload: serde_json::Value,
    pub created_at: jiff::Timestamp,
}

/// An event to put in the outbox.
#[derive(Debug, Clone)]
pub struct NewOutboxEvent<'a> {
    pub topic: &'a str,
    pub record: Option<RecordId>,
    pub payload: serde_json::Value,
    pub at: jiff::Timestamp,
}

/// Puts events in the outbox, in the same transaction as what they report.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn enqueue(c: &mut AnyConnection, events: &[NewOutboxEvent<'_>]) -> Result<()> {
    use crate::batch::ColumnType::{Int, Text};
    let rows = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "topic": e.topic, "record_id": e.record.map(|r| r.0),
                "payload": e.payload.to_string(), "created_at": micros(e.at),
            })
        })
        .collect();
    let columns = [
        ("topic", Text),
        ("record_id", Int),
        ("payload", Text),
        ("created_at", Int),
    ];
    crate::batch::insert_rows(c, "outbox_events", &columns, rows).await
}

/// Events after `after`, oldest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn outbox(c: &mut AnyConnection, after: i64, limit: u32) -> Result<Vec<OutboxEvent>> {
    let rows = sqlx::query(
        "SELECT id, topic, record_id, payload, created_at FROM outbox_events WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit.clamp(1, 1000)))
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            let payload: String = r.try_get(3)?;
            Ok(OutboxEvent {
                id: r.try_get(0)?,
                topic: r.try_get(1)?,
                record_id: r.try_get::<Option<i64>, _>(2)?.map(RecordId),
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                created_at: instant(r.try_get(4)?)?,
            })
        })
        .collect()
}

/// What attainment is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Agreement,
    Service,
    Customer,
    Priority,
    /// Everything in one group (the caller splits a period into months).
    Total,
}

/// Met and missed targets of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttainmentRow {
    /// The group's id (agreement, service or organization id, or priority); `None` for "none".
    pub key: Option<i64>,
    pub label: String,
    pub met: i64,
    pub breached: i64,
}

/// The clocks that ended (met or breached) or ran out, by when that happened: a clock counts at its
/// stop, or at its due instant when it is still running past it.
const ENDED: &str = "FROM sla_clocks c JOIN records r ON r.id = c.record_id \
     JOIN records a ON a.id = c.agreement_id \
     JOIN organizations o ON o.id = r.organization_id \
     LEFT JOIN records s ON s.id = r.service_id \
     WHERE c.status IN ('met', 'breached') \
     AND COALESCE(c.stopped_at, c.due_at) >= $1 AND COALESCE(c.stopped_at, c.due_at) < $2";

/// Met and breached clocks between two instants, grouped. For a `customer`, only its own records'
/// clocks under agreements it is party to: never the provider's internal agreements (OLAs) that
/// also measure those records.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn attainment(
    c: &mut AnyConnection,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
    by: Dimension,
    customer: Option<itsm_domain::OrganizationId>,
) -> Result<Vec<AttainmentRow>> {
    let (key, label) = match by {
        Dimension::Agreement => ("c.agreement_id", "a.title"),
        Dimension::Service => ("r.service_id", "s.title"),
        Dimension::Customer => ("r.organization_id", "o.name"),
        Dimension::Priority => ("r.priority", "CAST(r.priority AS TEXT)"),
        Dimension::Total => ("CAST(0 AS BIGINT)", "'all'"),
    };
    // SUM of integers is BIGINT on PostgreSQL and INTEGER on SQLite; COALESCE covers no rows at all.
    let mut sql = format!(
        "SELECT {key} AS k, MAX({label}) AS l, \
         COALESCE(SUM(CASE WHEN c.status = 'met' THEN 1 ELSE 0 END), 0) AS met, \
         COALESCE(SUM(CASE WHEN c.status = 'breached' THEN 1 ELSE 0 END), 0) AS breached {ENDED}"
    );
    let mut binds = vec![Bind::Int(Some(micros(from))), Bind::Int(Some(micros(to)))];
    if let Some(org) = customer {
        binds.push(Bind::Int(Some(org.0)));
        let n = binds.len();
        let _ = write!(sql, " AND r.organization_id = ${n} AND a.organization_id = ${n}");
    }
    if by != Dimension::Total {
        let _ = write!(sql, " GROUP BY {key} ORDER BY {key}");
    }
    let rows = planned_per_call(c, bind_all(sqlx::query(&sql), &binds))
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AttainmentRow {
                key: r.try_get::<Option<i64>, _>("k")?,
                label: r
                    .try_get::<Option<String>, _>("l")?
                    .unwrap_or_else(|| "none".into()),
                met: r.try_get("met")?,
                breached: r.try_get("breached")?,
            })
        })
        .collect()
}

/// A missed target, with its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub record_id: RecordId,
    pub record_kind: String,
    pub record_number: i64,
    pub record_title: String,
    pub organization: String,
    pub agreement: String,
    pub target_name: String,
    pub metric: String,
    pub target_micros: i64,
    pub elapsed_micros: i64,
    pub due_at: Option<jiff::Timestamp>,
    pub stopped_at: Option<jiff::Timestamp>,
    /// Why the target applied.
    pub reason: String,
}

/// Breaches between two instants, latest first, at most `limit`; for a `customer` as in
/// [`attainment`].
#[tracing::instrument(level = "debug", skip_all)]
pub async fn breaches(
    c: &mut AnyConnection,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
    customer: Option<itsm_domain::OrganizationId>,
    limit: u32,
) -> Result<Vec<Breach>> {
    let mut sql = format!(
        "SELECT c.record_id, r.kind, r.number, r.title, o.name AS org, a.title AS agreement, c.target_name, \
         c.metric, c.target_micros, c.elapsed_micros, c.due_at, c.stopped_at, c.reason {ENDED} \
         AND c.status = 'breached'"
    );
    let mut binds = vec![Bind::Int(Some(micros(from))), Bind::Int(Some(micros(to)))];
    if let Some(org) = customer {
        binds.push(Bind::Int(Some(org.0)));
        let n = binds.len();
        let _ = write!(sql, " AND r.organization_id = ${n} AND a.organization_id = ${n}");
    }
    let _ = write!(
        sql,
        " ORDER BY COALESCE(c.stopped_at, c.due_at) DESC, c.record_id LIMIT {}",
        limit.clamp(1, 10_000)
    );
    let rows = planned_per_call(c, bind_all(sqlx::query(&sql), &binds))
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Breach {
                record_id: RecordId(r.try_get("record_id")?),
                record_kind: r.try_get("kind")?,
                record_number: r.try_get("number")?,
                record_title: r.try_get("title")?,
                organization: r.try_get("org")?,
                agreement: r.try_get("agreement")?,
                target_name: r.try_get("target_name")?,
                metric: r.try_get("metric")?,
                target_micros: r.try_get("target_micros")?,
                elapsed_micros: r.try_get("elapsed_micros")?,
                due_at: opt_instant(r.try_get("due_at")?)?,
                stopped_at: opt_instant(r.try_get("stopped_at")?)?,
                reason: r.try_get("reason")?,
            })
        })
        .collect()
}

/// The version of agreements and calendars as a whole; see [`bump_config_version`].
#[tracing::instrument(level = "debug", skip_all)]
pub async fn config_version(c: &mut AnyConnection) -> Result<i64> {
    let row = sqlx::query(CONFIG_VERSION).fetch_one(&mut *c).await?;
    Ok(row.try_get(0)?)
}

/// The query of the version of agreements and calendars, for use inside other statements.
pub const CONFIG_VERSION: &str = "SELECT version FROM sla_config_version WHERE id = 1";

/// Marks agreements and calendars as changed, in the caller's transaction.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn bump_config_version(c: &mut AnyConnection) -> Result<()> {
    sqlx::query("UPDATE sla_config_version SET version = version + 1 WHERE id = 1")
        .execute(&mut *c)
        .await?;
    Ok(())
}
