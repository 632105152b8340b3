//! The periodic job: warnings and breaches that fell due, recorded once each, and the outbox they
//! feed.

use std::collections::HashMap;

use itsm_domain::access::Permission;
use itsm_domain::{Record, RecordId};
use itsm_storage::audit::{self, NewEvent, Subject};
use itsm_storage::records::{self};
use itsm_storage::sla::{self as store, Notice};
use itsm_storage::AnyConnection;
use serde_json::json;

use super::clock::ComputedClock;
use crate::{App, Ctx, Result};

impl App {
    /// Finds clocks with a warning or breach due, records each once in the record's history and the
    /// outbox, and schedules the next look. Safe to run from several processes at once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn run_sla_jobs(&self, limit: u32) -> Result<JobReport> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let ids = store::claim_due_notices(&mut tx, now, limit).await?;
        if ids.is_empty() {
            tx.commit().await?;
            return Ok(JobReport::default());
        }
        let views = records::get_many(&mut tx, &ids).await?;
        let batch: Vec<Record> = views.into_iter().map(|v| v.record).collect();
        let report = self.notice_due(&mut tx, &batch, now).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Replays the clocks of some records at `now` and records every threshold they crossed by then
    /// that is not recorded yet: warnings and breach while running, and those crossed before a stop.
    pub(crate) async fn notice_due(
        &self,
        c: &mut AnyConnection,
        batch: &[Record],
        now: jiff::Timestamp,
    ) -> Result<JobReport> {
        let each: Vec<(&Record, jiff::Timestamp)> = batch.iter().map(|r| (r, now)).collect();
        self.notice_due_each(c, &each).await
    }

    /// [`App::notice_due`] with an instant of its own for each record, in a fixed number of
    /// statements whatever the number of records and notices.
    pub(crate) async fn notice_due_each(
        &self,
        c: &mut AnyConnection,
        batch: &[(&Record, jiff::Timestamp)],
    ) -> Result<JobReport> {
        let ctx = Ctx::system();
        let mut report = JobReport {
            records: batch.len(),
            ..JobReport::default()
        };
        let computed = self.refresh_clocks(c, batch, true).await?;
        let config = self.sla_config(c).await?;
        let mut candidates: Vec<(&ComputedClock, Notice)> = Vec::new();
        let mut next = Vec::new();
        for cc in &computed {
            // A clock is computed at its record's instant.
            let now = cc.row.computed_at;
            if let Some(started_at) = cc.clock.started_at {
                for (percent, due_at) in cc.thresholds.iter().copied().filter(|(_, t)| *t <= now) {
                    let notice = Notice {
                        record_id: cc.row.record_id,
                        agreement_id: cc.row.agreement_id,
                        target_key: cc.row.target_key.clone(),
                        started_at,
                        percent,
                        due_at,
                        recorded_at: now,
                    };
                    candidates.push((cc, notice));
                }
            }
            let upcoming = cc.thresholds.iter().map(|(_, t)| *t).filter(|t| *t > now).min();
            next.push((
                cc.row.record_id,
                cc.row.agreement_id,
                cc.row.target_key.as_str(),
                upcoming,
            ));
        }
        let notices: Vec<Notice> = candidates.iter().map(|(_, n)| n.clone()).collect();
        let recorded = store::insert_notices(c, &notices).await?;
        let fresh: Vec<&(&ComputedClock, Notice)> = candidates
            .iter()
            .zip(&recorded)
            .filter(|(_, r)| **r)
            .map(|(n, _)| n)
            .collect();
        let agreement_number = |id: RecordId| {
            config
                .agreements
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.number.clone())
                .unwrap_or_default()
        };
        let summaries: Vec<(&'static str, &'static str, String)> = fresh
            .iter()
            .map(|(cc, n)| {
                let when = cc.calendar.calendar.format(n.due_at);
                let agreement = agreement_number(n.agreement_id);
                if n.percent >= 100 {
                    (
                        SLA_BREACHED,
                        "sla.breached",
                        format!(
                            "SLA breached: \"{}\" ({agreement}) was due at {when}",
                            cc.row.target_name
                        ),
                    )
                } else {
                    (
                        SLA_WARNED,
                        "sla.warning",
                        format!(
                            "SLA warning: {}% of \"{}\" ({agreement}) used at {when}",
                            n.percent, cc.row.target_name
                        ),
                    )
                }
            })
            .collect();
        let events: Vec<NewEvent> = fresh
            .iter()
            .zip(&summaries)
            .map(|((_, n), (action, _, summary))| NewEvent {
                subject: Subject::Record(n.record_id),
                action,
                actor: ctx.user_id(),
                at: n.recorded_at,
                request_id: ctx.request_id.as_deref(),
                summary: summary.clone(),
                changes: &[],
            })
            .collect();
        let event_ids = audit::write_many(c, &events).await?;
        let links: Vec<(&Notice, i64)> = fresh.iter().map(|(_, n)| n).zip(event_ids).collect();
        store::set_notice_events(c, &links).await?;
        let numbers: HashMap<RecordId, String> = batch
            .iter()
            .map(|(r, _)| (r.id, r.readable_number().to_string()))
            .collect();
        let outbox: Vec<store::NewOutboxEvent> = fresh
            .iter()
            .zip(&summaries)
            .map(|((cc, n), (_, topic, _))| {
                let number = numbers.get(&n.record_id).cloned().unwrap_or_default();
                store::NewOutboxEvent {
                    topic,
                    record: Some(n.record_id),
                    payload: json!({
                        "record_id": n.record_id.0,
                        "record": number,
                        "agreement_id": n.agreement_id.0,
                        "agreement": agreement_number(n.agreement_id),
                        "target": cc.row.target_name,
                        "metric": cc.row.metric,
                        "percent": n.percent,
                        "due_at": n.due_at.to_string(),
                    }),
                    at: n.recorded_at,
                }
            })
            .collect();
        store::enqueue(c, &outbox).await?;
        for (_, n) in &fresh {
            if n.percent >= 100 {
                report.breaches += 1;
            } else {
                report.warnings += 1;
            }
        }
        store::set_next_notices(c, &next).await?;
        Ok(report)
    }

    /// The events queued for notifications, after `after`; for administrators and integrations.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn outbox(&self, ctx: &Ctx, after: i64, limit: u32) -> Result<Vec<store::OutboxEvent>> {
        ctx.require(Permission::ManageServiceLevels)?;
        let mut c = self.store().read().await?;
        Ok(store::outbox(&mut c, after, limit).await?)
    }
}

/// The history action of a warning the SLA job recorded.
pub const SLA_WARNED: &str = "sla_warning";
/// The history action of a breach the SLA job recorded.
pub const SLA_BREACHED: &str = "sla_breached";
/// The history actions of the SLA job's notices: the provider's own signals.
pub const SLA_NOTICES: [&str; 2] = [SLA_WARNED, SLA_BREACHED];

/// What one run of the SLA job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobReport {
    pub records: usize,
    pub warnings: usize,
    pub breaches: usize,
}
