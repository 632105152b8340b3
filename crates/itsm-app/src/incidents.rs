//! Incident management use cases: log an incident, and change it (fields, assignment, state).

use itsm_domain::access::Permission;
use itsm_domain::incident::{self, IncidentChange, Level, NewIncident};
use itsm_domain::{
    GroupId, OrganizationId, RecordFields, RecordId, RecordKind, Role, UserId, ValidationError,
};
use itsm_storage::records::{RecordNames, RecordView};
use itsm_storage::{people, AnyConnection};

use crate::records::{commit_with_view, current_for_change};
use crate::{App, AppError, Ctx, Result};

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
    pub async fn create_incident(&self, ctx: &Ctx, input: NewIncidentInput) -> Result<RecordView> {
        ctx.require(Permission::CreateIncident)?;
        let mut c = self.store().read().await?;
        let (fields, names) = self.checked_incident(&mut c, ctx, input).await?;
        drop(c);
        self.create_gathered(ctx, RecordKind::Incident, fields, names)
            .await
    }

    /// Logs an incident inside the caller's transaction at instant `now` (used by bulk loaders).
    pub async fn create_incident_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        input: NewIncidentInput,
        now: jiff::Timestamp,
    ) -> Result<RecordId> {
        let fields = self.incident_fields(c, ctx, input).await?;
        Ok(self
            .create_record(c, ctx, RecordKind::Incident, &fields, now)
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
    /// them (`None` if one was missing), so the answer to its creation needs no read-back.
    async fn checked_incident(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        mut input: NewIncidentInput,
    ) -> Result<(RecordFields, Option<RecordNames>)> {
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
        let organization_id = match input.organization_id {
            Some(o) => o,
            None => match input.caller_id {
                Some(caller) => people::user(c, caller)
                    .await?
                    .map(|u| u.organization_id)
                    .unwrap_or(OrganizationId(0)),
                None => {
                    errors.add("organization_id", "required (or give a caller)");
                    OrganizationId(0)
                }
            },
        };
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
        let mut names = None;
        if let Some(f) = &fields {
            let found = check_references(c, f, None, &mut errors).await?;
            names = found.and_then(|found| names_of(f, found));
        }
        errors.into_result()?;
        Ok((fields.ok_or_else(ValidationError::new)?, names))
    }

    /// Changes an incident that is still at `expected_version`.
    pub async fn update_incident(
        &self,
        ctx: &Ctx,
        reference: &str,
        expected_version: Option<i64>,
        change: IncidentChange,
    ) -> Result<RecordView> {
        ctx.require(Permission::WorkIncidents)?;
        let expected_version = expected_version.ok_or(AppError::VersionRequired)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        // No row lock is needed: the versioned UPDATE in `change_record` refuses the write if anyone
        // changed the incident since this read, so the check here only answers early.
        let current = current_for_change(
            self,
            &mut tx,
            ctx,
            RecordKind::Incident,
            reference,
            expected_version,
        )
        .await?;
        self.update_incident_in(&mut tx, ctx, &current, &change, now)
            .await?;
        commit_with_view(tx, current.id).await
    }

    /// Applies a change to a loaded incident inside the caller's transaction.
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
        let mut errors = ValidationError::new();
        check_references(c, &after, Some(&current.fields()), &mut errors).await?;
        errors.into_result()?;
        Ok(after)
    }
}

/// The names a view of a new record with fields `f` shows, from what its check read; `None` when one
/// is missing.
fn names_of(f: &RecordFields, found: people::Referenced) -> Option<RecordNames> {
    // The name of each reference the record has; a reference it does not have has none.
    fn named<T>(reference: Option<T>, name: Option<String>) -> Option<Option<String>> {
        match reference {
            Some(_) => name.map(Some),
            None => Some(None),
        }
    }
    Some(RecordNames {
        organization: found.organization_name?,
        assignment_group: named(f.assignment_group_id, found.group_name)?,
        assignee: named(f.assignee_id, found.assignee_name)?,
        service: named(f.service_id, found.service_title)?,
        configuration_item: named(f.configuration_item_id, found.configuration_item_title)?,
        requester: named(f.requester_id, found.requester_name)?,
    })
}

