//! Agreements (SLA, OLA, underpinning contract) as records, with their service level targets
//! checked against the records they refer to.

use itsm_domain::access::Permission;
use itsm_domain::slm::{AgreementTerms, AgreementType};
use itsm_domain::validation::{optional_text, required_text};
use itsm_domain::{GroupId, OrganizationId, RecordFields, RecordId, RecordKind, UserId, ValidationError};
use itsm_storage::records::{self, RecordView};
use itsm_storage::{people, AnyConnection};

use crate::records::{commit_with_view, CommonChange};
use crate::{App, AppError, Ctx, Result};

/// A new agreement.
#[derive(Debug, Clone)]
pub struct AgreementInput {
    pub title: String,
    pub description: String,
    /// The customer (SLA), supplier (UC), or the provider itself (OLA, the default for one).
    pub organization_id: Option<OrganizationId>,
    /// The group an OLA is with.
    pub assignment_group_id: Option<GroupId>,
    pub owner_id: Option<UserId>,
    pub terms: AgreementTerms,
}

/// A change to an agreement; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct AgreementChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub state: Option<String>,
    pub owner_id: Option<Option<UserId>>,
    pub assignment_group_id: Option<Option<GroupId>>,
    pub terms: Option<AgreementTerms>,
}

impl App {
    async fn check_agreement(
        &self,
        c: &mut AnyConnection,
        f: &RecordFields,
        terms: &AgreementTerms,
        errors: &mut ValidationError,
    ) -> Result<()> {
        let provider = self.provider_id(c).await?;
        let org = match f.organization_id {
            Some(o) => people::organization(c, o).await?,
            None => None,
        };
        let wanted = match terms.agreement_type {
            AgreementType::ServiceLevelAgreement => "customer",
            AgreementType::OperationalLevelAgreement => "provider",
            AgreementType::UnderpinningContract => "supplier",
        };
        match org {
            Some(o) if o.kind == wanted => {}
            Some(o) => errors.add(
                "organization_id",
                format!(
                    "{} is a {} organization; a {} is with a {wanted}",
                    o.name,
                    o.kind,
                    terms.agreement_type.abbreviation()
                ),
            ),
            None => errors.add("organization_id", "no such organization"),
        }
        let _ = provider;
        match (terms.agreement_type, f.assignment_group_id) {
            (AgreementType::OperationalLevelAgreement, None) => errors.add(
                "assignment_group_id",
                "an operational level agreement is with an assignment group",
            ),
            (AgreementType::OperationalLevelAgreement, Some(g)) => {
                if people::group(c, g).await?.is_none() {
                    errors.add("assignment_group_id", format!("no assignment group {g}"));
                }
            }
            (_, Some(_)) => errors.add(
                "assignment_group_id",
                "only an operational level agreement has a group",
            ),
            (_, None) => {}
        }
        if let Some(owner) = f.assignee_id {
            match people::user(c, owner).await? {
                Some(u) if u.organization_id == provider => {}
                _ => errors.add("owner_id", format!("no staff user {owner}")),
            }
        }
        let mut services: Vec<(String, i64)> = terms
            .service_ids
            .iter()
            .map(|s| ("service_ids".to_owned(), *s))
            .collect();
        let mut calendars: Vec<(String, i64)> = terms
            .calendar_id
            .iter()
            .map(|c| ("calendar_id".to_owned(), *c))
            .collect();
        let mut offerings: Vec<(String, i64, &[i64])> = Vec::new();
        for (i, t) in terms.targets.iter().enumerate() {
            offerings.extend(t.service_offering_ids.iter().map(|o| {
                (
                    format!("targets[{i}].service_offering_ids"),
                    *o,
                    t.service_ids.as_slice(),
                )
            }));
            services.extend(
                t.service_ids
                    .iter()
                    .map(|s| (format!("targets[{i}].service_ids"), *s)),
            );
            calendars.extend(
                t.calendar_id
                    .iter()
                    .map(|c| (format!("targets[{i}].calendar_id"), *c)),
            );
            if !t.record_kind.has_service_levels() {
                errors.add(
                    format!("targets[{i}].record_kind"),
                    format!("{} records have no service levels", t.record_kind.as_str()),
                );
            }
        }
        let ids: Vec<RecordId> = services
            .iter()
            .chain(&calendars)
            .map(|(_, id)| RecordId(*id))
            .chain(offerings.iter().map(|(_, id, _)| RecordId(*id)))
            .collect();
        let found = records::get_many(c, &ids).await?;
        let record = |id: i64| found.iter().find(|v| v.record.id.0 == id).map(|v| &v.record);
        let kind_of = |id: i64| record(id).map(|r| r.kind);
        // An offering narrows its service: it must be an offering of a service the target and the
        // agreement cover, or the target could never apply.
        for (field, id, target_services) in &offerings {
            match record(*id).filter(|r| r.kind == RecordKind::SERVICE_OFFERING) {
                None => errors.add(field.clone(), format!("no service offering {id}")),
                Some(o) => {
                    let covered =
                        |list: &[i64]| list.is_empty() || o.service_id.is_some_and(|s| list.contains(&s.0));
                    if !covered(target_services) || !covered(&terms.service_ids) {
                        errors.add(
                            field.clone(),
                            format!("{id} is an offering of a service the target does not cover"),
                        );
                    }
                }
            }
        }
        for (field, id) in &services {
            if kind_of(*id) != Some(RecordKind::SERVICE) {
                errors.add(field.clone(), format!("no service {id}"));
            }
        }
        for (field, id) in &calendars {
            if kind_of(*id) != Some(RecordKind::CALENDAR) {
                errors.add(field.clone(), format!("no calendar {id}"));
            }
        }
        Ok(())
    }

