//! Service level management use cases: business calendars and their what-if answers, agreements and
//! their targets, the SLA clocks of every measured record (replayed from its history whenever it or
//! the agreements change), and the background job that records warnings and breaches once.

mod hooks;

pub(crate) use hooks::{ClockHook, ConfigurationHook, FirstResponseHook};

use std::collections::HashMap;
use std::sync::Arc;

use itsm_domain::access::Permission;
use itsm_domain::calendar::{BusinessCalendar, CalendarDefinition, Pauses, WorkingHoursDefinition};
use itsm_domain::sla::{self, Clock, ClockEvent, ClockEventKind, ClockStatus, Segment};
use itsm_domain::slm::{self, Agreement, AgreementTerms, AgreementType, RecordFacts};
use itsm_domain::validation::{optional_text, required_text};
use itsm_domain::{
    GroupId, OrganizationId, Record, RecordFields, RecordId, RecordKind, UserId, ValidationError,
};
use itsm_storage::audit::{self, NewEvent, Subject};
use itsm_storage::records::{self, QueueClock, RecordView};
use itsm_storage::sla::{self as store, ClockRow, Notice, TransitionRow};
use itsm_storage::{people, AnyConnection};
use serde_json::{json, Value};

use crate::records::{commit_with_view, resolve, CommonChange};
use crate::{App, AppError, Ctx, Result};

/// The calendar used when neither a target, its agreement nor the settings name one.
fn round_the_clock() -> Option<BusinessCalendar> {
    BusinessCalendar::new(&CalendarDefinition {
        time_zone: "UTC".into(),
        working_hours: WorkingHoursDefinition::Named("24x7".into()),
        holidays: vec![],
    })
    .ok()
}

/// A calendar as the clocks use it, with what explanations show of it.
#[derive(Debug)]
pub struct CalendarEntry {
    pub id: Option<RecordId>,
    pub name: String,
    pub calendar: BusinessCalendar,
}

/// Agreements and calendars as clocks need them, read once and kept until one of them changes.
#[derive(Debug)]
pub(crate) struct SlaConfig {
    version: i64,
    agreements: Vec<Agreement>,
    calendars: HashMap<RecordId, Arc<CalendarEntry>>,
    /// Services that name their own calendar.
    service_calendars: HashMap<RecordId, RecordId>,
    default_calendar: Option<Arc<CalendarEntry>>,
    fallback: Arc<CalendarEntry>,
    /// Kinds some active target measures.
    kinds: Vec<RecordKind>,
}

impl SlaConfig {
    /// The calendar a clock runs on: the target's, else the record's service's, else the agreement's
    /// (which is the customer's), else the default one, else round the clock.
    fn calendar_for(
        &self,
        agreement: &Agreement,
        target_calendar: Option<i64>,
        service: Option<RecordId>,
    ) -> Arc<CalendarEntry> {
        let pick = |id: Option<RecordId>| id.and_then(|id| self.calendars.get(&id).cloned());
        pick(target_calendar.map(RecordId))
            .or_else(|| pick(service.and_then(|s| self.service_calendars.get(&s).copied())))
            .or_else(|| pick(agreement.terms.calendar_id.map(RecordId)))
            .or_else(|| self.default_calendar.clone())
            .unwrap_or_else(|| self.fallback.clone())
    }
}

/// A clock replayed for a record and one target.
#[derive(Debug, Clone)]
pub struct ComputedClock {
    pub row: ClockRow,
    pub clock: Clock,
    pub calendar: Arc<CalendarEntry>,
    /// The warnings (and the breach at 100) this clock still reports, with the instant each falls due.
    pub thresholds: Vec<(u32, jiff::Timestamp)>,
}

/// What the clocks need to know of a record, from a loaded record or a batch of clock inputs.
struct ClockSubject {
    id: RecordId,
    kind: RecordKind,
    organization_id: OrganizationId,
    service_id: Option<RecordId>,
    service_offering_id: Option<RecordId>,
    priority: Option<i16>,
    assignment_group_id: Option<GroupId>,
    created_at: jiff::Timestamp,
    first_response_at: Option<jiff::Timestamp>,
}

