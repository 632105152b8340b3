//! Demo data: a managed-service provider with three customers, a dozen services, assignment groups,
//! twenty people and months of incidents with realistic histories. Everything goes through the same
//! use cases as real work, at simulated instants, so the audit trail looks like the real thing.

use itsm_app::import::{Checked, Import, ImportedComment, NewRecord, RecordChange};
use itsm_app::incidents::NewIncidentInput;
use itsm_app::model::{ClockRow, Organization};
use itsm_app::{App, AppError, Ctx, NewUserInput};
use itsm_domain::incident::{IncidentChange, Level, OnHoldReason, ResolutionCode, CATEGORIES};
use itsm_domain::slm::ServiceLevelTarget;
use itsm_domain::{Actor, GroupId, Record, RecordId, RecordKind, Role, UserId};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

type Result<T> = std::result::Result<T, AppError>;

/// Incidents in the demo: a few thousand over six months, which loads in under five seconds.
pub const DEFAULT_INCIDENTS: usize = 2_500;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo-password";

/// A demo sign-in to print.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub role: Role,
    pub organization: String,
}

const PROVIDER: &str = "Northwind Managed Services";
const CUSTOMERS: [&str; 3] = ["Contoso Retail", "Fabrikam Health", "Tailspin Logistics"];
const SERVICES: [(&str, &str); 12] = [
    (
        "Email and calendaring",
        "Hosted mail, calendars and shared mailboxes",
    ),
    (
        "Managed workplace",
        "Laptops, desktops, mobile devices and their software",
    ),
    ("Network and VPN", "Office networks, Wi-Fi and remote access"),
    (
        "Identity and access",
        "Accounts, single sign-on and multi-factor authentication",
    ),
    ("ERP hosting", "The hosted ERP platform and its interfaces"),
    (
        "Web shop hosting",
        "Customer-facing web shops and their payment links",
    ),
    ("Backup and restore", "Daily backups of servers and cloud data"),
    (
        "Service desk",
        "The single point of contact, 8x5 and 24x7 on demand",
    ),
    ("File and print", "File shares, printers and scanning"),
    ("Telephony", "Cloud telephony and contact-centre lines"),
    ("Database platform", "Managed PostgreSQL and SQL Server instances"),
    (
        "Security monitoring",
        "Log collection, alerting and incident response",
    ),
];
const GROUPS: [(&str, &str); 5] = [
    (
        "Service Desk",
        "First line: logs, classifies and resolves what it can",
    ),
    ("Workplace", "Devices, desktop software, printers"),
    ("Network", "LAN, WAN, Wi-Fi, VPN, firewalls"),
    ("Applications", "ERP, web shop and other hosted applications"),
    ("Platform", "Servers, databases, backup, identity"),
];
const STAFF: [(&str, &str, Role, &[usize]); 12] = [
    ("admin", "Ada Admin", Role::Administrator, &[]),
    ("auditor", "Otto Auditor", Role::Auditor, &[]),
    ("agent", "Alex Agent", Role::Agent, &[0]),
    ("sam.desk", "Sam Desk", Role::Agent, &[0]),
    ("priya.desk", "Priya Desk", Role::Agent, &[0]),
    ("wen.workplace", "Wen Workplace", Role::Agent, &[1]),
    ("lars.workplace", "Lars Workplace", Role::Agent, &[1, 0]),
    ("nina.network", "Nina Network", Role::Agent, &[2]),
    ("omar.network", "Omar Network", Role::Agent, &[2]),
    ("aiko.apps", "Aiko Apps", Role::Agent, &[3]),
    ("ben.apps", "Ben Apps", Role::Agent, &[3]),
    ("pia.platform", "Pia Platform", Role::Agent, &[4]),
];
const CUSTOMER_PEOPLE: [(&str, &str, usize); 8] = [
    ("customer", "Casey Customer", 0),
    ("maria.contoso", "Maria Contoso", 0),
    ("tom.contoso", "Tom Contoso", 0),
    ("fatima.fabrikam", "Fatima Fabrikam", 1),
    ("jonas.fabrikam", "Jonas Fabrikam", 1),
    ("lea.fabrikam", "Lea Fabrikam", 1),
    ("raj.tailspin", "Raj Tailspin", 2),
    ("eva.tailspin", "Eva Tailspin", 2),
];
/// Offerings of some services (by index in `SERVICES`): the variants customers are promised.
const OFFERINGS: [(usize, &str, &str); 6] = [
    (0, "Standard mailbox", "50 GB mailbox, business-hours support"),
    (
        0,
        "Executive mailbox",
        "Unlimited mailbox and delegate access, priority support for executives",
    ),
    (
        1,
        "Standard workplace",
        "A laptop from the standard range, replaced every four years",
    ),
    (
        1,
        "Executive workplace",
        "Premium devices with next-business-day replacement",
    ),
    (5, "Storefront", "The public shop pages and catalogue"),
    (
        5,
        "Checkout and payments",
        "Basket, checkout and the payment provider interface",
    ),
];