/// Checks that what an incident refers to exists and fits together. Only references that differ from
/// `before` are checked, so an update does not fail on data that changed elsewhere since. One round
/// trip, whatever is checked; answers what it read (nothing if there was nothing to check). For a
/// new record (`before` is `None`) it also reads the assignee's name.
async fn check_references(
    c: &mut AnyConnection,
    f: &RecordFields,
    before: Option<&RecordFields>,
    errors: &mut ValidationError,
) -> Result<Option<people::Referenced>> {
    let changed =
        |get: fn(&RecordFields) -> Option<i64>| before.is_none_or(|b| get(b) != get(f)) && get(f).is_some();
    let group_changed = changed(|x| x.assignment_group_id.map(|g| g.0));
    let service_changed = changed(|x| x.service_id.map(|r| r.0));
    let offering = f.service_offering_id();
    let wanted = people::References {
        organization: f.organization_id.filter(|_| before.is_none()),
        service: f.service_id.filter(|_| service_changed),
        configuration_item: f
            .configuration_item_id
            .filter(|_| changed(|x| x.configuration_item_id.map(|r| r.0))),
        requester: f
            .requester_id
            .filter(|_| changed(|x| x.requester_id.map(|u| u.0))),
        group: f.assignment_group_id.filter(|_| group_changed),
        member: match (f.assignment_group_id, f.assignee_id) {
            (Some(g), Some(u)) if group_changed || changed(|x| x.assignee_id.map(|u| u.0)) => Some((g, u)),
            _ => None,
        },
        assignee: f.assignee_id.filter(|_| before.is_none()),
        // Checked again when the service changes: it must still be that service's offering.
        service_offering: offering
            .filter(|_| service_changed || before.is_none_or(|b| b.service_offering_id() != offering)),
    };
    if wanted.organization.is_none()
        && wanted.service.is_none()
        && wanted.configuration_item.is_none()
        && wanted.requester.is_none()
        && wanted.group.is_none()
        && wanted.member.is_none()
        && wanted.service_offering.is_none()
    {
        return Ok(None);
    }
    let found = people::referenced(c, &wanted).await?;
    if let Some(org) = wanted.organization {
        if found.organization_kind.as_deref().is_none_or(|k| k == "supplier") {
            errors.add("organization_id", format!("no customer organization {org}"));
        }
    }
    if let Some(id) = wanted.service {
        if found.service_kind.as_deref() != Some(RecordKind::Service.as_str()) {
            errors.add("service_id", format!("no service {id}"));
        }
    }
    if let Some(id) = wanted.service_offering {
        if found.service_offering_kind.as_deref() != Some(RecordKind::ServiceOffering.as_str()) {
            errors.add("service_offering_id", format!("no service offering {id}"));
        } else if found.service_offering_service != f.service_id {
            errors.add(
                "service_offering_id",
                format!("{id} is an offering of another service"),
            );
        }
    }
    if let Some(id) = wanted.configuration_item {
        if found.configuration_item_kind.as_deref() != Some(RecordKind::ConfigurationItem.as_str()) {
            errors.add("configuration_item_id", format!("no configuration item {id}"));
        }
    }
    if let Some(id) = wanted.requester {
        match found.requester_organization {
            Some(o) if Some(o) == f.organization_id => {}
            Some(_) => errors.add("caller_id", "the caller belongs to another organization"),
            None => errors.add("caller_id", format!("no user {id}")),
        }
    }
    if let Some(g) = wanted.group {
        if !found.group_exists {
            errors.add("assignment_group_id", format!("no assignment group {g}"));
        }
    }
    if wanted.member.is_some() && !found.is_member {
        errors.add(
            "assignee_id",
            "the assignee is not a member of the assignment group",
        );
    }
    Ok(Some(found))
}