impl From<&Record> for ClockSubject {
    fn from(r: &Record) -> ClockSubject {
        ClockSubject {
            id: r.id,
            kind: r.kind,
            organization_id: r.organization_id,
            service_id: r.service_id,
            service_offering_id: r.service_offering_id(),
            priority: r.priority,
            assignment_group_id: r.assignment_group_id,
            created_at: r.created_at,
            first_response_at: r.detail_str("first_response_at").and_then(|s| s.parse().ok()),
        }
    }
}

impl From<&store::ClockInput> for ClockSubject {
    fn from(r: &store::ClockInput) -> ClockSubject {
        ClockSubject {
            id: r.id,
            kind: r.kind,
            organization_id: r.organization_id,
            service_id: r.service_id,
            service_offering_id: r.service_offering_id,
            priority: r.priority,
            assignment_group_id: r.assignment_group_id,
            created_at: r.created_at,
            first_response_at: r.first_response_at,
        }
    }
}

/// A digest of what a replay computed for one record: its queue clock and every field of its clock
/// rows but two. The elapsed time of a running clock grows by itself (stored, it is the figure as
/// of `computed_at`), so neither is part of it. A fixed encoding mixed eight bytes at a time, so
/// every node and every release computes the same number for the same clocks (a hash of the
/// standard library may change between releases); it detects change, it is not a secret.
fn fingerprint(queue: &QueueClock, clocks: &[ComputedClock]) -> i64 {
    struct Digest(u64);
    impl Digest {
        fn word(&mut self, w: u64) {
            self.0 = (self.0 ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31);
        }
        fn int(&mut self, v: Option<i64>) {
            match v {
                Some(v) => {
                    self.word(1);
                    self.word(u64::from_le_bytes(v.to_le_bytes()));
                }
                None => self.word(0),
            }
        }
        fn text(&mut self, v: Option<&str>) {
            let Some(v) = v else {
                return self.word(0);
            };
            self.word(2 + v.len() as u64);
            for chunk in v.as_bytes().chunks(8) {
                let mut buf = [0u8; 8];
                if let Some(head) = buf.get_mut(..chunk.len()) {
                    head.copy_from_slice(chunk);
                }
                self.word(u64::from_le_bytes(buf));
            }
        }
        fn instant(&mut self, v: Option<jiff::Timestamp>) {
            self.int(v.map(jiff::Timestamp::as_microsecond));
        }
    }
    let mut h = Digest(0xcbf2_9ce4_8422_2325);
    h.text(queue.status.as_deref());
    h.instant(queue.due_at);
    h.instant(queue.warn_at);
    for c in clocks {
        let r = &c.row;
        let moving = r.stopped_at.is_none() && r.status != "paused";
        h.int(Some(r.agreement_id.0));
        h.text(Some(&r.target_key));
        h.text(Some(&r.agreement_type));
        h.text(Some(&r.metric));
        h.text(Some(&r.target_name));
        h.int(r.calendar_id.map(|c| c.0));
        h.text(Some(&r.status));
        h.int(Some(r.target_micros));
        h.int((!moving).then_some(r.elapsed_micros));
        h.instant(r.started_at);
        h.instant(r.stopped_at);
        h.instant(r.due_at);
        h.instant(r.next_notice_at);
        h.text(Some(&r.reason));
    }
    // A final mix spreads the last words over every bit; stored as a signed integer, same bits.
    let mut x = h.0;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    i64::from_le_bytes(x.to_le_bytes())
}

/// A record's queue clock and fingerprint, as a replay stores them on the record, with the clocks
/// it had before.
fn replayed(id: RecordId, clocks: &[ComputedClock], previous: Vec<store::ClockKey>) -> store::ReplayedRecord {
    let queue = queue_clock(clocks);
    store::ReplayedRecord {
        id,
        fingerprint: fingerprint(&queue, clocks),
        queue,
        previous,
    }
}

