//! Incident management use cases: log an incident, and change it (fields, assignment, state), with
//! typed inputs for the UI. They are the generic create and change
//! (`records/declared.rs`) with an incident's input: the incident's rules are its declaration's.

use itsm_domain::incident::IncidentChange;
use itsm_domain::RecordKind;
use itsm_storage::records::RecordView;

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
}
