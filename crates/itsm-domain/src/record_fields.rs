//! The fields of a record that a use case sets, apart from the stored record: they name no kind,
//! so a kind's rules (`crate::kind::KindRules`) read and write them without the record's shape.

use serde_json::{Map, Value};

use crate::audit::FieldMap;
use crate::ids::{GroupId, OrganizationId, RecordId, UserId};

/// The fields of a record that a use case sets; identity, version and time stamps are the storage's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RecordFields {
    pub organization_id: Option<OrganizationId>,
    pub title: String,
    pub description: String,
    pub state: String,
    pub priority: Option<i16>,
    pub assignment_group_id: Option<GroupId>,
    pub assignee_id: Option<UserId>,
    pub service_id: Option<RecordId>,
    pub configuration_item_id: Option<RecordId>,
    pub requester_id: Option<UserId>,
    pub details: Map<String, Value>,
}

/// The `details` key of the reason a record waits.
pub const STATE_REASON: &str = "on_hold_reason";

/// The `details` key of the service offering a record concerns (an offering of its service). Every
/// kind measured by service level targets keeps it under this one name, so targets can single out
/// an offering.
pub const SERVICE_OFFERING: &str = "service_offering_id";

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map(Into::into).unwrap_or(Value::Null)
}

impl RecordFields {
    /// Why the record waits in its state, such as `awaiting_caller` while an incident is on hold.
    /// Every kind that waits keeps its reason under this one name, so SLA clocks can pause on it.
    pub fn state_reason(&self) -> Option<&str> {
        self.details.get(STATE_REASON).and_then(Value::as_str)
    }

    /// The service offering the record concerns (see [`SERVICE_OFFERING`]).
    pub fn service_offering_id(&self) -> Option<RecordId> {
        self.details
            .get(SERVICE_OFFERING)
            .and_then(Value::as_i64)
            .map(RecordId)
    }

    /// The fields as the audit trail records them: common fields and details side by side.
    pub fn audit_map(&self) -> FieldMap {
        let mut m = FieldMap::new();
        m.insert("organization_id".into(), opt(self.organization_id.map(|o| o.0)));
        m.insert("title".into(), Value::from(self.title.clone()));
        m.insert("description".into(), Value::from(self.description.clone()));
        m.insert("state".into(), Value::from(self.state.clone()));
        m.insert("priority".into(), opt(self.priority));
        m.insert(
            "assignment_group_id".into(),
            opt(self.assignment_group_id.map(|g| g.0)),
        );
        m.insert("assignee_id".into(), opt(self.assignee_id.map(|u| u.0)));
        m.insert("service_id".into(), opt(self.service_id.map(|r| r.0)));
        m.insert(
            "configuration_item_id".into(),
            opt(self.configuration_item_id.map(|r| r.0)),
        );
        m.insert("requester_id".into(), opt(self.requester_id.map(|u| u.0)));
        for (k, v) in &self.details {
            m.insert(k.clone(), v.clone());
        }
        m.retain(|_, v| !v.is_null());
        m
    }
}