const PROBLEMS: [(&str, &str, usize, usize); 16] = [
    (
        "Cannot send email",
        "Outgoing mail stays in the outbox since this morning.",
        0,
        0,
    ),
    (
        "Shared mailbox missing",
        "The team mailbox disappeared from my Outlook.",
        0,
        0,
    ),
    (
        "Laptop does not boot",
        "Black screen after the update, fan spinning.",
        1,
        1,
    ),
    (
        "Printer on second floor jams",
        "Paper jam error although the tray is empty.",
        8,
        1,
    ),
    (
        "VPN disconnects every few minutes",
        "Working from home is impossible, tunnel drops.",
        2,
        2,
    ),
    (
        "Wi-Fi slow in meeting rooms",
        "Video calls freeze in rooms 2.01 to 2.05.",
        2,
        2,
    ),
    (
        "Account locked out",
        "Locked after the password change, cannot sign in.",
        3,
        4,
    ),
    (
        "MFA prompt never arrives",
        "No push notification on the new phone.",
        3,
        4,
    ),
    (
        "ERP invoice run failed",
        "The nightly invoice batch ended with an error.",
        4,
        3,
    ),
    (
        "Web shop checkout error",
        "Customers get error 500 at the payment step.",
        5,
        3,
    ),
    (
        "Restore of deleted folder needed",
        "Project folder deleted by mistake yesterday.",
        6,
        4,
    ),
    (
        "Phone line dead at reception",
        "No dial tone on the reception handset.",
        9,
        2,
    ),
    (
        "Database connections exhausted",
        "Application reports too many connections.",
        10,
        4,
    ),
    (
        "Suspicious login alert",
        "Sign-in from an unusual country flagged.",
        11,
        4,
    ),
    (
        "Scanner sends no email",
        "Scan to email fails with an SMTP error.",
        8,
        1,
    ),
    (
        "Software installation request blocked",
        "Installer asks for admin rights.",
        1,
        1,
    ),
];
const REPLIES: [&str; 6] = [
    "Thanks for reporting, we are looking into it.",
    "Could you send a screenshot of the error?",
    "We have applied a fix, please check whether it works for you now.",
    "The supplier confirmed the fault and is working on it.",
    "Restarted the affected service; monitoring for recurrence.",
    "Please try again and let us know the result.",
];
const NOTES: [&str; 5] = [
    "Checked the logs: same pattern as last week.",
    "Escalating to second line, needs access to the appliance.",
    "Known issue with the latest client update; workaround applies.",
    "Waiting for the maintenance window to restart.",
    "Root cause likely the certificate renewal.",
];

fn secs(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs(n)
}

fn add(t: jiff::Timestamp, s: i64) -> Result<jiff::Timestamp> {
    t.checked_add(secs(s)).map_err(|e| AppError::Setup(e.to_string()))
}

