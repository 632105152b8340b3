//! `itsm bench`: loads records into a scratch database and measures what the quality bars name:
//! creating incidents through the API with concurrent clients (token auth, audit and search index
//! included), list pages (first and deep, filtered and sorted), full-text search and reading one
//! incident. Prints the figures; nothing here is a pass/fail test.

use std::time::{Duration, Instant};

use itsm_app::{Ctx, NewUserInput};
use itsm_domain::{GroupId, OrganizationId, RecordFields, RecordKind, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::error::CliError;

/// What to measure, and where.
pub struct BenchOptions {
    pub database_url: String,
    pub records: usize,
    pub clients: usize,
    pub creates: usize,
    /// Incidents created before the measured ones, not counted.
    pub warmup: usize,
    pub reads: usize,
}

const WORDS: [&str; 24] = [
    "printer",
    "vpn",
    "mailbox",
    "laptop",
    "password",
    "invoice",
    "backup",
    "database",
    "network",
    "wifi",
    "license",
    "monitor",
    "keyboard",
    "server",
    "firewall",
    "certificate",
    "storage",
    "phone",
    "scanner",
    "browser",
    "portal",
    "timeout",
    "latency",
    "outage",
];
const STATES: [(&str, f64); 6] = [
    ("new", 0.08),
    ("in_progress", 0.2),
    ("on_hold", 0.07),
    ("resolved", 0.1),
    ("closed", 0.5),
    ("cancelled", 0.05),
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(idx.min(sorted.len() - 1)).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "{name:<44} n={:<6} p50 {:>10}  p95 {:>10}  p99 {:>10}  max {:>10}",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.95)),
        ms(percentile(&samples, 0.99)),
        ms(samples.last().copied().unwrap_or_default())
    );
}

