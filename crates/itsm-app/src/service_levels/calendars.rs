//! Business calendars as records, and the what-if questions asked of one: when is a span of
//! business time due, how much business time lies between two instants.

use itsm_domain::access::Permission;
use itsm_domain::calendar::{BusinessCalendar, CalendarDefinition, Pauses, WorkingHoursDefinition};
use itsm_domain::slm::{self};
use itsm_domain::validation::{optional_text, required_text};
use itsm_domain::{RecordFields, RecordId, RecordKind, ValidationError};
use itsm_storage::records::{self, RecordView};
use itsm_storage::AnyConnection;
use serde_json::Value;

use crate::records::{commit_with_view, resolve, CommonChange};
use crate::{App, AppError, Ctx, Result};

/// A new business calendar.
#[derive(Debug, Clone)]
pub struct CalendarInput {
    pub name: String,
    pub description: String,
    pub definition: CalendarDefinition,
    /// Make it the calendar of targets that name none (the previous default stops being one).
    pub is_default: bool,
}

/// A change to a calendar; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct CalendarChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub time_zone: Option<String>,
    pub working_hours: Option<WorkingHoursDefinition>,
    pub holidays: Option<Vec<String>>,
    pub is_default: Option<bool>,
    pub state: Option<String>,
}

/// A due instant computed on a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueAnswer {
    pub due: jiff::Timestamp,
    /// RFC 3339 with the calendar's offset at that instant.
    pub due_local: String,
    pub time_zone: String,
}

/// Checks pauses and a target for the what-if answers.
fn what_if_pauses(pauses: &[(jiff::Timestamp, jiff::Timestamp)]) -> Result<Pauses> {
    if pauses.len() > 1_000 {
        return Err(ValidationError::field("pauses", "at most 1000 pauses").into());
    }
    Ok(Pauses::new("pauses", pauses)?)
}

impl App {
    /// Creates a business calendar.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_calendar(&self, ctx: &Ctx, input: CalendarInput) -> Result<RecordView> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let id = self.create_calendar_in(&mut tx, ctx, input, now).await?;
        commit_with_view(tx, id).await
    }

    /// Creates a business calendar in the caller's transaction at `now` (the demo loader's way).
    pub(crate) async fn create_calendar_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        input: CalendarInput,
        now: jiff::Timestamp,
    ) -> Result<RecordId> {
        ctx.require(Permission::ManageServiceLevels)?;
        let mut errors = ValidationError::new();
        let title = required_text(&mut errors, "name", &input.name, 200);
        let description = optional_text(&mut errors, "description", &input.description, 20_000);
        let calendar = match BusinessCalendar::new(&input.definition) {
            Ok(c) => Some(c),
            Err(v) => {
                errors.errors.extend(v.errors);
                None
            }
        };
        errors.into_result()?;
        let calendar = calendar.ok_or_else(ValidationError::new)?;
        let provider = self.provider_id(c).await?;
        let fields = RecordFields {
            organization_id: Some(provider),
            title,
            description,
            state: RecordKind::CALENDAR.lifecycle().initial.to_owned(),
            details: slm::calendar_details(&calendar, input.is_default),
            ..Default::default()
        };
        if input.is_default {
            self.clear_default_calendar(c, ctx, None, now).await?;
        }
        let record = self
            .create_record(c, ctx, RecordKind::CALENDAR, &fields, now)
            .await?;
        if input.is_default {
            self.recompute_in(c, None, now).await?;
        }
        Ok(record.id)
    }

    async fn clear_default_calendar(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        except: Option<RecordId>,
        now: jiff::Timestamp,
    ) -> Result<()> {
        for v in records::all_of_kinds(c, &[RecordKind::CALENDAR], 100_000).await? {
            let r = v.record;
            if Some(r.id) == except || !slm::is_default_calendar(&r) {
                continue;
            }
            let mut after = r.fields();
            after
                .details
                .insert(slm::CALENDAR_IS_DEFAULT.into(), Value::Bool(false));
            self.change_record(c, ctx, &r, &after, now).await?;
        }
        Ok(())
    }

    /// Changes a calendar that is still at `expected_version`, then replays the open clocks, so
    /// every figure follows the new working time (earlier pauses kept: they come from history).
    #[tracing::instrument(level = "debug", skip_all, fields(reference))]
    pub async fn update_calendar(
        &self,
        ctx: &Ctx,
        reference: &str,
        expected_version: Option<i64>,
        change: CalendarChange,
    ) -> Result<RecordView> {
        let crate::records::Changing { mut tx, current, now } = self
            .begin_change(ctx, RecordKind::CALENDAR, reference, expected_version)
            .await?;
        let mut errors = ValidationError::new();
        let mut after = current.fields();
        CommonChange {
            title_field: "name",
            title: change.name.as_deref(),
            description: change.description.as_deref(),
            state: change.state.as_deref(),
        }
        .apply(&current, &mut after, &mut errors)?;
        let was_default = slm::is_default_calendar(&current);
        let is_default = change.is_default.unwrap_or(was_default);
        let definition = slm::calendar_of(&current).map(|(c, _)| {
            let mut d = c.definition().clone();
            if let Some(tz) = change.time_zone {
                d.time_zone = tz;
            }
            if let Some(w) = change.working_hours {
                d.working_hours = w;
            }
            if let Some(h) = change.holidays {
                d.holidays = h;
            }
            d
        });
        match definition.as_ref().map(BusinessCalendar::new) {
            Some(Ok(cal)) => after.details = slm::calendar_details(&cal, is_default),
            Some(Err(v)) => errors.errors.extend(v.errors),
            None => errors.add("time_zone", "the stored calendar is unreadable"),
        }
        errors.into_result()?;
        if is_default && !was_default {
            self.clear_default_calendar(&mut tx, ctx, Some(current.id), now)
                .await?;
        }
        self.change_record(&mut tx, ctx, &current, &after, now).await?;
        self.recompute_in(&mut tx, None, now).await?;
        commit_with_view(tx, current.id).await
    }

    /// A stored calendar, ready for computations.
    #[tracing::instrument(level = "debug", skip_all, fields(reference))]
    pub async fn calendar(&self, ctx: &Ctx, reference: &str) -> Result<(RecordView, BusinessCalendar)> {
        ctx.require(Permission::ReadRecords)?;
        let mut c = self.store().read().await?;
        let view = resolve(self, &mut c, ctx, RecordKind::CALENDAR, reference).await?;
        let (cal, _) = slm::calendar_of(&view.record)
            .ok_or_else(|| AppError::Setup(format!("calendar {reference} does not validate")))?;
        Ok((view, cal))
    }

    /// When a target of `minutes` business minutes started at `start` is due on a calendar.
    #[tracing::instrument(level = "debug", skip_all, fields(reference))]
    pub async fn calendar_due(
        &self,
        ctx: &Ctx,
        reference: &str,
        start: jiff::Timestamp,
        minutes: i64,
        pauses: &[(jiff::Timestamp, jiff::Timestamp)],
    ) -> Result<DueAnswer> {
        let (_, cal) = self.calendar(ctx, reference).await?;
        due_on(&cal, start, minutes, pauses)
    }

    /// Business time between two instants on a calendar, in microseconds.
    #[tracing::instrument(level = "debug", skip_all, fields(reference))]
    pub async fn calendar_elapsed(
        &self,
        ctx: &Ctx,
        reference: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        pauses: &[(jiff::Timestamp, jiff::Timestamp)],
    ) -> Result<i64> {
        let (_, cal) = self.calendar(ctx, reference).await?;
        elapsed_on(&cal, from, to, pauses)
    }
}

