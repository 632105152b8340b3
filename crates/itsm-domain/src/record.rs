//! The shape every record shares. Columns that lists filter and sort on (state, priority, assignment,
//! service, ...) are typed fields here and real columns in storage; what only one kind has lives in
//! `details`, checked by that kind's module.

use serde_json::{Map, Value};

use crate::ids::{GroupId, OrganizationId, RecordId, UserId};
use crate::kind::RecordKind;
use crate::number::RecordNumber;
use crate::Timestamp;

pub use crate::record_fields::{RecordFields, SERVICE_OFFERING, STATE_REASON};

/// A stored record of any kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: RecordId,
    pub kind: RecordKind,
    pub number: i64,
    pub organization_id: OrganizationId,
    pub title: String,
    pub description: String,
    pub state: String,
    /// 1 (critical) to 5 (planning) for kinds that are prioritized; `None` otherwise.
    pub priority: Option<i16>,
    pub assignment_group_id: Option<GroupId>,
    pub assignee_id: Option<UserId>,
    pub service_id: Option<RecordId>,
    pub configuration_item_id: Option<RecordId>,
    /// The person the record is for: an incident's caller, a request's requester.
    pub requester_id: Option<UserId>,
    /// The kind's own fields.
    pub details: Map<String, Value>,
    /// Bumped by every change; the API sends it as the ETag.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: Option<UserId>,
}

impl Record {
    /// A record as it is first written: at version 1, created and updated at `at`, by `created_by`.
    /// The counterpart of [`Record::fields`].
    pub fn first(
        id: RecordId,
        kind: RecordKind,
        number: i64,
        organization_id: OrganizationId,
        f: RecordFields,
        at: Timestamp,
        created_by: Option<UserId>,
    ) -> Record {
        Record {
            id,
            kind,
            number,
            organization_id,
            title: f.title,
            description: f.description,
            state: f.state,
            priority: f.priority,
            assignment_group_id: f.assignment_group_id,
            assignee_id: f.assignee_id,
            service_id: f.service_id,
            configuration_item_id: f.configuration_item_id,
            requester_id: f.requester_id,
            details: f.details,
            version: 1,
            created_at: at,
            updated_at: at,
            created_by,
        }
    }

    pub fn readable_number(&self) -> RecordNumber {
        RecordNumber {
            kind: self.kind,
            number: self.number,
        }
    }

    /// The settable fields, as a use case starts from them when it changes the record.
    pub fn fields(&self) -> RecordFields {
        RecordFields {
            organization_id: Some(self.organization_id),
            title: self.title.clone(),
            description: self.description.clone(),
            state: self.state.clone(),
            priority: self.priority,
            assignment_group_id: self.assignment_group_id,
            assignee_id: self.assignee_id,
            service_id: self.service_id,
            configuration_item_id: self.configuration_item_id,
            requester_id: self.requester_id,
            details: self.details.clone(),
        }
    }

    /// Takes on the fields a change wrote, at the version and instant the store gave it.
    pub fn apply(&mut self, f: &RecordFields, version: i64, at: Timestamp) {
        self.organization_id = f.organization_id.unwrap_or(self.organization_id);
        self.title = f.title.clone();
        self.description = f.description.clone();
        self.state = f.state.clone();
        self.priority = f.priority;
        self.assignment_group_id = f.assignment_group_id;
        self.assignee_id = f.assignee_id;
        self.service_id = f.service_id;
        self.configuration_item_id = f.configuration_item_id;
        self.requester_id = f.requester_id;
        self.details = f.details.clone();
        self.version = version;
        self.updated_at = at;
    }

    /// Why the record waits in its state (see [`RecordFields::state_reason`]).
    pub fn state_reason(&self) -> Option<&str> {
        self.detail_str(STATE_REASON)
    }

    /// The service offering the record concerns (see [`SERVICE_OFFERING`]).
    pub fn service_offering_id(&self) -> Option<RecordId> {
        self.detail_i64(SERVICE_OFFERING).map(RecordId)
    }

    pub fn detail_str(&self, name: &str) -> Option<&str> {
        self.details.get(name).and_then(Value::as_str)
    }

    pub fn detail_i64(&self, name: &str) -> Option<i64> {
        self.details.get(name).and_then(Value::as_i64)
    }
}
