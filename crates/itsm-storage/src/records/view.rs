//! What a read answers: a record with the names of what it refers to and its queue clock.

use itsm_domain::{GroupId, OrganizationId, Record, RecordId, RecordKind, UserId};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{instant, Result, StorageError};

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

pub(super) const SELECT_VIEW: &str =
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

pub(super) fn view_from_row(row: &AnyRow) -> Result<RecordView> {
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