/// Loads the demo into an empty database, with `incidents` incidents spread over the last 180 days
/// before `now`. Returns the sign-ins to print.
pub async fn load(app: &App, incidents: usize) -> Result<Vec<DemoLogin>> {
    let system = Ctx::system();
    let now = app.now();
    let start = add(now, -180 * 86_400)?;
    let hash = {
        let p = DEMO_PASSWORD.to_owned();
        tokio::task::spawn_blocking(move || itsm_app::hash_password(&p))
            .await
            .map_err(|e| AppError::Setup(e.to_string()))??
    };
    let mut rng = StdRng::seed_from_u64(200_001);
    let mut tx = app.begin_import(&system).await?;
    if !tx.is_empty().await? {
        return Err(AppError::Conflict(
            "the database already holds data; the demo loads only into an empty one".into(),
        ));
    }
    let mut logins = Vec::new();
    let provider = tx.organization(&system, PROVIDER, "provider", start).await?;
    let mut customers = Vec::new();
    for name in CUSTOMERS {
        customers.push(tx.organization(&system, name, "customer", start).await?);
    }
    let mut staff: Vec<(UserId, Role, &[usize])> = Vec::new();
    for (username, display, role, groups) in STAFF {
        let input = NewUserInput {
            username: username.into(),
            display_name: Some(display.into()),
            email: Some(format!("{username}@northwind.example")),
            role,
            organization: None,
            password: None,
        };
        let u = tx.user(&system, &input, Some(&hash), start).await?;
        staff.push((u.id, role, groups));
        logins.push(DemoLogin {
            username: username.into(),
            role,
            organization: PROVIDER.into(),
        });
    }
    let mut callers: Vec<Vec<UserId>> = vec![Vec::new(); CUSTOMERS.len()];
    for (username, display, org) in CUSTOMER_PEOPLE {
        let org_name = CUSTOMERS.get(org).copied().unwrap_or(CUSTOMERS[0]);
        let input = NewUserInput {
            username: username.into(),
            display_name: Some(display.into()),
            email: Some(format!("{username}@customer.example")),
            role: Role::Customer,
            organization: Some(org_name.into()),
            password: None,
        };
        let u = tx.user(&system, &input, Some(&hash), start).await?;
        if let Some(list) = callers.get_mut(org) {
            list.push(u.id);
        }
        logins.push(DemoLogin {
            username: username.into(),
            role: Role::Customer,
            organization: org_name.into(),
        });
    }
    let mut groups: Vec<(GroupId, Vec<UserId>)> = Vec::new();
    for (i, (name, description)) in GROUPS.iter().enumerate() {
        let members: Vec<UserId> = staff
            .iter()
            .filter(|(_, _, g)| g.contains(&i))
            .map(|(u, _, _)| *u)
            .collect();
        let g = tx.group(&system, name, description, &members, start).await?;
        groups.push((g.id, members));
    }
    let admin_id = staff
        .first()
        .map(|s| s.0)
        .ok_or_else(|| AppError::Setup("no demo administrator".into()))?;
    let admin = Ctx::user(Actor {
        user_id: admin_id,
        organization_id: provider.id,
        role: Role::Administrator,
    });
    let mut services = Vec::new();
    for (name, description) in SERVICES {
        let input = catalogue_item(name, description, None);
        services.push(tx.create(&admin, RecordKind::SERVICE, &input, start).await?.id);
    }
    let mut offerings: Vec<(usize, RecordId)> = Vec::new();
    for (service_ix, name, description) in OFFERINGS {
        let input = catalogue_item(name, description, services.get(service_ix).copied());
        let id = tx
            .create(&admin, RecordKind::SERVICE_OFFERING, &input, start)
            .await?
            .id;
        offerings.push((service_ix, id));
    }
    let mut cis = Vec::new();
    for (i, (service, _)) in SERVICES.iter().enumerate() {
        for n in 1..=3 {
            let name = format!(
                "{}-{:02}",
                service.split_whitespace().next().unwrap_or("ci").to_lowercase(),
                n
            );
            let input = catalogue_item(&name, &format!("Component of {service}"), None);
            let id = tx
                .create(&admin, RecordKind::CONFIGURATION_ITEM, &input, start)
                .await?
                .id;
            if i < services.len() {
                cis.push((i, id));
            }
        }
    }

    let levels = service_levels(
        &mut tx, &admin, start, now, &customers, &services, &offerings, &groups,
    )
    .await?;

    let agents: Vec<Actor> = staff
        .iter()
        .filter(|(_, r, _)| *r == Role::Agent)
        .map(|(u, r, _)| Actor {
            user_id: *u,
            organization_id: provider.id,
            role: *r,
        })
        .collect();
    let span = (now.as_second() - start.as_second()).max(1);
    let mut times: Vec<i64> = (0..incidents).map(|_| rng.gen_range(0..span)).collect();
    times.sort_unstable();
    // Incidents are logged a chunk at a time, then worked in rounds (every incident's first step,
    // then every second step, ...), so each round writes its comments, warnings and changes with
    // a handful of statements; each incident's own history stays in order.
    for chunk in times.chunks(DEMO_CHUNK) {
        let mut drafts = Vec::with_capacity(chunk.len());
        for &offset in chunk {
            let opened = add(start, offset)?;
            let cust = rng.gen_range(0..customers.len());
            let org = customers.get(cust).map(|c| c.id).unwrap_or(provider.id);
            let caller = callers.get(cust).and_then(|c| c.choose(&mut rng)).copied();
            let &(title, description, service_ix, group_ix) =
                PROBLEMS.choose(&mut rng).unwrap_or(&PROBLEMS[0]);
            let (group, members) = groups.get(group_ix).cloned().unwrap_or((GroupId(0), vec![]));
            let level = |r: f64| {
                if r < 0.15 {
                    Level::High
                } else if r < 0.6 {
                    Level::Medium
                } else {
                    Level::Low
                }
            };
            let agent = agents
                .choose(&mut rng)
                .cloned()
                .ok_or_else(|| AppError::Setup("no agents".into()))?;
            let by_customer = rng.gen_bool(0.4);
            let ctx = match (by_customer, caller) {
                (true, Some(c)) => Ctx::user(Actor {
                    user_id: c,
                    organization_id: org,
                    role: Role::Customer,
                }),
                _ => Ctx::user(agent.clone()),
            };
            let service = services.get(service_ix).copied();
            let ci = one_of_service(&cis, service_ix, &mut rng);
            // Most incidents on a service with offerings name one.
            let offering = one_of_service(&offerings, service_ix, &mut rng).filter(|_| rng.gen_bool(0.8));
            let input = NewIncidentInput {
                organization_id: Some(org),
                title: title.into(),
                description: description.into(),
                impact: Some(level(rng.gen())),
                urgency: Some(level(rng.gen())),
                category: CATEGORIES.choose(&mut rng).map(|c| (*c).to_owned()),
                service_id: service,
                service_offering_id: offering,
                configuration_item_id: ci,
                caller_id: caller,
                assignment_group_id: if by_customer { None } else { Some(group) },
                assignee_id: None,
            };
            let fields = tx
                .draft(&ctx, RecordKind::INCIDENT, &input.input(), opened)
                .await?;
            drafts.push(Draft {
                ctx,
                fields,
                opened,
                age_days: (span - offset) / 86_400,
                agent,
                group,
                members,
            });
        }
        let creations: Vec<NewRecord> = drafts
            .iter()
            .map(|d| NewRecord {
                ctx: &d.ctx,
                kind: RecordKind::INCIDENT,
                fields: &d.fields,
                at: d.opened,
            })
            .collect();
        let created = tx.create_many(&creations).await?;
        let ids: Vec<RecordId> = created.iter().map(|r| r.id).collect();
        let clocks = tx.clocks(&ids).await?;
        let clocks = by_record(&clocks);
        let mut plans = Vec::with_capacity(drafts.len());
        for (d, record) in drafts.iter().zip(created) {
            let mine = clocks.get(&record.id).map(Vec::as_slice).unwrap_or_default();
            plans.push(plan(&mut rng, d, record, mine, &levels, now)?);
        }
        work(&mut tx, &mut plans).await?;
    }
    // And up to now.
    tx.catch_up(now).await?;
    tx.commit().await?;
    Ok(logins)
}