/// What a record's history says to its clocks.
fn events_of(record: &ClockSubject, transitions: &[TransitionRow]) -> Vec<ClockEvent> {
    let mut events: Vec<ClockEvent> = transitions
        .iter()
        .map(|t| ClockEvent {
            at: t.at,
            what: ClockEventKind::State {
                state: t.to_state.clone(),
                reason: t.reason.clone(),
            },
        })
        .collect();
    if let Some(at) = record.first_response_at {
        // Stable: a response at the same instant as a state change comes after it.
        let pos = events.partition_point(|e| e.at <= at);
        events.insert(
            pos,
            ClockEvent {
                at,
                what: ClockEventKind::FirstResponse,
            },
        );
    }
    events
}

/// Replays every clock of one record: pure, so recomputing many records is a loop over memory.
fn compute(
    config: &SlaConfig,
    record: &ClockSubject,
    transitions: &[TransitionRow],
    now: jiff::Timestamp,
) -> Vec<ComputedClock> {
    let facts = RecordFacts {
        kind: record.kind,
        organization_id: record.organization_id,
        service_id: record.service_id,
        service_offering_id: record.service_offering_id,
        priority: record.priority,
        assignment_group_id: record.assignment_group_id,
        logged_on: record.created_at.to_zoned(jiff::tz::TimeZone::UTC).date(),
    };
    let events = events_of(record, transitions);
    let mut out = Vec::new();
    for sel in slm::select_targets(&config.agreements, &facts) {
        let Some(agreement) = config.agreements.iter().find(|a| a.id == sel.agreement_id) else {
            continue;
        };
        let Some(target) = agreement.terms.targets.iter().find(|t| t.key == sel.target_key) else {
            continue;
        };
        let entry = config.calendar_for(agreement, target.calendar_id, record.service_id);
        let Ok(clock) = sla::replay(&target.rules(), &entry.calendar, target.minutes, &events, now) else {
            tracing::warn!(
                record = record.id.0,
                calendar = entry.name,
                "calendar has no working time"
            );
            continue;
        };
        // Every threshold the clock crosses while it runs: all of them while it is running; those
        // it crossed before it stopped once it has (a job that ran late still records them).
        let mut thresholds = Vec::new();
        let crossed_by = if clock.is_running() {
            Some(jiff::Timestamp::MAX)
        } else if let Some(since) = clock.paused_since() {
            Some(since)
        } else if matches!(clock.status, ClockStatus::Met | ClockStatus::Breached) {
            clock.stopped_at
        } else {
            None
        };
        if let Some(limit) = crossed_by {
            let percents: Vec<u32> = target.warnings.iter().copied().chain([100]).collect();
            let instants = clock.instants_at_percents(&entry.calendar, &percents);
            for (p, t) in percents.into_iter().zip(instants) {
                if let Some(t) = t.filter(|t| *t <= limit) {
                    thresholds.push((p, t));
                }
            }
        }
        let row = ClockRow {
            record_id: record.id,
            agreement_id: agreement.id,
            target_key: target.key.clone(),
            agreement_type: agreement.terms.agreement_type.as_str().to_owned(),
            metric: target.metric.as_str().to_owned(),
            target_name: target.name.clone(),
            calendar_id: entry.id,
            status: clock.status.as_str().to_owned(),
            target_micros: clock.target_micros,
            elapsed_micros: clock.elapsed_micros,
            started_at: clock.started_at,
            stopped_at: clock.stopped_at,
            due_at: clock.due,
            next_notice_at: thresholds.iter().map(|(_, t)| *t).min(),
            reason: sel.reason,
            computed_at: now,
        };
        out.push(ComputedClock {
            row,
            clock,
            calendar: entry,
            thresholds,
        });
    }
    out
}

