//! Demo data: a managed-service provider with three customers, a dozen services, assignment groups,
//! twenty people and months of incidents with realistic histories. Everything goes through the same
//! use cases as real work, at simulated instants, so the audit trail looks like the real thing.

use itsm_domain::incident::{IncidentChange, Level, OnHoldReason, ResolutionCode, CATEGORIES};
use itsm_domain::{Actor, GroupId, OrganizationId, RecordId, RecordKind, Role, UserId};
use itsm_storage::{people, records};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::incidents::NewIncidentInput;
use crate::{App, AppError, Ctx, NewUserInput, Result};

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
        tokio::task::spawn_blocking(move || crate::hash_password(&p))
            .await
            .map_err(|e| AppError::Setup(e.to_string()))??
    };
    let mut rng = StdRng::seed_from_u64(200_001);
    let mut tx = app.store().begin().await?;
    if people::any_user(&mut tx).await? {
        return Err(AppError::Conflict(
            "the database already holds data; the demo loads only into an empty one".into(),
        ));
    }
    let mut logins = Vec::new();
    let provider = app
        .add_organization_in(&mut tx, &system, PROVIDER, "provider", start)
        .await?;
    let mut customers = Vec::new();
    for name in CUSTOMERS {
        customers.push(
            app.add_organization_in(&mut tx, &system, name, "customer", start)
                .await?,
        );
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
        let u = app
            .add_user_in(&mut tx, &system, &input, Some(&hash), start)
            .await?;
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
        let u = app
            .add_user_in(&mut tx, &system, &input, Some(&hash), start)
            .await?;
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
        let g = app
            .add_group_in(&mut tx, &system, name, description, &members, start)
            .await?;
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
        let fields = catalogue_fields(provider.id, name, description, RecordKind::Service);
        services.push(
            app.create_record(&mut tx, &admin, RecordKind::Service, &fields, start)
                .await?
                .id,
        );
    }
    let mut cis = Vec::new();
    for (i, (service, _)) in SERVICES.iter().enumerate() {
        for n in 1..=3 {
            let name = format!(
                "{}-{:02}",
                service.split_whitespace().next().unwrap_or("ci").to_lowercase(),
                n
            );
            let fields = catalogue_fields(
                provider.id,
                &name,
                &format!("Component of {service}"),
                RecordKind::ConfigurationItem,
            );
            let id = app
                .create_record(&mut tx, &admin, RecordKind::ConfigurationItem, &fields, start)
                .await?
                .id;
            if i < services.len() {
                cis.push((i, id));
            }
        }
    }

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
    for offset in times {
        let opened = add(start, offset)?;
        let age_days = (span - offset) / 86_400;
        let cust = rng.gen_range(0..customers.len());
        let org = customers.get(cust).map(|c| c.id).unwrap_or(provider.id);
        let caller = callers.get(cust).and_then(|c| c.choose(&mut rng)).copied();
        let &(title, description, service_ix, group_ix) = PROBLEMS.choose(&mut rng).unwrap_or(&PROBLEMS[0]);
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
        let ci = cis
            .iter()
            .filter(|(s, _)| *s == service_ix)
            .map(|(_, id)| *id)
            .collect::<Vec<RecordId>>()
            .choose(&mut rng)
            .copied();
        let input = NewIncidentInput {
            organization_id: Some(org),
            title: title.into(),
            description: description.into(),
            impact: Some(level(rng.gen())),
            urgency: Some(level(rng.gen())),
            category: CATEGORIES.choose(&mut rng).map(|c| (*c).to_owned()),
            service_id: service,
            configuration_item_id: ci,
            caller_id: caller,
            assignment_group_id: if by_customer { None } else { Some(group) },
            assignee_id: None,
        };
        let id = app.create_incident_in(&mut tx, &ctx, input, opened).await?;

        // Work it: older incidents are mostly closed, recent ones spread over the open states.
        let mut t = add(opened, rng.gen_range(300..7_200))?;
        let worker = Ctx::user(agent.clone());
        let assignee = members.choose(&mut rng).copied();
        let step = |s: &str| IncidentChange {
            state: Some(s.into()),
            ..Default::default()
        };
        let mut plan: Vec<IncidentChange> = vec![IncidentChange {
            assignment_group_id: Some(Some(group)),
            assignee_id: Some(assignee),
            ..step("in_progress")
        }];
        let roll: f64 = rng.gen();
        let target = if age_days > 14 {
            if roll < 0.03 {
                "cancelled"
            } else if roll < 0.08 {
                "resolved"
            } else {
                "closed"
            }
        } else if roll < 0.25 {
            "new"
        } else if roll < 0.55 {
            "in_progress"
        } else if roll < 0.7 {
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
            resolution_code: Some(
                *ResolutionCode::ALL
                    .choose(&mut rng)
                    .unwrap_or(&ResolutionCode::Solved),
            ),
            resolution_notes: Some(REPLIES.get(2).copied().unwrap_or("Fixed").into()),
            ..step("resolved")
        };
        match target {
            "new" => plan.clear(),
            "in_progress" => {}
            "on_hold" => plan.push(hold),
            "cancelled" => plan.push(step("cancelled")),
            "resolved" => plan.push(resolve),
            _ => {
                if rng.gen_bool(0.3) {
                    plan.push(hold);
                    plan.push(step("in_progress"));
                }
                plan.push(resolve);
                plan.push(step("closed"));
            }
        }
        for (n, change) in plan.into_iter().enumerate() {
            if t > now {
                break;
            }
            if n == 1 || rng.gen_bool(0.3) {
                let internal = rng.gen_bool(0.4);
                let body = if internal {
                    NOTES.choose(&mut rng)
                } else {
                    REPLIES.choose(&mut rng)
                }
                .copied()
                .unwrap_or("");

                itsm_storage::comments::insert(&mut tx, id, worker.user_id(), internal, body, t).await?;
                let summary = if internal {
                    crate::records::INTERNAL_NOTE
                } else {
                    crate::records::PUBLIC_REPLY
                };
                crate::records::write_event(
                    &mut tx,
                    &worker,
                    itsm_storage::audit::Subject::Record(id),
                    "commented",
                    t,
                    summary.into(),
                    &[],
                )
                .await?;
                t = add(t, rng.gen_range(600..14_400))?;
            }
            let record = records::get(&mut tx, id)
                .await?
                .ok_or_else(|| AppError::NotFound("incident".into()))?
                .record;
            app.update_incident_in(&mut tx, &worker, &record, &change, t)
                .await?;
            t = add(t, rng.gen_range(1_800..(3 * 86_400)))?;
        }
    }
    tx.commit().await?;
    app.store().analyze().await?;
    Ok(logins)
}

fn catalogue_fields(
    org: OrganizationId,
    name: &str,
    description: &str,
    kind: RecordKind,
) -> itsm_domain::RecordFields {
    itsm_domain::RecordFields {
        organization_id: Some(org),
        title: name.into(),
        description: description.into(),
        state: kind.lifecycle().initial.to_owned(),
        ..Default::default()
    }
}
