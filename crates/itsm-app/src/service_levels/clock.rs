//! The SLA clocks: the configuration they run on (agreements, calendars, services' calendars, cached
//! and checked against a version), computing a record's clocks from its history, replaying every
//! open clock after a change, and explaining one record's clocks.

use std::collections::HashMap;
use std::sync::Arc;

use itsm_domain::access::Permission;
use itsm_domain::calendar::{BusinessCalendar, CalendarDefinition, WorkingHoursDefinition};
use itsm_domain::sla::{self, Clock, ClockEvent, ClockEventKind, ClockStatus, Segment};
use itsm_domain::slm::{self, Agreement, AgreementType, RecordFacts};
use itsm_domain::{GroupId, OrganizationId, Record, RecordId, RecordKind};
use itsm_storage::records::{self, QueueClock};
use itsm_storage::sla::{self as store, ClockRow, Notice, TransitionRow};
use itsm_storage::AnyConnection;

use crate::records::resolve;
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
    pub(super) agreements: Vec<Agreement>,
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
                if let Some(cal) = r.detail_i64(itsm_domain::catalogue::SERVICE_CALENDAR) {
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
}

impl App {
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