/// The clock a queue shows: the running one due soonest; else a paused one; else how it ended.
fn queue_clock(clocks: &[ComputedClock]) -> QueueClock {
    let breached = |c: &ComputedClock| c.clock.elapsed_micros > c.clock.target_micros;
    let running = clocks
        .iter()
        .filter(|c| c.clock.is_running())
        .min_by_key(|c| c.clock.due.map(|d| d.as_microsecond()).unwrap_or(i64::MAX));
    if let Some(c) = running {
        return QueueClock {
            status: Some(if breached(c) { "breached" } else { "running" }.to_owned()),
            due_at: c.clock.due,
            warn_at: c
                .thresholds
                .iter()
                .filter(|(p, _)| *p < 100)
                .map(|(_, t)| *t)
                .min(),
        };
    }
    if clocks
        .iter()
        .any(|c| c.clock.status == ClockStatus::Paused || (breached(c) && c.clock.stopped_at.is_none()))
    {
        return QueueClock {
            status: Some(
                if clocks.iter().any(breached) {
                    "breached"
                } else {
                    "paused"
                }
                .to_owned(),
            ),
            due_at: None,
            warn_at: None,
        };
    }
    let ended: Vec<&ComputedClock> = clocks
        .iter()
        .filter(|c| matches!(c.clock.status, ClockStatus::Met | ClockStatus::Breached))
        .collect();
    QueueClock {
        status: (!ended.is_empty()).then(|| {
            if ended.iter().any(|c| breached(c)) {
                "breached"
            } else {
                "met"
            }
            .to_owned()
        }),
        due_at: None,
        warn_at: None,
    }
}

/// Replays a batch and keeps what changed: a replay whose fingerprint matches the stored one writes
/// nothing. Each record comes with the version it was read at.
type Replayed = (Vec<(store::ReplayedRecord, i64)>, Vec<ClockRow>);

fn replay_batch(config: &SlaConfig, batch: &[store::ClockInput], now: jiff::Timestamp) -> Replayed {
    let mut records = Vec::new();
    let mut rows = Vec::new();
    for input in batch {
        let clocks = compute(config, &ClockSubject::from(input), &input.transitions, now);
        let replay = replayed(input.id, &clocks, input.clock_keys.clone());
        if input.fingerprint != Some(replay.fingerprint) {
            records.push((replay, input.version));
            rows.extend(clocks.into_iter().map(|cc| cc.row));
        }
    }
    (records, rows)
}

/// What a recomputation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recomputed {
    /// Records whose clocks were replayed.
    pub records: usize,
    /// Those whose stored clocks the replay changed (the others were written nothing).
    pub changed: usize,
}

/// How many records a recomputation reads and writes at a time.
const RECOMPUTE_BATCH: u32 = 1_000;

impl App {
    /// Whether records of this kind can have SLA clocks.
    pub(crate) fn measures(&self, kind: RecordKind) -> bool {
        kind.has_service_levels()
    }

    /// Agreements and calendars, from the cache unless one of them changed (on any node): every change
    /// to one bumps a version row in its transaction, and this reads that row.
    pub(crate) async fn sla_config(&self, c: &mut AnyConnection) -> Result<Arc<SlaConfig>> {
        self.sla_config_at(c, None).await
    }

    /// [`App::sla_config`] when the caller has read the version already.
    pub(crate) async fn sla_config_at(
        &self,
        c: &mut AnyConnection,
        version: Option<i64>,
    ) -> Result<Arc<SlaConfig>> {
        let kinds = [RecordKind::AGREEMENT, RecordKind::CALENDAR, RecordKind::SERVICE];
        let version = match version {
            Some(v) => v,
            None => store::config_version(c).await?,
        };
        if let Ok(guard) = self.inner.sla_config.read() {
            if let Some(cfg) = guard.as_ref().filter(|cfg| cfg.version == version) {
                return Ok(cfg.clone());
            }
        }
        let all = records::all_of_kinds(c, &kinds, 100_000).await?;
        let mut calendars = HashMap::new();
        let mut service_calendars = HashMap::new();
        let mut default_calendar = None;
        let mut agreements = Vec::new();
        for v in &all {
            let r = &v.record;
            if r.kind == RecordKind::CALENDAR {
                let Some((calendar, is_default)) = slm::calendar_of(r) else {
                    tracing::warn!(calendar = r.id.0, "stored calendar does not validate; skipped");
                    continue;
                };
                let entry = Arc::new(CalendarEntry {
                    id: Some(r.id),
                    name: format!("{} {}", r.readable_number(), r.title),
                    calendar,
                });
                if is_default && r.state == "active" {
                    default_calendar = Some(entry.clone());
                }
                calendars.insert(r.id, entry);
            } else if r.kind == RecordKind::SERVICE {
                if let Some(cal) = r.detail_i64(crate::records::SERVICE_CALENDAR) {
                    service_calendars.insert(r.id, RecordId(cal));
                }
            } else if r.kind == RecordKind::AGREEMENT && r.state == "active" {
                if let Some(a) = Agreement::from_record(r) {
                    agreements.push(a);
                }
            }
        }
        let mut measured: Vec<RecordKind> = agreements
            .iter()
            .flat_map(|a| a.terms.targets.iter().map(|t| t.record_kind))
            .filter(|k| k.has_service_levels())
            .collect();
        measured.sort();
        measured.dedup();
        let fallback = Arc::new(CalendarEntry {
            id: None,
            name: "Round the clock (UTC), no calendar chosen".into(),
            calendar: round_the_clock()
                .ok_or_else(|| AppError::Setup("the built-in calendar is invalid".into()))?,
        });
        let cfg = Arc::new(SlaConfig {
            version,
            agreements,
            calendars,
            service_calendars,
            default_calendar,
            fallback,
            kinds: measured,
        });
        if let Ok(mut guard) = self.inner.sla_config.write() {
            *guard = Some(cfg.clone());
        }
        Ok(cfg)
    }

