//! Services, their offerings and configuration items, as the provider keeps them.

use itsm_domain::access::Permission;
use itsm_domain::validation::{optional_text, required_text};

use itsm_domain::{RecordFields, RecordId, RecordKind, ValidationError};
use itsm_storage::records::{self, RecordView};

use super::resolve::{commit_with_view, Changing, CommonChange};
use crate::{App, AppError, Ctx, Result};

impl App {
    /// Creates a service, a service offering (of the service `service_id`, which only offerings
    /// have) or a configuration item: a plain record for now, until the catalogue and the CMDB give
    /// them their own fields.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind))]
    pub async fn create_catalogue_item(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        name: &str,
        description: &str,
        service_id: Option<RecordId>,
    ) -> Result<RecordView> {
        ctx.require(Permission::ManageCatalogue)?;
        if !kind.is_catalogue_item() {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationError::new();
        let title = required_text(&mut errors, "name", name, 200);
        let description = optional_text(&mut errors, "description", description, 20_000);
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let offering = kind == RecordKind::SERVICE_OFFERING;
        match service_id {
            None if offering => errors.add("service_id", "an offering belongs to a service"),
            Some(s) if offering => match records::get(&mut tx, s).await? {
                Some(v) if v.record.kind == RecordKind::SERVICE => {}
                _ => errors.add("service_id", format!("no service {s}")),
            },
            Some(_) => errors.add("service_id", "only a service offering belongs to a service"),
            None => {}
        }
        errors.into_result()?;
        let provider = self.provider_id(&mut tx).await?;
        let fields = RecordFields {
            organization_id: Some(provider),
            title,
            description,
            state: kind.lifecycle().initial.to_owned(),
            service_id,
            ..Default::default()
        };
        let record = self.create_record(&mut tx, ctx, kind, &fields, now).await?;
        commit_with_view(tx, record.id).await
    }
}

/// A change to a service or configuration item; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct CatalogueChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub state: Option<String>,
    /// Services only: the business calendar their targets run on unless a target names its own
    /// (`Some(None)` clears it).
    pub calendar_id: Option<Option<itsm_domain::RecordId>>,
}

/// The `details` key of a service's calendar.
pub const SERVICE_CALENDAR: &str = "calendar_id";

impl App {
    /// Changes a service or a configuration item that is still at `expected_version`. A service's
    /// calendar change replays the open SLA clocks.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn update_catalogue_item(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
        expected_version: Option<i64>,
        change: CatalogueChange,
    ) -> Result<RecordView> {
        ctx.require(Permission::ManageCatalogue)?;
        if !kind.is_catalogue_item() {
            return Err(AppError::Forbidden);
        }
        // A service's calendar moves SLA figures: the same permission as changing a calendar.
        if change.calendar_id.is_some() {
            ctx.require(Permission::ManageServiceLevels)?;
        }
        let Changing { mut tx, current, now } =
            self.begin_change(ctx, kind, reference, expected_version).await?;
        let mut errors = ValidationError::new();
        let mut after = current.fields();
        CommonChange {
            title_field: "name",
            title: change.name.as_deref(),
            description: change.description.as_deref(),
            state: change.state.as_deref(),
        }
        .apply(&current, &mut after, &mut errors)?;
        let calendar_changed = match change.calendar_id {
            Some(_) if kind != RecordKind::SERVICE => {
                errors.add("calendar_id", "only services have a calendar");
                false
            }
            Some(Some(cal)) => {
                match records::get(&mut tx, cal).await? {
                    Some(v) if v.record.kind == RecordKind::CALENDAR => {}
                    _ => errors.add("calendar_id", format!("no calendar {cal}")),
                }
                after.details.insert(SERVICE_CALENDAR.into(), cal.0.into());
                current.detail_i64(SERVICE_CALENDAR) != Some(cal.0)
            }
            Some(None) => after.details.remove(SERVICE_CALENDAR).is_some(),
            None => false,
        };
        errors.into_result()?;
        self.change_record(&mut tx, ctx, &current, &after, now).await?;
        if calendar_changed {
            self.recompute_in(&mut tx, None, now).await?;
        }
        commit_with_view(tx, current.id).await
    }
}
