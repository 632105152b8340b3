//! Incident management use cases: log an incident, and change it (fields, assignment, state).

use itsm_domain::access::Permission;
use itsm_domain::incident::{self, IncidentChange, Level, NewIncident};
use itsm_domain::{
    GroupId, OrganizationId, RecordFields, RecordId, RecordKind, Role, UserId, ValidationError,
};
use itsm_storage::records::{RecordNames, RecordView};
use itsm_storage::references;
use itsm_storage::{people, AnyConnection};

use crate::group_commit::Check;
use crate::records::{commit_with_view, judge, verdict, wanted, Changing, Wanted};
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

impl App {
    /// Logs an incident. Validation reads on a connection of its own; the write joins whatever
    /// other creations are waiting for the writer (see `group_commit`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_incident(&self, ctx: &Ctx, input: NewIncidentInput) -> Result<RecordView> {
        ctx.require(Permission::CreateIncident)?;
        let mut input = input;
        if needs_caller_organization(ctx, &input) {
            let mut c = self.store().read().await?;
            organization_from_caller(&mut c, &mut input).await?;
        }
        let (fields, references) = self.drafted_incident(ctx, input)?;
        // Read before joining the queue, or by the writer for the whole group: the store says
        // which is cheaper (`WriteShape`).
        let check = match references {
            Some(wanted) if self.store().write_shape().check_references_first => {
                let mut c = self.store().read().await?;
                let found = references::look_up(&mut c, &wanted.lookup).await?;
                Check::Done(verdict(&fields, &wanted, &found)?)
            }
            Some(wanted) => Check::Pending(wanted),
            None => Check::Done(None),
        };
        self.create_gathered(ctx, RecordKind::INCIDENT, fields, check)
            .await
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
        let fields = self.incident_fields(c, ctx, input).await?;
        Ok(self
            .create_record(c, ctx, RecordKind::INCIDENT, &fields, now)
            .await?
            .id)
    }

    /// Checks a new incident (permission, the customer's own organization, priority, references)
    /// and answers the fields it is created with.
    pub(crate) async fn incident_fields(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        input: NewIncidentInput,
    ) -> Result<RecordFields> {
        Ok(self.checked_incident(c, ctx, input).await?.0)
    }

    /// [`App::incident_fields`], with the names of what the incident refers to as the check read
    /// them (`None` if one was missing).
    async fn checked_incident(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        input: NewIncidentInput,
    ) -> Result<(RecordFields, Option<RecordNames>)> {
        let mut input = input;
        if needs_caller_organization(ctx, &input) {
            organization_from_caller(c, &mut input).await?;
        }
        let (fields, references) = self.drafted_incident(ctx, input)?;
        let names = match references {
            Some(wanted) => {
                let found = references::look_up(c, &wanted.lookup).await?;
                verdict(&fields, &wanted, &found)?
            }
            None => None,
        };
        Ok((fields, names))
    }

    /// Checks a new incident but for its references, and answers its fields with the references
    /// to check. Reads nothing: a caller's organization, when needed, is looked up before
    /// (`organization_from_caller`).
    fn drafted_incident(
        &self,
        ctx: &Ctx,
        mut input: NewIncidentInput,
    ) -> Result<(RecordFields, Option<Wanted>)> {
        ctx.require(Permission::CreateIncident)?;
        let mut errors = ValidationError::new();
        if let Some(actor) = ctx.actor().filter(|a| a.role == Role::Customer) {
            if input.organization_id.is_some_and(|o| o != actor.organization_id) {
                errors.add(
                    "organization_id",
                    "customers log incidents for their own organization",
                );
            }
            if input.assignment_group_id.is_some() || input.assignee_id.is_some() {
                errors.add("assignment_group_id", "customers cannot assign incidents");
            }
            input.organization_id = Some(actor.organization_id);
            input.caller_id = input.caller_id.or(Some(actor.user_id));
        }
        let organization_id = input.organization_id.unwrap_or_else(|| {
            errors.add("organization_id", "required (or give a caller)");
            OrganizationId(0)
        });
        let draft = NewIncident {
            organization_id,
            title: input.title,
            description: input.description,
            impact: input.impact.unwrap_or(Level::Medium),
            urgency: input.urgency.unwrap_or(Level::Medium),
            category: input.category,
            service_id: input.service_id,
            service_offering_id: input.service_offering_id,
            configuration_item_id: input.configuration_item_id,
            caller_id: input.caller_id,
            assignment_group_id: input.assignment_group_id,
            assignee_id: input.assignee_id,
        };
        let fields = match incident::new_incident(&draft, &self.settings().priority_matrix) {
            Ok(f) => Some(f),
            Err(v) => {
                errors.errors.extend(v.errors);
                None
            }
        };
        errors.into_result()?;
        let fields = fields.ok_or_else(ValidationError::new)?;
        let references = wanted(RecordKind::INCIDENT, &fields, None);
        Ok((fields, references))
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
        let Changing { mut tx, current, now } = self
            .begin_change(ctx, RecordKind::INCIDENT, reference, expected_version)
            .await?;
        self.update_incident_in(&mut tx, ctx, &current, &change, now)
            .await?;
        commit_with_view(tx, current.id).await
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
        let after = self.incident_change(c, ctx, current, change, now).await?;
        self.change_record(c, ctx, current, &after, now).await
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
        ctx.require(Permission::WorkIncidents)?;
        let after = incident::apply_change(current, change, &self.settings().priority_matrix, now)?;
        if let Some(wanted) = wanted(RecordKind::INCIDENT, &after, Some(&current.fields())) {
            let found = references::look_up(c, &wanted.lookup).await?;
            judge(&after, &wanted, &found).into_result()?;
        }
        Ok(after)
    }
}

/// Whether a staff member named a caller but no organization: the incident is then for the
/// caller's organization, which must be read (customers always log for their own).
fn needs_caller_organization(ctx: &Ctx, input: &NewIncidentInput) -> bool {
    input.organization_id.is_none()
        && input.caller_id.is_some()
        && !ctx.actor().is_some_and(|a| a.role == Role::Customer)
}

/// Sets the incident's organization to its caller's (to none that exists when the caller is
/// unknown, which the reference check then reports).
async fn organization_from_caller(c: &mut AnyConnection, input: &mut NewIncidentInput) -> Result<()> {
    if let (None, Some(caller)) = (input.organization_id, input.caller_id) {
        let user = people::user(c, caller).await?;
        input.organization_id = Some(user.map_or(OrganizationId(0), |u| u.organization_id));
    }
    Ok(())
}