    /// Replays the clocks of some records, each at its own instant, and stores them, in the caller's transaction.
    ///
    /// When no active target measures a record's kind, a record written since has no clocks to
    /// replace, so nothing is done; `force` replaces them anyway (a recomputation after agreements
    /// changed must remove clocks whose targets are gone).
    pub(crate) async fn refresh_clocks(
        &self,
        c: &mut AnyConnection,
        records: &[(&Record, jiff::Timestamp)],
        force: bool,
    ) -> Result<Vec<ComputedClock>> {
        if !records.iter().any(|(r, _)| self.measures(r.kind)) {
            return Ok(vec![]);
        }
        let config = self.sla_config(c).await?;
        let mut measured: Vec<(&Record, jiff::Timestamp)> = records
            .iter()
            .filter(|(r, _)| self.measures(r.kind) && (force || config.kinds.contains(&r.kind)))
            .copied()
            .collect();
        if measured.is_empty() {
            return Ok(vec![]);
        }
        measured.sort_by_key(|(r, _)| r.id.0);
        let ids: Vec<RecordId> = measured.iter().map(|(r, _)| r.id).collect();
        let transitions = store::transitions_of(c, &ids).await?;
        let mut previous = store::clock_keys_of(c, &ids).await?;
        let mut all = Vec::new();
        let mut queue = Vec::with_capacity(measured.len());
        let mut rest = transitions.as_slice();
        for (r, now) in measured {
            // Transitions come sorted by record id, like `measured`.
            let start = rest.partition_point(|t| t.record_id.0 < r.id.0);
            let rest_from = rest.get(start..).unwrap_or_default();
            let end = rest_from.partition_point(|t| t.record_id == r.id);
            let (mine, after) = rest_from.split_at(end);
            rest = after;
            let clocks = compute(&config, &ClockSubject::from(r), mine, now);
            queue.push(replayed(
                r.id,
                &clocks,
                previous.remove(&r.id).unwrap_or_default(),
            ));
            all.extend(clocks);
        }
        let rows: Vec<ClockRow> = all.iter().map(|c| c.row.clone()).collect();
        store::replace_clocks(c, &queue, &rows).await?;
        Ok(all)
    }

    /// The clocks of new records, from their first state, with the configuration at `version`
    /// (read by the caller with its ids): computed, not yet written.
    pub(crate) async fn first_clocks(
        &self,
        c: &mut AnyConnection,
        created: &[Record],
        version: i64,
    ) -> Result<(Vec<store::ReplayedRecord>, Vec<ClockRow>)> {
        let mut queue = Vec::new();
        let mut rows: Vec<ClockRow> = Vec::new();
        if !created.iter().any(|r| self.measures(r.kind)) {
            return Ok((queue, rows));
        }
        let config = self.sla_config_at(c, Some(version)).await?;
        for record in created {
            if !self.measures(record.kind) || !config.kinds.contains(&record.kind) {
                continue;
            }
            let history = [TransitionRow {
                record_id: record.id,
                at: record.created_at,
                to_state: record.state.clone(),
                reason: record.state_reason().map(str::to_owned),
            }];
            let clocks = compute(&config, &ClockSubject::from(record), &history, record.created_at);
            queue.push(replayed(record.id, &clocks, Vec::new()));
            rows.extend(clocks.into_iter().map(|c| c.row));
        }
        Ok((queue, rows))
    }