/// How many incidents are logged (and then worked) together.
const DEMO_CHUNK: usize = 500;

/// An incident about to be logged, with who will work it.
struct Draft {
    ctx: Ctx,
    fields: Checked,
    opened: jiff::Timestamp,
    age_days: i64,
    agent: Actor,
    group: GroupId,
    members: Vec<UserId>,
}

/// What happens to a logged incident: its steps in time order (each perhaps after a comment).
struct Plan {
    record: Record,
    worker: Ctx,
    steps: Vec<Step>,
}

struct Step {
    at: jiff::Timestamp,
    change: IncidentChange,
    /// Internal note or public reply, and when it was written.
    comment: Option<(bool, &'static str, jiff::Timestamp)>,
}

/// Plans the work on an incident against its targets: the engine's own due instants set the
/// pace, so most targets are met; in one month, a quarter of the incidents run late.
fn plan(
    rng: &mut StdRng,
    d: &Draft,
    record: Record,
    clocks: &[&ClockRow],
    levels: &Levels,
    now: jiff::Timestamp,
) -> Result<Plan> {
    let opened = d.opened;
    let due_of = |metric: &str| {
        clocks
            .iter()
            .filter(|c| c.metric == metric)
            .filter_map(|c| c.due_at)
            .min()
    };
    let late = levels.bad_month.contains(&opened) && rng.gen_bool(0.25);
    let mut pace = |due: Option<jiff::Timestamp>, fallback: i64| -> Result<jiff::Timestamp> {
        let f: f64 = if late {
            rng.gen_range(1.2..2.5)
        } else {
            rng.gen_range(0.15..0.9)
        };
        match due {
            Some(due) => add(
                opened,
                ((due.as_second() - opened.as_second()) as f64 * f) as i64 + 60,
            ),
            None => add(opened, fallback),
        }
    };
    let t_respond = pace(due_of("first_response"), 3_600)?;
    let t_resolve = pace(due_of("resolution"), 2 * 86_400)?;
    let assignee = d.members.choose(rng).copied();
    let step = |s: &str| IncidentChange {
        state: Some(s.into()),
        ..Default::default()
    };
    let mut plan: Vec<(jiff::Timestamp, IncidentChange)> = vec![(
        t_respond,
        IncidentChange {
            assignment_group_id: Some(Some(d.group)),
            assignee_id: Some(assignee),
            ..step("in_progress")
        },
    )];
    let roll: f64 = rng.gen();
    // Most work overtaken by its resolution target is done by now; a few stay open and overdue.
    let overtaken = due_of("resolution").is_some_and(|due| due < now) && rng.gen_bool(0.85);
    let target = if d.age_days > 14 || overtaken {
        if roll < 0.03 {
            "cancelled"
        } else if roll < 0.08 {
            "resolved"
        } else {
            "closed"
        }
    } else if d.age_days < 2 && roll < 0.2 {
        "new"
    } else if roll < 0.45 {
        "in_progress"
    } else if roll < 0.65 {
        "on_hold"
    } else if roll < 0.85 {
        "resolved"
    } else {
        "closed"
    };
    let hold = IncidentChange {
        on_hold_reason: Some(OnHoldReason::AwaitingCaller),
        ..step("on_hold")
    };
    let resolve = IncidentChange {
        resolution_code: Some(*ResolutionCode::ALL.choose(rng).unwrap_or(&ResolutionCode::Solved)),
        resolution_notes: Some(REPLIES.get(2).copied().unwrap_or("Fixed").into()),
        ..step("resolved")
    };
    let after_response = add(t_respond, rng.gen_range(600..7_200))?;
    match target {
        "new" => plan.clear(),
        "in_progress" => {}
        "on_hold" => plan.push((after_response, hold)),
        "cancelled" => plan.push((
            add(t_respond, rng.gen_range(3_600..86_400))?,
            IncidentChange {
                cancel_reason: Some("Raised twice: the caller's other incident covers it.".into()),
                ..step("cancelled")
            },
        )),
        "resolved" | "closed" => {
            // Time waiting for the caller does not count, so it moves the resolution later.
            let mut resolve_at = t_resolve.max(after_response);
            if rng.gen_bool(0.3) {
                let waited = rng.gen_range(3_600..(2 * 86_400));
                plan.push((after_response, hold));
                plan.push((add(after_response, waited)?, step("in_progress")));
                resolve_at = add(resolve_at, waited + 600)?;
            }
            plan.push((resolve_at, resolve));
            if target == "closed" {
                plan.push((
                    add(resolve_at, rng.gen_range(86_400..(3 * 86_400)))?,
                    step("closed"),
                ));
            }
        }
        _ => {}
    }
    let mut steps = Vec::with_capacity(plan.len());
    for (n, (at, change)) in plan.into_iter().enumerate() {
        if at > now {
            break;
        }
        let comment = if n == 1 || rng.gen_bool(0.3) {
            let internal = rng.gen_bool(0.4);
            let body = if internal {
                NOTES.choose(rng)
            } else {
                REPLIES.choose(rng)
            }
            .copied()
            .unwrap_or("");
            Some((internal, body, add(at, -rng.gen_range(60..600))?))
        } else {
            None
        };
        steps.push(Step { at, change, comment });
    }
    Ok(Plan {
        record,
        worker: Ctx::user(d.agent.clone()),
        steps,
    })
}

/// Works the planned incidents round by round: the comments before each step, the warnings the
/// SLA job would have recorded by then, then the step itself.
async fn work(tx: &mut Import<'_>, plans: &mut [Plan]) -> Result<()> {
    let rounds = plans.iter().map(|p| p.steps.len()).max().unwrap_or(0);
    for n in 0..rounds {
        let active: Vec<(usize, &Step)> = plans
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.steps.get(n).map(|s| (i, s)))
            .collect();
        let said: Vec<ImportedComment> = active
            .iter()
            .filter_map(|(i, s)| {
                let (internal, body, at) = s.comment?;
                plans.get(*i).map(|p| ImportedComment {
                    ctx: &p.worker,
                    record: p.record.id,
                    internal,
                    body,
                    at,
                })
            })
            .collect();
        tx.comment_many(&said).await?;

        // The SLA job would have run meanwhile: record what fell due before each step.
        let ids: Vec<RecordId> = active
            .iter()
            .filter_map(|(i, _)| plans.get(*i).map(|p| p.record.id))
            .collect();
        let clocks = tx.clocks(&ids).await?;
        let clocks = by_record(&clocks);
        let due: Vec<(&Record, jiff::Timestamp)> = active
            .iter()
            .filter_map(|(i, s)| plans.get(*i).map(|p| (&p.record, s.at)))
            .filter(|(r, at)| {
                clocks.get(&r.id).is_some_and(|mine| {
                    mine.iter()
                        .any(|c| c.next_notice_at.is_some_and(|next| next <= *at))
                })
            })
            .collect();
        tx.notice_due(&due).await?;

        let mut afters = Vec::with_capacity(active.len());
        for (i, s) in &active {
            let Some(p) = plans.get(*i) else { continue };
            let after = tx.changed(&p.worker, &p.record, &s.change.input(), s.at).await?;
            afters.push((*i, after, s.at));
        }
        let changes: Vec<RecordChange> = afters
            .iter()
            .filter_map(|(i, after, at)| {
                plans.get(*i).map(|p| RecordChange {
                    ctx: &p.worker,
                    before: &p.record,
                    after,
                    at: *at,
                })
            })
            .collect();
        let versions = tx.change_many(&changes).await?;
        for ((i, after, at), version) in afters.iter().zip(versions) {
            if let Some(p) = plans.get_mut(*i) {
                p.record.apply(after.fields(), version, *at);
            }
        }
    }
    Ok(())
}