pub async fn run(o: BenchOptions) -> Result<(), CliError> {
    let app = crate::bench_db::open_empty(&o.database_url, 32).await?;
    println!(
        "itsm bench on {} ({} records to load)",
        app.database_name(),
        o.records
    );
    let sys = Ctx::system();
    let mut orgs = Vec::new();
    for n in 1..=3 {
        orgs.push(
            app.add_organization(&sys, &format!("Bench customer {n}"), "customer")
                .await?
                .id,
        );
    }
    let agent = NewUserInput {
        username: "bench".into(),
        display_name: Some("Bench Agent".into()),
        email: None,
        role: Role::Agent,
        organization: None,
        password: None,
    };
    let agent = app.add_user(&sys, &agent).await?;
    let mut groups = Vec::new();
    for n in 1..=5 {
        let members = [agent.username.clone()];
        groups.push(app.add_group(&sys, &format!("Group {n}"), "", &members).await?.id);
    }

    // Load: the same audited write path as real creations, in transactions of 5,000.
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(7);
    let now = app.now();
    let span_secs = 365 * 86_400;
    let mut loaded = 0;
    while loaded < o.records {
        let n = (o.records - loaded).min(5_000);
        let batch: Vec<(RecordFields, jiff::Timestamp)> = (0..n)
            .map(|i| bench_incident(&mut rng, loaded + i, &orgs, &groups, agent.id, now, span_secs))
            .collect();
        app.import_records(&sys, RecordKind::INCIDENT, &batch).await?;
        loaded += n;
        if loaded % 100_000 == 0 {
            println!("  loaded {loaded} in {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    app.refresh_statistics(true).await?;
    let load_secs = started.elapsed().as_secs_f64();
    println!(
        "load: {} incidents in {:.1} s ({:.0}/s, audited, indexed, vacuumed and analyzed)",
        o.records,
        load_secs,
        o.records as f64 / load_secs.max(0.001)
    );

    let token = app.create_token(&sys, "bench", "bench").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(CliError::io("cannot listen on 127.0.0.1"))?;
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(CliError::io("cannot read the listening address"))?
    );
    let router = itsm_web::router(app.clone(), itsm_web::WebSettings::default());
    tokio::spawn(async move { itsm_web::serve(listener, router).await });
    tokio::spawn(crate::upkeep_loop(app.clone()));
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;

    // Creates through the API with concurrent clients, after a warm-up that is not counted: the
    // server's first seconds (connections opened, plans prepared, the token's first check) are
    // not its steady rate.
    let url = format!("{base}/api/v1/incidents");
    if o.warmup > 0 {
        let (lat, failures, secs) =
            create_burst(&http, &url, &token, &orgs, o.clients, o.warmup, "warm-up").await?;
        println!(
            "warm-up, not counted: {} incidents in {:.2} s = {:.0}/s ({} failed)",
            lat.len(),
            secs,
            lat.len() as f64 / secs.max(0.001),
            failures
        );
    }
    let (lat, failures, secs) =
        create_burst(&http, &url, &token, &orgs, o.clients, o.creates, "bench").await?;
    println!(
        "create via API: {} incidents with {} clients in {:.2} s = {:.0}/s ({} failed)",
        lat.len(),
        o.clients,
        secs,
        lat.len() as f64 / secs.max(0.001),
        failures
    );
    report("create incident (POST /api/v1/incidents)", lat);

    let get = |url: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let t = Instant::now();
            let r = http.get(&url).bearer_auth(&token).send().await?;
            let status = r.status();
            let v: Value = r.json().await?;
            if !status.is_success() {
                return Err(CliError::Refused(format!("{url}: {status} {v}")));
            }
            Ok::<_, CliError>((t.elapsed(), v))
        }
    };
    // The open incidents get due instants, as they would under a provider's agreements, so that
    // the lists by due instant below sort real values.
    let (_, took) = crate::bench_sla::put_sla_in_force(&app, &orgs).await?;
    println!(
        "agreements in force for {} customers: open clocks replayed in {:.1} s",
        orgs.len(),
        took.as_secs_f64()
    );
    // The replay rewrote every open incident: vacuumed, as autovacuum would have them soon after.
    app.refresh_statistics(true).await?;

    let list = format!("{base}/api/v1/incidents?state=in_progress&sort=-updated_at&limit=50");
    let mut first = Vec::new();
    for _ in 0..o.reads {
        first.push(get(list.clone()).await?.0);
    }
    report("list: first page, state filter, by updated", first);

    // Walk 100 pages deep, then measure fetching that deep page.
    let mut cursor = String::new();
    for _ in 0..100 {
        let (_, v) = get(format!("{list}&cursor={cursor}")).await?;
        match v.get("next_cursor").and_then(Value::as_str) {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    let mut deep = Vec::new();
    for _ in 0..o.reads {
        deep.push(get(format!("{list}&cursor={cursor}")).await?.0);
    }
    report("list: page 100 (5,000 rows deep)", deep);

    let group = groups.first().map(|g| g.0).unwrap_or(0);
    let customer = orgs.first().map(|o| o.0).unwrap_or(0);
    let reads = o.reads;
    let word = |i: usize| WORDS.get(i % WORDS.len()).copied().unwrap_or("printer");
    let same = |url: String| vec![url; reads];
    let incidents = format!("{base}/api/v1/incidents");
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "list: open, one group, by priority",
            same(format!(
                "{incidents}?state=new,in_progress,on_hold&assignment_group_id={group}&sort=priority&limit=50"
            )),
        ),
        (
            // A filter with no index for the chosen sort: the rows of one customer, by priority.
            "list: one customer, by priority",
            same(format!(
                "{incidents}?organization_id={customer}&sort=priority&limit=50"
            )),
        ),
        (
            // Two filters that each match many records and together none (new incidents have no
            // group yet): no index serves both, so only a bounded walk keeps this fast.
            "list: new in one group (none), newest first",
            same(format!(
                "{incidents}?state=new&assignment_group_id={group}&sort=-updated_at&limit=50"
            )),
        ),
        (
            "list: one customer, one group, on hold, by priority",
            same(format!(
                "{incidents}?organization_id={customer}&assignment_group_id={group}&state=on_hold&sort=priority&limit=50"
            )),
        ),
        (
            "list: open, newest first",
            same(format!(
                "{incidents}?state=new,in_progress,on_hold&sort=-updated_at&limit=50"
            )),
        ),
        (
            "list: open, by due (the SLA queue)",
            same(format!("{incidents}?state=new,in_progress&sort=due&limit=50")),
        ),
        (
            "list: open in one group, by due",
            same(format!(
                "{incidents}?state=new,in_progress,on_hold&assignment_group_id={group}&sort=due&limit=50"
            )),
        ),
        (
            // As "new in one group" above, by due instant: no index serves both conditions.
            "list: new in one group (none), by due",
            same(format!(
                "{incidents}?state=new&assignment_group_id={group}&sort=due&limit=50"
            )),
        ),
        (
            // A kind's own indexed field (issue 16): filtered in the queue's order.
            "list: one category, newest first",
            same(format!("{incidents}?category=network&sort=-updated_at&limit=50")),
        ),
        (
            "list: open in one category, newest first",
            same(format!(
                "{incidents}?state=new,in_progress,on_hold&category=hardware&sort=-updated_at&limit=50"
            )),
        ),
        (
            // Sorted by a kind's own indexed field.
            "list: most reopened first",
            same(format!("{incidents}?sort=-reopen_count&limit=50")),
        ),
        (
            "list: one category, most reopened first",
            same(format!("{incidents}?category=software&sort=-reopen_count&limit=50")),
        ),
        (
            "search: one word, newest first",
            (0..reads)
                .map(|i| format!("{incidents}?q={}&limit=50", word(i)))
                .collect(),
        ),
        (
            "search: two words",
            (0..reads)
                .map(|i| format!("{incidents}?q={}+{}&limit=50", word(i), word(i * 7 + 3)))
                .collect(),
        ),
        (
            "search: one word, open only",
            (0..reads)
                .map(|i| format!("{incidents}?q={}&state=new,in_progress&limit=50", word(i)))
                .collect(),
        ),
        (
            // Each bench title ends with its own number: a term in a handful of records.
            "search: a rare term",
            (0..reads)
                .map(|_| {
                    format!(
                        "{incidents}?q=%23{}&limit=50",
                        rng.gen_range(1..=o.records.max(1))
                    )
                })
                .collect(),
        ),
        (
            "get one incident by number",
            (0..reads)
                .map(|_| format!("{incidents}/INC-{}", rng.gen_range(1..=o.records.max(1))))
                .collect(),
        ),
    ];
    for (name, urls) in cases {
        let mut samples = Vec::with_capacity(urls.len());
        for url in urls {
            samples.push(get(url).await?.0);
        }
        report(name, samples);
    }
    Ok(())
}