    /// Replays the clocks of every record that may still move (and of those closed since
    /// `closed_since`, when given), in the caller's transaction.
    pub(crate) async fn recompute_in(
        &self,
        c: &mut AnyConnection,
        closed_since: Option<jiff::Timestamp>,
        now: jiff::Timestamp,
    ) -> Result<Recomputed> {
        let kinds: Vec<RecordKind> = RecordKind::all().filter(|k| k.has_service_levels()).collect();
        let config = self.sla_config(c).await?;
        let mut count = Recomputed::default();
        let mut batch =
            store::read_clock_inputs(c, &kinds, closed_since, RecordId(0), RECOMPUTE_BATCH).await?;
        // Pipelined: while one batch is parsed and replayed on a blocking thread, the database
        // builds the next one.
        while let Some(last) = batch.last {
            let cfg = config.clone();
            let replay = tokio::task::spawn_blocking(move || {
                batch
                    .parse()
                    .map(|inputs| (inputs.len(), replay_batch(&cfg, &inputs, now)))
            });
            let next = store::read_clock_inputs(c, &kinds, closed_since, last, RECOMPUTE_BATCH).await?;
            let (read, (changed, rows)) = replay
                .await
                .map_err(|e| AppError::Setup(format!("clock replay failed: {e}")))??;
            count.records += read;
            // Written only where the record is still at the version read: a change that replayed a
            // record's clocks since then wins over this older replay.
            count.changed += store::replace_clocks_at_versions(c, &changed, &rows).await?;
            batch = next;
        }
        Ok(count)
    }

    /// Replays every open clock (and, when asked, those of records closed since an instant) after a
    /// change an administrator knows of, such as an import.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recompute_clocks(
        &self,
        ctx: &Ctx,
        closed_since: Option<jiff::Timestamp>,
    ) -> Result<Recomputed> {
        ctx.require(Permission::ManageServiceLevels)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let n = self.recompute_in(&mut tx, closed_since, now).await?;
        tx.commit().await?;
        Ok(n)
    }

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
                        "sla_breached",
                        "sla.breached",
                        format!(
                            "SLA breached: \"{}\" ({agreement}) was due at {when}",
                            cc.row.target_name
                        ),
                    )
                } else {
                    (
                        "sla_warning",
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

    /// The clocks of a record, replayed now, with what explains them. Customers do not see the
    /// provider's internal agreements.
    #[tracing::instrument(level = "debug", skip_all, fields(kind = %kind, reference))]
    pub async fn record_sla(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        reference: &str,
    ) -> Result<Vec<ClockExplanation>> {
        ctx.require(Permission::ReadRecords)?;
        let now = self.now();
        let mut c = self.store().read().await?;
        let record = resolve(self, &mut c, ctx, kind, reference).await?.record;
        if !self.measures(kind) {
            return Ok(vec![]);
        }
        let config = self.sla_config(&mut c).await?;
        let transitions = store::transitions_of(&mut c, &[record.id]).await?;
        let notices = store::notices(&mut c, record.id).await?;
        let mut out = Vec::new();
        for cc in compute(&config, &ClockSubject::from(&record), &transitions, now) {
            let Some(agreement) = config.agreements.iter().find(|a| a.id == cc.row.agreement_id) else {
                continue;
            };
            if !ctx.is_staff() && agreement.terms.agreement_type != AgreementType::ServiceLevelAgreement {
                continue;
            }
            let until = cc.clock.stopped_at.unwrap_or(now);
            let working_periods = match cc.clock.started_at {
                Some(from) => cc.calendar.calendar.working_periods(from, until, 60),
                None => vec![],
            };
            let warnings = agreement
                .terms
                .targets
                .iter()
                .find(|t| t.key == cc.row.target_key)
                .map(|t| t.warnings.clone())
                .unwrap_or_default();
            out.push(ClockExplanation {
                agreement_number: agreement.number.clone(),
                agreement_title: agreement.title.clone(),
                calendar_name: cc.calendar.name.clone(),
                time_zone: cc.calendar.calendar.definition().time_zone.clone(),
                segments: cc.clock.segments.clone(),
                working_periods,
                warnings: warnings
                    .iter()
                    .map(|p| (*p, cc.clock.instant_at_percent(&cc.calendar.calendar, *p)))
                    .collect(),
                notices: notices
                    .iter()
                    .filter(|n| n.agreement_id == cc.row.agreement_id && n.target_key == cc.row.target_key)
                    .cloned()
                    .collect(),
                percent_used: cc.clock.percent_used(),
                row: cc.row,
            });
        }
        Ok(out)
    }

    /// The events queued for notifications, after `after`; for administrators and integrations.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn outbox(&self, ctx: &Ctx, after: i64, limit: u32) -> Result<Vec<store::OutboxEvent>> {
        ctx.require(Permission::ManageServiceLevels)?;
        let mut c = self.store().read().await?;
        Ok(store::outbox(&mut c, after, limit).await?)
    }
}

