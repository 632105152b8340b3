//! The audit trail: one event per change of anything, its field-level changes and, for records,
//! its state transitions, all written by the caller's transaction so they commit with the change.

use itsm_domain::{FieldChange, RecordId, RecordKind, UserId};
use serde_json::Value;
use sqlx::{AnyConnection, Row};

use crate::{batch, instant, micros, Result};

/// What an audit event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Record(RecordId),
    User(i64),
    Organization(i64),
    AssignmentGroup(i64),
    ApiToken(i64),
}

impl Subject {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Subject::Record(id) => ("record", id.0),
            Subject::User(id) => ("user", id),
            Subject::Organization(id) => ("organization", id),
            Subject::AssignmentGroup(id) => ("assignment_group", id),
            Subject::ApiToken(id) => ("api_token", id),
        }
    }
}

/// An event to write.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub subject: Subject,
    /// What happened: `created`, `updated`, `commented`, `linked`, `attached`, `disabled`, ...
    pub action: &'a str,
    pub actor: Option<UserId>,
    pub at: jiff::Timestamp,
    pub request_id: Option<&'a str>,
    /// A short human-readable line, such as the comment's visibility or the linked record.
    pub summary: String,
    pub changes: &'a [FieldChange],
}

fn json_text(v: &Value) -> Option<String> {
    (!v.is_null()).then(|| v.to_string())
}

/// Writes an event and its field changes; returns the event id.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn write(c: &mut AnyConnection, ev: &NewEvent<'_>) -> Result<i64> {
    write_many(c, std::slice::from_ref(ev))
        .await?
        .pop()
        .ok_or(crate::StorageError::NotFound)
}

/// Writes events and their field changes, whatever their number, in three statements at most;
/// returns the event ids in the order given.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn write_many(c: &mut AnyConnection, events: &[NewEvent<'_>]) -> Result<Vec<i64>> {
    let rows = events.iter().map(event_row).collect();
    let ids = batch::insert_with_ids(c, "audit_events", &EVENT_COLUMNS, rows).await?;
    batch::insert_rows(c, "audit_changes", &CHANGE_COLUMNS, change_rows(events, &ids)).await?;
    Ok(ids)
}

