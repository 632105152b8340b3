//! Incident management use cases: log an incident, and change it (fields, assignment, state), with
//! typed inputs for the UI and loaders. They are the generic create and change
//! (`records/declared.rs`) with an incident's input: the incident's rules are its declaration's.

use itsm_domain::incident::{IncidentChange, Level};
use itsm_domain::record::SERVICE_OFFERING;
use itsm_domain::{GroupId, OrganizationId, RecordFields, RecordId, RecordKind, UserId};
use itsm_storage::records::RecordView;
use itsm_storage::AnyConnection;
use serde_json::Value;

use crate::records::RecordInput;
use crate::{App, Ctx, Result};

/// What a caller gives to log an incident.
#[derive(Debug, Clone, Default)]
pub struct NewIncidentInput {
    /// The customer the incident is for; customers always log for their own organization.
    pub organization_id: Option<OrganizationId>,
    pub title: String,
    pub description: String,
    pub impact: Option<Level>,
    pub urgency: Option<Level>,
    pub category: Option<String>,
    pub service_id: Option<RecordId>,
    /// An offering of the service.
    pub service_offering_id: Option<RecordId>,
    pub configuration_item_id: Option<RecordId>,
    pub caller_id: Option<UserId>,
    pub assignment_group_id: Option<GroupId>,
    pub assignee_id: Option<UserId>,
}

impl NewIncidentInput {
    /// The input of the generic create this stands for.
    pub fn input(&self) -> RecordInput {
        let mut m = RecordInput::new();
        let mut put = |name: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(name.to_owned(), v);
            }
        };
        put("organization_id", self.organization_id.map(|o| o.0.into()));
        put("title", Some(self.title.clone().into()));
        put("description", Some(self.description.clone().into()));
        put("impact", self.impact.map(|l| l.as_str().into()));
        put("urgency", self.urgency.map(|l| l.as_str().into()));
        put("category", self.category.clone().map(Into::into));
        put("service_id", self.service_id.map(|x| x.0.into()));
        put(SERVICE_OFFERING, self.service_offering_id.map(|x| x.0.into()));
        put(
            "configuration_item_id",
            self.configuration_item_id.map(|x| x.0.into()),
        );
        put("caller_id", self.caller_id.map(|x| x.0.into()));
        put(
            "assignment_group_id",
            self.assignment_group_id.map(|x| x.0.into()),
        );
        put("assignee_id", self.assignee_id.map(|x| x.0.into()));
        m
    }
}

impl App {
    /// Logs an incident: the generic create with an incident's input. The write joins whatever
    /// other creations are waiting for the writer (see `group_commit`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_incident(&self, ctx: &Ctx, input: NewIncidentInput) -> Result<RecordView> {
        self.create(ctx, RecordKind::INCIDENT, &input.input()).await
    }

    /// Logs an incident inside the caller's transaction at instant `now` (used by bulk loaders).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_incident_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        input: NewIncidentInput,
        now: jiff::Timestamp,
    ) -> Result<RecordId> {
        self.create_in(c, ctx, RecordKind::INCIDENT, &input.input(), now)
            .await
    }

    /// Checks a new incident (permission, the customer's own organization, priority, references)
    /// and answers the fields it is created with.
    pub(crate) async fn incident_fields(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        input: NewIncidentInput,
        now: jiff::Timestamp,
    ) -> Result<RecordFields> {
        self.drafted_in(c, ctx, RecordKind::INCIDENT, &input.input(), now)
            .await
    }

    /// Changes an incident that is still at `expected_version`.
    #[tracing::instrument(level = "debug", skip_all, fields(reference))]
    pub async fn update_incident(
        &self,
        ctx: &Ctx,
        reference: &str,
        expected_version: Option<i64>,
        change: IncidentChange,
    ) -> Result<RecordView> {
        self.change(
            ctx,
            RecordKind::INCIDENT,
            reference,
            expected_version,
            &change.input(),
        )
        .await
    }

    /// Applies a change to a loaded incident inside the caller's transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_incident_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        current: &itsm_domain::Record,
        change: &IncidentChange,
        now: jiff::Timestamp,
    ) -> Result<i64> {
        self.change_in(c, ctx, current, &change.input(), now).await
    }

    /// Checks a change to an incident (permission, lifecycle and field rules, references) and
    /// answers the fields it leaves the incident with.
    pub(crate) async fn incident_change(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        current: &itsm_domain::Record,
        change: &IncidentChange,
        now: jiff::Timestamp,
    ) -> Result<RecordFields> {
        self.changed_in(c, ctx, current, &change.input(), now).await
    }
}