    /// Creates an agreement (as a draft unless its terms say otherwise) with its targets.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_agreement(&self, ctx: &Ctx, input: AgreementInput) -> Result<RecordView> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let id = self.create_agreement_in(&mut tx, ctx, input, now).await?;
        commit_with_view(tx, id).await
    }

    /// Creates an agreement in the caller's transaction at `now`.
    pub(crate) async fn create_agreement_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        input: AgreementInput,
        now: jiff::Timestamp,
    ) -> Result<RecordId> {
        ctx.require(Permission::ManageServiceLevels)?;
        let mut errors = ValidationError::new();
        let title = required_text(&mut errors, "title", &input.title, 200);
        let description = optional_text(&mut errors, "description", &input.description, 20_000);
        let mut terms = input.terms;
        if let Err(v) = terms.validate() {
            errors.errors.extend(v.errors);
        }
        let provider = self.provider_id(c).await?;
        let organization_id = input
            .organization_id
            .or((terms.agreement_type == AgreementType::OperationalLevelAgreement).then_some(provider));
        let fields = RecordFields {
            organization_id,
            title,
            description,
            state: RecordKind::AGREEMENT.lifecycle().initial.to_owned(),
            assignment_group_id: input.assignment_group_id,
            assignee_id: input.owner_id,
            details: terms.to_details(),
            ..Default::default()
        };
        self.check_agreement(c, &fields, &terms, &mut errors).await?;
        errors.into_result()?;
        let record = self
            .create_record(c, ctx, RecordKind::AGREEMENT, &fields, now)
            .await?;
        Ok(record.id)
    }

    /// Changes an agreement that is still at `expected_version`, then replays the open clocks so
    /// that new targets, validity or state take effect on every record they concern.
    #[tracing::instrument(level = "debug", skip_all, fields(reference))]
    pub async fn update_agreement(
        &self,
        ctx: &Ctx,
        reference: &str,
        expected_version: Option<i64>,
        change: AgreementChange,
    ) -> Result<RecordView> {
        let crate::records::Changing { mut tx, current, now } = self
            .begin_change(ctx, RecordKind::AGREEMENT, reference, expected_version)
            .await?;
        self.update_agreement_in(&mut tx, ctx, &current, change, now)
            .await?;
        commit_with_view(tx, current.id).await
    }

    /// Changes the agreement `current` in the caller's transaction at `now`, and replays the open
    /// clocks.
    pub(crate) async fn update_agreement_in(
        &self,
        tx: &mut AnyConnection,
        ctx: &Ctx,
        current: &itsm_domain::Record,
        change: AgreementChange,
        now: jiff::Timestamp,
    ) -> Result<()> {
        ctx.require(RecordKind::AGREEMENT.access().change)?;
        let reference = current.readable_number().to_string();
        let mut errors = ValidationError::new();
        let mut after = current.fields();
        CommonChange {
            title_field: "title",
            title: change.title.as_deref(),
            description: change.description.as_deref(),
            state: change.state.as_deref(),
        }
        .apply(current, &mut after, &mut errors)?;
        if let Some(o) = change.owner_id {
            after.assignee_id = o;
        }
        if let Some(g) = change.assignment_group_id {
            after.assignment_group_id = g;
        }
        let mut terms = match change.terms {
            Some(t) => t,
            None => AgreementTerms::from_details(&current.details)
                .ok_or_else(|| AppError::Setup(format!("agreement {reference} has unreadable terms")))?,
        };
        if let Err(v) = terms.validate() {
            errors.errors.extend(v.errors);
        }
        after.details = terms.to_details();
        self.check_agreement(tx, &after, &terms, &mut errors).await?;
        errors.into_result()?;
        self.change_record(tx, ctx, current, &after, now).await?;
        self.recompute_in(tx, None, now).await?;
        Ok(())
    }
}