/// Adds events with the ids given (one each, taken up front) and their changes to `inserts`.
pub fn add_events(inserts: &mut batch::Inserts, events: &[NewEvent<'_>], ids: &[i64]) {
    let rows = events
        .iter()
        .zip(ids)
        .map(|(ev, id)| {
            let mut row = event_row(ev);
            if let Some(m) = row.as_object_mut() {
                m.insert("id".into(), (*id).into());
            }
            row
        })
        .collect();
    let mut columns = vec![("id", batch::ColumnType::Int)];
    columns.extend_from_slice(&EVENT_COLUMNS);
    inserts.add("audit_events", columns, rows, "");
    inserts.add(
        "audit_changes",
        CHANGE_COLUMNS.to_vec(),
        change_rows(events, ids),
        "",
    );
}

const EVENT_COLUMNS: [(&str, batch::ColumnType); 7] = [
    ("subject_type", batch::ColumnType::Text),
    ("subject_id", batch::ColumnType::Int),
    ("action", batch::ColumnType::Text),
    ("actor_id", batch::ColumnType::Int),
    ("at", batch::ColumnType::Int),
    ("request_id", batch::ColumnType::Text),
    ("summary", batch::ColumnType::Text),
];

const CHANGE_COLUMNS: [(&str, batch::ColumnType); 7] = [
    ("event_id", batch::ColumnType::Int),
    ("subject_type", batch::ColumnType::Text),
    ("subject_id", batch::ColumnType::Int),
    ("field", batch::ColumnType::Text),
    ("old_value", batch::ColumnType::Text),
    ("new_value", batch::ColumnType::Text),
    ("at", batch::ColumnType::Int),
];

fn event_row(ev: &NewEvent<'_>) -> serde_json::Value {
    let (stype, sid) = ev.subject.parts();
    serde_json::json!({
        "subject_type": stype, "subject_id": sid, "action": ev.action,
        "actor_id": ev.actor.map(|a| a.0), "at": micros(ev.at),
        "request_id": ev.request_id, "summary": ev.summary,
    })
}

fn change_rows(events: &[NewEvent<'_>], ids: &[i64]) -> Vec<serde_json::Value> {
    let mut changes = Vec::new();
    for (ev, id) in events.iter().zip(ids) {
        let (stype, sid) = ev.subject.parts();
        for ch in ev.changes {
            changes.push(serde_json::json!({
                "event_id": id, "subject_type": stype, "subject_id": sid, "field": ch.field,
                "old_value": json_text(&ch.old), "new_value": json_text(&ch.new), "at": micros(ev.at),
            }));
        }
    }
    changes
}

/// A state transition of a record, written beside its audit event.
#[derive(Debug, Clone)]
pub struct NewTransition<'a> {
    pub record: RecordId,
    pub kind: RecordKind,
    /// `None` at creation.
    pub from: Option<&'a str>,
    pub to: &'a str,
    /// Why the record waits in the new state, such as `awaiting_caller`; SLA clocks pause on it.
    pub reason: Option<&'a str>,
    pub at: jiff::Timestamp,
    pub actor: Option<UserId>,
    pub event_id: i64,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn write_transition(c: &mut AnyConnection, t: &NewTransition<'_>) -> Result<()> {
    write_transitions(c, std::slice::from_ref(t)).await
}

/// Writes state transitions, whatever their number, in one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn write_transitions(c: &mut AnyConnection, transitions: &[NewTransition<'_>]) -> Result<()> {
    let mut inserts = batch::Inserts::default();
    add_transitions(&mut inserts, transitions);
    inserts.run(c).await?;
    Ok(())
}

/// Adds state transitions to `inserts`.
pub fn add_transitions(inserts: &mut batch::Inserts, transitions: &[NewTransition<'_>]) {
    use crate::batch::ColumnType::{Int, Text};
    let rows = transitions
        .iter()
        .map(|t| {
            serde_json::json!({
                "record_id": t.record.0, "kind": t.kind.as_str(), "from_state": t.from,
                "to_state": t.to, "reason": t.reason, "at": micros(t.at),
                "actor_id": t.actor.map(|a| a.0), "event_id": t.event_id,
            })
        })
        .collect();
    let columns = vec![
        ("record_id", Int),
        ("kind", Text),
        ("from_state", Text),
        ("to_state", Text),
        ("reason", Text),
        ("at", Int),
        ("actor_id", Int),
        ("event_id", Int),
    ];
    inserts.add("state_transitions", columns, rows, "");
}

/// A stored event with its changes, as history shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub action: String,
    pub actor_id: Option<UserId>,
    pub actor_name: Option<String>,
    pub at: jiff::Timestamp,
    pub request_id: Option<String>,
    pub summary: String,
    pub changes: Vec<FieldChange>,
}

fn parse_json(v: Option<String>) -> Value {
    v.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

/// The history of a subject, oldest first, at most `limit` events after event id `after`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn history(c: &mut AnyConnection, subject: Subject, after: i64, limit: u32) -> Result<Vec<Event>> {
    let (stype, sid) = subject.parts();
    let rows = sqlx::query(
        "SELECT e.id, e.action, e.actor_id, u.display_name, e.at, e.request_id, e.summary \
         FROM audit_events e LEFT JOIN users u ON u.id = e.actor_id \
         WHERE e.subject_type = $1 AND e.subject_id = $2 AND e.id > $3 ORDER BY e.id LIMIT $4",
    )
    .bind(stype)
    .bind(sid)
    .bind(after)
    .bind(i64::from(limit.clamp(1, 1000)))
    .fetch_all(&mut *c)
    .await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in &rows {
        events.push(Event {
            id: row.try_get(0)?,
            action: row.try_get(1)?,
            actor_id: row.try_get::<Option<i64>, _>(2)?.map(UserId),
            actor_name: row.try_get(3)?,
            at: instant(row.try_get(4)?)?,
            request_id: row.try_get(5)?,
            summary: row.try_get(6)?,
            changes: Vec::new(),
        });
    }
    let (Some(first), Some(last)) = (events.first().map(|e| e.id), events.last().map(|e| e.id)) else {
        return Ok(events);
    };
    let rows = sqlx::query(
        "SELECT event_id, field, old_value, new_value FROM audit_changes \
         WHERE subject_type = $1 AND subject_id = $2 AND event_id >= $3 AND event_id <= $4 \
         ORDER BY event_id, field",
    )
    .bind(stype)
    .bind(sid)
    .bind(first)
    .bind(last)
    .fetch_all(&mut *c)
    .await?;
    for row in &rows {
        let event_id: i64 = row.try_get(0)?;
        if let Some(e) = events.iter_mut().find(|e| e.id == event_id) {
            e.changes.push(FieldChange {
                field: row.try_get(1)?,
                old: parse_json(row.try_get(2)?),
                new: parse_json(row.try_get(3)?),
            });
        }
    }
    Ok(events)
}

/// A state transition as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTransition {
    pub from: Option<String>,
    pub to: String,
    pub at: jiff::Timestamp,
    pub actor_id: Option<UserId>,
}

/// The state transitions of a record, oldest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn transitions(c: &mut AnyConnection, record: RecordId) -> Result<Vec<StoredTransition>> {
    let rows = sqlx::query(
        "SELECT from_state, to_state, at, actor_id FROM state_transitions WHERE record_id = $1 ORDER BY at, id LIMIT 10000",
    )
    .bind(record.0)
    .fetch_all(&mut *c)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredTransition {
                from: r.try_get(0)?,
                to: r.try_get(1)?,
                at: instant(r.try_get(2)?)?,
                actor_id: r.try_get::<Option<i64>, _>(3)?.map(UserId),
            })
        })
        .collect()
}

/// The value a field of a subject had at an instant, from the field-level history.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn value_at(
    c: &mut AnyConnection,
    subject: Subject,
    field: &str,
    at: jiff::Timestamp,
) -> Result<Value> {
    let (stype, sid) = subject.parts();
    let v: Option<Option<String>> = sqlx::query_scalar(
        "SELECT new_value FROM audit_changes WHERE subject_type = $1 AND subject_id = $2 AND field = $3 \
         AND at <= $4 ORDER BY at DESC, event_id DESC LIMIT 1",
    )
    .bind(stype)
    .bind(sid)
    .bind(field)
    .bind(micros(at))
    .fetch_optional(&mut *c)
    .await?;
    Ok(parse_json(v.flatten()))
}