/// The largest target a what-if question may ask about.
const MAX_WHAT_IF_MINUTES: i64 = 10 * 366 * 24 * 60;

/// The due answer on a calendar given directly (the CLI reads one from a file).
pub fn due_on(
    cal: &BusinessCalendar,
    start: jiff::Timestamp,
    minutes: i64,
    pauses: &[(jiff::Timestamp, jiff::Timestamp)],
) -> Result<DueAnswer> {
    if minutes < 0 {
        return Err(ValidationError::field("business_minutes", "must not be negative").into());
    }
    if minutes > MAX_WHAT_IF_MINUTES {
        return Err(ValidationError::field(
            "business_minutes",
            format!("must be at most {MAX_WHAT_IF_MINUTES} (ten years of round-the-clock minutes)"),
        )
        .into());
    }
    let pauses = what_if_pauses(pauses)?;
    let due = cal
        .due(start, minutes, &pauses)
        .map_err(|e| ValidationError::field("business_minutes", e.to_string()))?;
    Ok(DueAnswer {
        due,
        due_local: cal.format(due),
        time_zone: cal.definition().time_zone.clone(),
    })
}

/// The elapsed answer on a calendar given directly.
pub fn elapsed_on(
    cal: &BusinessCalendar,
    from: jiff::Timestamp,
    to: jiff::Timestamp,
    pauses: &[(jiff::Timestamp, jiff::Timestamp)],
) -> Result<i64> {
    if to < from {
        return Err(ValidationError::field("to", "is before from").into());
    }
    // A calendar looks no further than its horizon; past it there is no answer, not a smaller one.
    let horizon = jiff::SignedDuration::from_hours(24 * i64::from(itsm_domain::calendar::HORIZON_DAYS));
    if to.duration_since(from) > horizon {
        return Err(ValidationError::field(
            "to",
            format!(
                "must be at most {} days after from",
                itsm_domain::calendar::HORIZON_DAYS
            ),
        )
        .into());
    }
    let pauses = what_if_pauses(pauses)?;
    Ok(cal.elapsed_micros(from.as_microsecond(), to.as_microsecond(), &pauses))
}