/// Creates `total` incidents through the API, split among `clients` concurrent clients; answers
/// each success's latency, the failures and the seconds it all took.
async fn create_burst(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    orgs: &[OrganizationId],
    clients: usize,
    total: usize,
    tag: &'static str,
) -> Result<(Vec<Duration>, usize, f64), CliError> {
    let per_client = total / clients.max(1);
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..clients {
        let http = http.clone();
        let url = url.to_owned();
        let token = token.to_owned();
        let org = orgs.get(c % orgs.len().max(1)).map(|o| o.0).unwrap_or(0);
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_client);
            let mut failures = 0usize;
            for i in 0..per_client {
                let body = json!({"title": format!("Bench printer outage {tag} {c}-{i}"), "description": "created by itsm bench",
                    "organization_id": org, "impact": "medium", "urgency": "high"});
                let t = Instant::now();
                // Reading the body to its end lets the connection go back to the pool.
                let created = match http.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) => r.status().as_u16() == 201 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                if created {
                    lat.push(t.elapsed());
                } else {
                    failures += 1;
                }
            }
            (lat, failures)
        }));
    }
    let mut lat = Vec::new();
    let mut failures = 0;
    for h in handles {
        let (l, f) = h.await?;
        lat.extend(l);
        failures += f;
    }
    Ok((lat, failures, started.elapsed().as_secs_f64()))
}

fn bench_incident(
    rng: &mut StdRng,
    i: usize,
    orgs: &[OrganizationId],
    groups: &[GroupId],
    agent: itsm_domain::UserId,
    now: jiff::Timestamp,
    span_secs: i64,
) -> (RecordFields, jiff::Timestamp) {
    let mut pick = |list: &[&'static str]| list.get(rng.gen_range(0..list.len())).copied().unwrap_or("x");
    let title = format!("{} {} {} #{i}", pick(&WORDS), pick(&WORDS), pick(&WORDS));
    let description = format!(
        "{} affecting {} since the {} change",
        pick(&WORDS),
        pick(&WORDS),
        pick(&WORDS)
    );
    let roll: f64 = rng.gen();
    let mut acc = 0.0;
    let mut state = "closed";
    for (s, share) in STATES {
        acc += share;
        if roll < acc {
            state = s;
            break;
        }
    }
    let mut details = serde_json::Map::new();
    details.insert("impact".into(), "medium".into());
    details.insert("urgency".into(), "medium".into());
    // The kind's own indexed fields, for the lists on them: a category for nearly every incident,
    // skewed as real ones are, and a few resolved incidents that were reopened.
    if rng.gen_bool(0.9) {
        let categories = itsm_domain::incident::CATEGORIES;
        let i = (rng.gen::<f64>().powi(2) * categories.len() as f64) as usize;
        details.insert(
            "category".into(),
            categories.get(i).copied().unwrap_or("other").into(),
        );
    }
    if matches!(state, "resolved" | "closed") && rng.gen_bool(0.08) {
        details.insert("reopen_count".into(), rng.gen_range(1..=4).into());
    }
    let group = (state != "new")
        .then(|| groups.get(rng.gen_range(0..groups.len())).copied())
        .flatten();
    let at = now
        .checked_sub(jiff::SignedDuration::from_secs(rng.gen_range(0..span_secs)))
        .unwrap_or(now);
    (
        RecordFields {
            organization_id: orgs.get(rng.gen_range(0..orgs.len())).copied(),
            title,
            description,
            state: state.into(),
            priority: Some(rng.gen_range(1..=5)),
            assignment_group_id: group,
            assignee_id: group.map(|_| agent),
            details,
            ..Default::default()
        },
        at,
    )
}