/// Stored clocks grouped by their record.
fn by_record(clocks: &[ClockRow]) -> std::collections::HashMap<RecordId, Vec<&ClockRow>> {
    let mut grouped: std::collections::HashMap<RecordId, Vec<&ClockRow>> = std::collections::HashMap::new();
    for c in clocks {
        grouped.entry(c.record_id).or_default().push(c);
    }
    grouped
}

/// One of the records (CIs, offerings) of the service at index `service_ix`, at random.
fn one_of_service(list: &[(usize, RecordId)], service_ix: usize, rng: &mut impl Rng) -> Option<RecordId> {
    list.iter()
        .filter(|(s, _)| *s == service_ix)
        .map(|(_, id)| *id)
        .collect::<Vec<RecordId>>()
        .choose(rng)
        .copied()
}

/// What a catalogue item (service, offering, configuration item) is created from; an offering
/// names its service.
fn catalogue_item(
    name: &str,
    description: &str,
    service: Option<RecordId>,
) -> itsm_app::records::RecordInput {
    let mut input = serde_json::Map::new();
    input.insert("name".into(), json!(name));
    input.insert("description".into(), json!(description));
    if let Some(s) = service {
        input.insert("service_id".into(), json!(s.0));
    }
    input
}

/// The demo's Berlin service desk: weekdays 08:00-12:00 and 13:00-18:00, German public holidays.
/// `itsm bench-sla` measures on the same calendar.
pub fn europe_office_hours() -> itsm_domain::calendar::CalendarDefinition {
    itsm_domain::calendar::CalendarDefinition {
        time_zone: "Europe/Berlin".into(),
        working_hours: weekly(
            &["monday", "tuesday", "wednesday", "thursday", "friday"],
            &[("08:00", "12:00"), ("13:00", "18:00")],
        ),
        holidays: [
            "01-01",
            "05-01",
            "10-03",
            "12-24",
            "12-25",
            "12-26",
            "12-31",
            "2026-04-03",
            "2026-04-06",
            "2026-05-14",
            "2026-05-25",
            "2027-03-26",
            "2027-03-29",
            "2027-05-06",
            "2027-05-17",
        ]
        .iter()
        .map(|h| (*h).to_owned())
        .collect(),
    }
}

