//! Incident management use cases: log an incident, and change it (fields, assignment, state), with
//! typed inputs for the UI and loaders. They are the generic create and change
//! (`records/declared.rs`) with an incident's input: the incident's rules are its declaration's.

use itsm_domain::incident::IncidentChange;
use itsm_domain::{RecordFields, RecordId, RecordKind};
use itsm_storage::records::RecordView;
use itsm_storage::AnyConnection;

use crate::{App, Ctx, Result};

/// What a caller gives to log an incident (the domain's typed input).
pub use itsm_domain::incident::NewIncident as NewIncidentInput;

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