/// What one run of the SLA job did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobReport {
    pub records: usize,
    pub warnings: usize,
    pub breaches: usize,
}

/// One clock of a record and everything that explains its figures.
#[derive(Debug, Clone)]
pub struct ClockExplanation {
    pub row: ClockRow,
    pub agreement_number: String,
    pub agreement_title: String,
    pub calendar_name: String,
    pub time_zone: String,
    /// When the clock ran, paused (and why) and stopped.
    pub segments: Vec<Segment>,
    /// The calendar's working periods from the start until now or the stop (at most 60).
    pub working_periods: Vec<(jiff::Timestamp, jiff::Timestamp)>,
    /// Each warning threshold and when it falls (or fell) due; `None` while paused.
    pub warnings: Vec<(u32, Option<jiff::Timestamp>)>,
    /// Warnings and breaches recorded so far.
    pub notices: Vec<Notice>,
    pub percent_used: f64,
}

// ---- calendars ----

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
        ctx.require(Permission::ManageServiceLevels)?;
        let expected_version = expected_version.ok_or(AppError::VersionRequired)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let current = crate::records::current_for_change(
            self,
            &mut tx,
            ctx,
            RecordKind::CALENDAR,
            reference,
            expected_version,
        )
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

// ---- agreements ----

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
        ctx.require(Permission::ManageServiceLevels)?;
        let expected_version = expected_version.ok_or(AppError::VersionRequired)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let current = crate::records::current_for_change(
            self,
            &mut tx,
            ctx,
            RecordKind::AGREEMENT,
            reference,
            expected_version,
        )
        .await?;
        let mut errors = ValidationError::new();
        let mut after = current.fields();
        CommonChange {
            title_field: "title",
            title: change.title.as_deref(),
            description: change.description.as_deref(),
            state: change.state.as_deref(),
        }
        .apply(&current, &mut after, &mut errors)?;
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
        self.check_agreement(&mut tx, &after, &terms, &mut errors).await?;
        errors.into_result()?;
        self.change_record(&mut tx, ctx, &current, &after, now).await?;
        self.recompute_in(&mut tx, None, now).await?;
        commit_with_view(tx, current.id).await
    }
}

// ---- reporting ----

/// What the attainment report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportBy {
    Agreement,
    Service,
    Customer,
    Priority,
    Month,
}