/// What the incident loader needs to know of the service level setup.
struct Levels {
    /// The month in which a quarter of the incidents run late.
    bad_month: std::ops::Range<jiff::Timestamp>,
}

fn day(d: jiff::civil::Date, days: i64) -> jiff::civil::Date {
    d.checked_add(jiff::Span::new().days(days)).unwrap_or(d)
}

fn weekly(days: &[&str], periods: &[(&str, &str)]) -> itsm_domain::calendar::WorkingHoursDefinition {
    itsm_domain::calendar::WorkingHoursDefinition::Weekly(
        days.iter()
            .map(|d| {
                (
                    (*d).to_owned(),
                    periods
                        .iter()
                        .map(|(a, b)| [(*a).to_owned(), (*b).to_owned()])
                        .collect(),
                )
            })
            .collect(),
    )
}

/// Calendars in two time zones with holidays, agreements with every customer, an OLA, an underpinning
/// contract with a supplier and a draft, all in force from before the first incident.
#[allow(clippy::too_many_arguments)]
async fn service_levels(
    tx: &mut Import<'_>,
    admin: &Ctx,
    start: jiff::Timestamp,
    now: jiff::Timestamp,
    customers: &[Organization],
    services: &[RecordId],
    offerings: &[(usize, RecordId)],
    groups: &[(GroupId, Vec<UserId>)],
) -> Result<Levels> {
    use itsm_app::service_levels::{AgreementChange, AgreementInput, CalendarInput};
    use itsm_domain::calendar::{CalendarDefinition, WorkingHoursDefinition};
    use itsm_domain::sla::Metric::{FirstResponse, Resolution};
    use itsm_domain::slm::{AgreementTerms, AgreementType};

    const WEEKDAYS: [&str; 5] = ["monday", "tuesday", "wednesday", "thursday", "friday"];
    let europe = tx
        .calendar(
            admin,
            CalendarInput {
                name: "Northwind Europe office hours".into(),
                description:
                    "The service desk in Berlin: weekdays with a lunch break, German public holidays.".into(),
                definition: europe_office_hours(),
                is_default: true,
            },
            start,
        )
        .await?;
    let us = tx
        .calendar(
            admin,
            CalendarInput {
                name: "Tailspin US operations".into(),
                description: "Extended hours for the Chicago logistics hub, Saturday mornings, US holidays."
                    .into(),
                definition: CalendarDefinition {
                    time_zone: "America/Chicago".into(),
                    working_hours: {
                        let WorkingHoursDefinition::Weekly(mut w) = weekly(&WEEKDAYS, &[("07:00", "19:00")])
                        else {
                            return Err(AppError::Setup("calendar".into()));
                        };
                        w.insert("saturday".into(), vec![["08:00".into(), "12:00".into()]]);
                        WorkingHoursDefinition::Weekly(w)
                    },
                    holidays: [
                        "01-01",
                        "07-04",
                        "12-25",
                        "2026-05-25",
                        "2026-09-07",
                        "2026-11-26",
                        "2026-11-27",
                        "2027-05-31",
                        "2027-09-06",
                        "2027-11-25",
                    ]
                    .iter()
                    .map(|h| (*h).to_owned())
                    .collect(),
                },
                is_default: false,
            },
            start,
        )
        .await?;
    let always = tx
        .calendar(
            admin,
            CalendarInput {
                name: "Round the clock".into(),
                description: "For services run 24x7.".into(),
                definition: CalendarDefinition {
                    time_zone: "UTC".into(),
                    working_hours: WorkingHoursDefinition::Named("24x7".into()),
                    holidays: vec![],
                },
                is_default: false,
            },
            start,
        )
        .await?;
    let supplier = tx
        .organization(&Ctx::system(), "Adatum Carrier Services", "supplier", start)
        .await?;
    let today = start.to_zoned(jiff::tz::TimeZone::UTC).date();
    let valid_from = day(today, -30);
    let review = day(now.to_zoned(jiff::tz::TimeZone::UTC).date(), 60);
    let web_shop = services.get(5).map(|s| s.0);
    let executive: Vec<i64> = OFFERINGS
        .iter()
        .zip(offerings)
        .filter(|((_, name, _), _)| name.starts_with("Executive"))
        .map(|(_, (_, id))| id.0)
        .collect();
    let network = groups.get(2).map(|g| g.0);
    let org = |i: usize| customers.get(i).map(|c| c.id);
    let terms = |ty, calendar: RecordId, services: Vec<i64>, targets| AgreementTerms {
        agreement_type: ty,
        service_ids: services,
        valid_from,
        valid_until: None,
        review_date: Some(review),
        calendar_id: Some(calendar.0),
        targets,
    };
    let agreements = vec![
        (
            "Contoso Retail - Gold support",
            "Fast response for the retail stores, all services.",
            org(0),
            None,
            terms(
                AgreementType::ServiceLevelAgreement,
                europe,
                vec![],
                vec![
                    ServiceLevelTarget::for_incidents("First response P1-P2", FirstResponse, &[1, 2], 30),
                    ServiceLevelTarget::for_incidents("First response P3-P5", FirstResponse, &[3, 4, 5], 120),
                    ServiceLevelTarget::for_incidents("Resolution P1", Resolution, &[1], 240),
                    ServiceLevelTarget::for_incidents("Resolution P2", Resolution, &[2], 480),
                    ServiceLevelTarget::for_incidents("Resolution P3", Resolution, &[3], 1_440),
                    ServiceLevelTarget::for_incidents("Resolution P4-P5", Resolution, &[4, 5], 2_400),
                    // Executives' mail and workplaces are fixed within a working day whatever
                    // the priority.
                    ServiceLevelTarget {
                        service_offering_ids: executive.clone(),
                        ..ServiceLevelTarget::for_incidents(
                            "Resolution, executive offerings",
                            Resolution,
                            &[],
                            480,
                        )
                    },
                ],
            ),
            true,
        ),
        (
            "Fabrikam Health - Standard support",
            "Business hours support for the clinics.",
            org(1),
            None,
            terms(
                AgreementType::ServiceLevelAgreement,
                europe,
                vec![],
                vec![
                    ServiceLevelTarget::for_incidents("First response", FirstResponse, &[], 120),
                    ServiceLevelTarget::for_incidents("Resolution P1-P2", Resolution, &[1, 2], 600),
                    ServiceLevelTarget::for_incidents("Resolution P3-P5", Resolution, &[3, 4, 5], 2_400),
                ],
            ),
            true,
        ),
        (
            "Tailspin Logistics - Silver support",
            "Extended US hours for the logistics hub.",
            org(2),
            None,
            terms(
                AgreementType::ServiceLevelAgreement,
                us,
                vec![],
                vec![
                    ServiceLevelTarget::for_incidents("First response", FirstResponse, &[], 60),
                    ServiceLevelTarget::for_incidents("Resolution P1-P2", Resolution, &[1, 2], 480),
                    ServiceLevelTarget::for_incidents("Resolution P3-P5", Resolution, &[3, 4, 5], 1_800),
                ],
            ),
            true,
        ),
        (
            "Tailspin Logistics - Web shop around the clock",
            "The web shop takes orders day and night; critical faults are fixed within four hours.",
            org(2),
            None,
            AgreementTerms {
                calendar_id: Some(always.0),
                ..terms(
                    AgreementType::ServiceLevelAgreement,
                    always,
                    web_shop.into_iter().collect(),
                    vec![ServiceLevelTarget::for_incidents(
                        "Resolution P1-P2, web shop",
                        Resolution,
                        &[1, 2],
                        240,
                    )],
                )
            },
            true,
        ),
        (
            "Network team OLA",
            "What the network team promises the service desk.",
            None,
            network,
            terms(
                AgreementType::OperationalLevelAgreement,
                europe,
                vec![],
                vec![ServiceLevelTarget::for_incidents(
                    "Resolution by the network team",
                    Resolution,
                    &[],
                    960,
                )],
            ),
            true,
        ),
        (
            "Adatum carrier circuits",
            "Underpinning contract for the office lines; supplier tickets arrive with supplier management.",
            Some(supplier.id),
            None,
            terms(
                AgreementType::UnderpinningContract,
                always,
                vec![],
                vec![ServiceLevelTarget::for_incidents(
                    "Circuit repair",
                    Resolution,
                    &[],
                    480,
                )],
            ),
            true,
        ),
        (
            "Contoso Retail - Platinum (proposal)",
            "Draft for the renewal talks: 24x7 for the store network.",
            org(0),
            None,
            terms(
                AgreementType::ServiceLevelAgreement,
                always,
                vec![],
                vec![ServiceLevelTarget::for_incidents(
                    "Resolution P1",
                    Resolution,
                    &[1],
                    120,
                )],
            ),
            false,
        ),
    ];
    for (title, description, organization_id, group, terms, active) in agreements {
        let id = tx
            .agreement(
                admin,
                AgreementInput {
                    title: title.into(),
                    description: description.into(),
                    organization_id,
                    assignment_group_id: group,
                    owner_id: admin.user_id(),
                    terms,
                },
                start,
            )
            .await?;
        if active {
            let change = AgreementChange {
                state: Some("active".into()),
                ..AgreementChange::default()
            };
            tx.change_agreement(admin, id, change, start).await?;
        }
    }
    // The calendar month before last: staff shortage, a quarter of the incidents run late.
    let this_month = now.to_zoned(jiff::tz::TimeZone::UTC).date().first_of_month();
    let month_start = |d: jiff::civil::Date| -> Result<jiff::Timestamp> {
        Ok(d.to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|e| AppError::Setup(e.to_string()))?
            .timestamp())
    };
    let months = |n: i64| {
        this_month
            .checked_sub(jiff::Span::new().months(n))
            .unwrap_or(this_month)
    };
    Ok(Levels {
        bad_month: month_start(months(2))?..month_start(months(1))?,
    })
}
