//! How service level management takes part in record writes (see [`crate::hooks`]): the clocks
//! of records measured against targets start with the record and follow each change; a change to
//! a calendar, an agreement or a service's calendar makes every node read the configuration again;
//! a first public reply by staff is the first response.

use itsm_domain::catalogue::SERVICE_CALENDAR;
use itsm_domain::{Record, RecordKind};
use itsm_storage::AnyConnection;

use crate::hooks::{Changed, Creating, HookFuture, RecordHook};
use crate::{App, Ctx};

/// SLA clocks, for kinds measured against service level targets.
pub(crate) struct ClockHook;

impl RecordHook for ClockHook {
    fn serves(&self, kind: RecordKind) -> bool {
        kind.has_service_levels()
    }

    /// The configuration's version, so the cached agreements are known to be current.
    fn read_with_ids(&self) -> Option<&'static str> {
        Some(itsm_storage::sla::CONFIG_VERSION)
    }

    /// Computes the first clocks and writes them with the records: their queue columns in the
    /// records' rows, the clock rows in the same statement.
    fn creating<'a>(
        &'a self,
        app: &'a App,
        c: &'a mut AnyConnection,
        w: &'a mut Creating<'_>,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            let Some(version) = w.read else {
                return Ok(());
            };
            let (queue, rows) = app.first_clocks(c, w.records.records(), version).await?;
            itsm_storage::sla::set_new_clocks(w.records, &queue, &rows);
            itsm_storage::sla::add_clock_rows(w.inserts, &rows);
            w.queue.extend(queue.into_iter().map(|r| (r.id, r.queue)));
            Ok(())
        })
    }

    /// Replays the clocks of the changed records.
    fn changed<'a>(
        &'a self,
        app: &'a App,
        c: &'a mut AnyConnection,
        changed: &'a [Changed<'a>],
    ) -> HookFuture<'a> {
        Box::pin(async move {
            let records: Vec<(&Record, jiff::Timestamp)> = changed.iter().map(|x| (x.record, x.at)).collect();
            app.refresh_clocks(c, &records, false).await?;
            Ok(())
        })
    }
}

/// The service level configuration's version, for kinds that make it up.
pub(crate) struct ConfigurationHook;

impl ConfigurationHook {
    async fn bump_if_any(
        c: &mut AnyConnection,
        mut kinds: impl Iterator<Item = RecordKind>,
    ) -> crate::Result<()> {
        if kinds.any(|k| k.capabilities().service_level_configuration) {
            itsm_storage::sla::bump_config_version(c).await?;
        }
        Ok(())
    }
}

impl RecordHook for ConfigurationHook {
    fn serves(&self, kind: RecordKind) -> bool {
        kind.capabilities().service_level_configuration
    }

    fn created<'a>(
        &'a self,
        _app: &'a App,
        c: &'a mut AnyConnection,
        records: &'a [Record],
    ) -> HookFuture<'a> {
        Box::pin(Self::bump_if_any(c, records.iter().map(|r| r.kind)))
    }

    fn changed<'a>(
        &'a self,
        _app: &'a App,
        c: &'a mut AnyConnection,
        changed: &'a [Changed<'a>],
    ) -> HookFuture<'a> {
        Box::pin(Self::bump_if_any(c, changed.iter().map(|x| x.record.kind)))
    }
}

/// The open SLA clocks, replayed when a catalogue item that names the business calendar its
/// targets run on (a service) names another: every clock of the records it is the service of may
/// move. (Calendars and agreements replay the clocks in their own use cases, on every change.)
pub(crate) struct ServiceCalendarHook;

impl RecordHook for ServiceCalendarHook {
    fn serves(&self, kind: RecordKind) -> bool {
        kind.is_catalogue_item() && kind.field(SERVICE_CALENDAR).is_some()
    }

    fn changed<'a>(
        &'a self,
        app: &'a App,
        c: &'a mut AnyConnection,
        changed: &'a [Changed<'a>],
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if let Some(x) = changed.iter().find(|x| x.touched(SERVICE_CALENDAR)) {
                app.recompute_in(c, None, x.at).await?;
            }
            Ok(())
        })
    }
}

/// The first response, for kinds measured against service level targets: staff's first public
/// reply counts, as much as moving the record along does.
pub(crate) struct FirstResponseHook;

impl RecordHook for FirstResponseHook {
    fn serves(&self, kind: RecordKind) -> bool {
        kind.has_service_levels()
    }

    fn commented<'a>(
        &'a self,
        app: &'a App,
        c: &'a mut AnyConnection,
        ctx: &'a Ctx,
        record: &'a Record,
        internal: bool,
        at: jiff::Timestamp,
    ) -> HookFuture<'a> {
        Box::pin(async move {
            if internal || !ctx.is_staff() {
                return Ok(());
            }
            if let Some(after) = itsm_domain::incident::note_public_reply(record, at) {
                app.change_record(c, ctx, record, &after, at).await?;
            }
            Ok(())
        })
    }
}