impl ReportBy {
    pub const ALL: [ReportBy; 5] = [
        ReportBy::Agreement,
        ReportBy::Service,
        ReportBy::Customer,
        ReportBy::Priority,
        ReportBy::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportBy::Agreement => "agreement",
            ReportBy::Service => "service",
            ReportBy::Customer => "customer",
            ReportBy::Priority => "priority",
            ReportBy::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<ReportBy> {
        Self::ALL.into_iter().find(|b| b.as_str() == s)
    }
}

/// One group of the attainment report.
#[derive(Debug, Clone, PartialEq)]
pub struct Attainment {
    pub key: Option<i64>,
    pub label: String,
    pub met: i64,
    pub breached: i64,
}

impl Attainment {
    /// Met targets in percent of those that ended; `None` when none did.
    pub fn percent(&self) -> Option<f64> {
        let total = self.met + self.breached;
        (total > 0).then(|| (self.met as f64 * 1000.0 / total as f64).round() / 10.0)
    }
}

/// The longest period a report covers, so no report scans without bound.
const MAX_REPORT_DAYS: i32 = 3 * 366;

/// The first instant of a day, in UTC.
fn day_start(field: &str, d: jiff::civil::Date) -> Result<jiff::Timestamp> {
    Ok(d.to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| ValidationError::field(field, e.to_string()))?
        .timestamp())
}

fn report_period(
    from: jiff::civil::Date,
    to: jiff::civil::Date,
) -> Result<(jiff::Timestamp, jiff::Timestamp)> {
    if to < from {
        return Err(ValidationError::field("to", "is before from").into());
    }
    if (to - from).get_days() > MAX_REPORT_DAYS {
        return Err(
            ValidationError::field("to", format!("a report covers at most {MAX_REPORT_DAYS} days")).into(),
        );
    }
    let after = to
        .tomorrow()
        .map_err(|e| ValidationError::field("to", e.to_string()))?;
    Ok((day_start("from", from)?, day_start("to", after)?))
}

impl App {
    /// Met and missed targets from `from` to `to` (whole UTC days, both included), grouped. Customers
    /// see only their own records' figures under the agreements they are party to.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sla_attainment(
        &self,
        ctx: &Ctx,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        by: ReportBy,
    ) -> Result<Vec<Attainment>> {
        ctx.require(Permission::ReadRecords)?;
        let (start, end) = report_period(from, to)?;
        let org = (!ctx.is_staff())
            .then(|| ctx.actor().map(|a| a.organization_id))
            .flatten();
        let mut c = self.store().read().await?;
        let to_row = |r: store::AttainmentRow| Attainment {
            key: r.key,
            label: r.label,
            met: r.met,
            breached: r.breached,
        };
        let dimension = match by {
            ReportBy::Agreement => store::Dimension::Agreement,
            ReportBy::Service => store::Dimension::Service,
            ReportBy::Customer => store::Dimension::Customer,
            ReportBy::Priority => store::Dimension::Priority,
            ReportBy::Month => {
                let mut out = Vec::new();
                let mut month = from.first_of_month();
                while month <= to {
                    let next = month
                        .last_of_month()
                        .tomorrow()
                        .map_err(|e| ValidationError::field("to", e.to_string()))?;
                    let a = day_start("from", month.max(from))?;
                    let b = if next > to { end } else { day_start("to", next)? };
                    let rows = store::attainment(&mut c, a, b, store::Dimension::Total, org).await?;
                    out.push(Attainment {
                        key: Some(i64::from(month.year()) * 100 + i64::from(month.month())),
                        label: month.strftime("%Y-%m").to_string(),
                        met: rows.first().map_or(0, |r| r.met),
                        breached: rows.first().map_or(0, |r| r.breached),
                    });
                    month = next;
                }
                return Ok(out);
            }
        };
        Ok(store::attainment(&mut c, start, end, dimension, org)
            .await?
            .into_iter()
            .map(to_row)
            .collect())
    }

    /// Missed targets from `from` to `to`, latest first, with their records; for customers as in
    /// [`App::sla_attainment`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sla_breaches(
        &self,
        ctx: &Ctx,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
        limit: u32,
    ) -> Result<Vec<store::Breach>> {
        ctx.require(Permission::ReadRecords)?;
        let (start, end) = report_period(from, to)?;
        let org = (!ctx.is_staff())
            .then(|| ctx.actor().map(|a| a.organization_id))
            .flatten();
        let mut c = self.store().read().await?;
        Ok(store::breaches(&mut c, start, end, org, limit).await?)
    }
}
