//! What a person does in the web UI, in a real headless Chromium driven over WebDriver: sign in, log
//! an incident, assign it, work it through to closed, reply, and read its history.
//!
//! Needs Debian's `chromium` and `chromium-driver` (the README's test command installs them);
//! `ITSM_CHROMEDRIVER` and `ITSM_CHROMIUM` override their paths.

// A panic is how a test fails: unwrapping and indexing are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod webdriver {
    //! A minimal W3C WebDriver client over reqwest: the dozen calls these tests make. A full client
    //! crate would pull a large dependency tree into every test build for no gain here.

    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    use reqwest::Client;
    use serde_json::{json, Value};

    const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

    /// The full path of a program found on `PATH` (Chrome wants an absolute binary path).
    fn on_path(name: &str) -> String {
        std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| panic!("`{name}` is not on PATH; install it or run the README's test command"))
    }

    pub struct Driver {
        child: Child,
        http: Client,
        base: String,
        session: String,
        profile: std::path::PathBuf,
    }

    impl Driver {
        pub async fn start() -> Driver {
            let driver = std::env::var("ITSM_CHROMEDRIVER").unwrap_or_else(|_| on_path("chromedriver"));
            let chromium = std::env::var("ITSM_CHROMIUM").unwrap_or_else(|_| on_path("chromium"));
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(&driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {driver} ({e}); install chromium-driver or run the README's test command"));
            let http = Client::new();
            let base = format!("http://127.0.0.1:{port}");
            for _ in 0..100 {
                if http.get(format!("{base}/status")).send().await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let profile = std::env::temp_dir().join(format!("itsm-chromium-{}-{port}", std::process::id()));
            let caps = json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,900", format!("--user-data-dir={}", profile.display())
                ]}
            }}});
            let v: Value = http
                .post(format!("{base}/session"))
                .json(&caps)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let session = v["value"]["sessionId"]
                .as_str()
                .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
                .to_owned();
            Driver {
                child,
                http,
                base,
                session,
                profile,
            }
        }

        async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
            let url = format!("{}/session/{}{path}", self.base, self.session);
            let mut rb = self.http.request(method, url);
            if let Some(b) = body {
                rb = rb.json(&b);
            }
            let v: Value = rb.send().await.unwrap().json().await.unwrap();
            if v["value"].get("error").is_some() {
                panic!("WebDriver {path}: {}", v["value"]);
            }
            v["value"].clone()
        }

        pub async fn goto(&self, url: &str) {
            self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
                .await;
        }

        /// How many elements match `css` now, without waiting.
        pub async fn count(&self, css: &str) -> u64 {
            self.call(
                reqwest::Method::POST,
                "/execute/sync",
                Some(
                    json!({"script": "return document.querySelectorAll(arguments[0]).length", "args": [css]}),
                ),
            )
            .await
            .as_u64()
            .unwrap_or_else(|| panic!("counting `{css}` answered no number"))
        }

        pub async fn url(&self) -> String {
            self.call(reqwest::Method::GET, "/url", None)
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }

        /// Finds an element by CSS selector, waiting up to five seconds for it to appear.
        pub async fn find(&self, css: &str) -> String {
            for _ in 0..50 {
                let url = format!("{}/session/{}/element", self.base, self.session);
                let v: Value = self
                    .http
                    .post(url)
                    .json(&json!({"using": "css selector", "value": css}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if let Some(id) = v["value"][ELEMENT].as_str() {
                    return id.to_owned();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("no element matches `{css}` on {}", self.url().await)
        }

        pub async fn click(&self, css: &str) {
            let id = self.find(css).await;
            self.call(
                reqwest::Method::POST,
                &format!("/element/{id}/click"),
                Some(json!({})),
            )
            .await;
        }

        pub async fn fill(&self, css: &str, text: &str) {
            let id = self.find(css).await;
            self.call(
                reqwest::Method::POST,
                &format!("/element/{id}/clear"),
                Some(json!({})),
            )
            .await;
            self.call(
                reqwest::Method::POST,
                &format!("/element/{id}/value"),
                Some(json!({"text": text})),
            )
            .await;
        }

        /// Chooses the option with this visible label in a `<select>`.
        pub async fn choose(&self, select_css: &str, label: &str) {
            let select = self.find(select_css).await;
            let v = self
                .call(
                    reqwest::Method::POST,
                    &format!("/element/{select}/elements"),
                    Some(json!({"using": "css selector", "value": "option"})),
                )
                .await;
            for o in v.as_array().cloned().unwrap_or_default() {
                let id = o[ELEMENT].as_str().unwrap_or_default().to_owned();
                let text = self
                    .call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                    .await;
                if text.as_str() == Some(label) {
                    self.call(
                        reqwest::Method::POST,
                        &format!("/element/{id}/click"),
                        Some(json!({})),
                    )
                    .await;
                    return;
                }
            }
            panic!("no option `{label}` in `{select_css}`");
        }

        pub async fn text(&self, css: &str) -> String {
            let id = self.find(css).await;
            self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                .await
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }

        /// The element's text, or `None` while the page is changing under it.
        async fn try_text(&self, css: &str) -> Option<String> {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let v: Value = self
                .http
                .post(url)
                .json(&json!({"using": "css selector", "value": css}))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let id = v["value"][ELEMENT].as_str()?.to_owned();
            let url = format!("{}/session/{}/element/{id}/text", self.base, self.session);
            let v: Value = self.http.get(url).send().await.ok()?.json().await.ok()?;
            v["value"].as_str().map(str::to_owned)
        }

        /// Waits until the element's text contains `needle`, and returns the text.
        pub async fn wait_text(&self, css: &str, needle: &str) -> String {
            let mut last = String::new();
            for _ in 0..50 {
                if let Some(t) = self.try_text(css).await {
                    if t.contains(needle) {
                        return t;
                    }
                    last = t;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("`{css}` never contained `{needle}`; last text: {last}");
        }

        pub async fn quit(mut self) {
            let _ = self
                .http
                .delete(format!("{}/session/{}", self.base, self.session))
                .send()
                .await;
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

use std::sync::Arc;

use itsm_app::{App, Ctx, NewUserInput, Settings, SystemClock};
use itsm_domain::{RecordKind, Role};
use itsm_storage::testing::TestDb;
use itsm_storage::Backend;
use serde_json::json;
use webdriver::Driver;

async fn start_server(backend: Backend) -> (String, TestDb) {
    let (base, db, _) = start_server_with_app(backend).await;
    (base, db)
}

async fn start_server_with_app(backend: Backend) -> (String, TestDb, App) {
    let db = TestDb::new(backend).await.unwrap();
    let app = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
    let sys = Ctx::system();
    app.add_organization(&sys, "Provider", "provider").await.unwrap();
    app.add_organization(&sys, "Contoso", "customer").await.unwrap();
    let user = |name: &str, display: &str, role: Role, org: Option<&str>| NewUserInput {
        username: name.into(),
        display_name: Some(display.into()),
        email: None,
        role,
        organization: org.map(Into::into),
        password: Some("correct horse battery".into()),
    };
    let agent = app
        .add_user(&sys, &user("agent", "Alex Agent", Role::Agent, None))
        .await
        .unwrap();
    app.add_user(
        &sys,
        &user("carla", "Carla Caller", Role::Customer, Some("Contoso")),
    )
    .await
    .unwrap();
    app.add_group(&sys, "Service Desk", "", std::slice::from_ref(&agent.username))
        .await
        .unwrap();
    let email = app
        .create(
            &sys,
            RecordKind::SERVICE,
            json!({"name": "Email"}).as_object().unwrap(),
        )
        .await
        .unwrap();
    for offering in ["Executive mailbox", "Standard mailbox"] {
        app.create(
            &sys,
            RecordKind::SERVICE_OFFERING,
            json!({"name": offering, "service_id": email.record.id.0})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = itsm_web::router(app.clone(), itsm_web::WebSettings::default());
    tokio::spawn(async move { itsm_web::serve(listener, router).await });
    (base, db, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_logs_and_works_an_incident_to_closed() {
    let (base, db) = start_server(Backend::Sqlite).await;
    let d = Driver::start().await;

    // Signing in: a wrong password is refused, the right one lands on the queue.
    d.goto(&format!("{base}/incidents")).await;
    assert!(d.url().await.contains("/login"));
    d.fill("#username", "agent").await;
    d.fill("#password", "wrong password").await;
    d.click("button[type=submit]").await;
    d.wait_text("[role=alert]", "Wrong user name or password").await;
    d.fill("#password", "correct horse battery").await;
    d.click("button[type=submit]").await;
    d.wait_text("h1", "Incidents").await;

    // Logging an incident.
    d.click("a[href='/incidents/new']").await;
    d.fill("#title", "Mail server rejects attachments").await;
    d.fill(
        "#description",
        "Since 9:00 every mail with an attachment bounces.",
    )
    .await;
    d.choose("#organization_id", "Contoso").await;
    d.choose("#caller_id", "Carla Caller (Contoso)").await;
    d.choose("#impact", "High").await;
    d.choose("#urgency", "High").await;
    d.choose("#service_id", "Email").await;
    d.choose("#service_offering_id", "Email: Standard mailbox").await;
    d.click("form[action='/incidents/new'] button[type=submit]").await;
    d.wait_text("h1", "INC-1").await;
    assert_eq!(d.text("#priority").await, "1 - Critical");
    assert_eq!(d.text("#state").await, "New");
    assert_eq!(d.text("#offering").await, "Email: Standard mailbox");

    // Assigning it, and correcting the offering on the way.
    d.choose("#e-group", "Service Desk").await;
    d.choose("#e-assignee", "Alex Agent").await;
    d.choose("#e-offering", "Email: Executive mailbox").await;
    d.click("form[action$='/update'] button[type=submit]").await;
    d.wait_text("[role=status]", "Saved").await;
    assert_eq!(d.text("#assignee").await, "Alex Agent");
    assert_eq!(d.text("#offering").await, "Email: Executive mailbox");

    // Working it: start, reply, hold, resume, resolve, close.
    d.click("input[value=in_progress] + button").await;
    d.wait_text("#state", "In progress").await;
    d.fill("#body", "We are looking into the mail relay.").await;
    d.click("form[action$='/comments'] button[type=submit]").await;
    d.wait_text("[role=status]", "Added").await;
    assert!(d
        .text("body")
        .await
        .contains("We are looking into the mail relay."));
    d.click("details.transition summary").await;
    d.choose("#on_hold-on_hold_reason", "Awaiting supplier").await;
    d.click("form[action$='/state'] input[value=on_hold] ~ button")
        .await;
    d.wait_text("#state", "On hold").await;
    d.click("input[value=in_progress] + button").await;
    d.wait_text("#state", "In progress").await;
    // Resolving without notes is refused by the browser (required field); with notes it resolves.
    let resolve_summary = "details.transition:nth-of-type(2) summary";
    d.click(resolve_summary).await;
    d.choose("#resolved-resolution_code", "Workaround provided").await;
    d.fill(
        "#resolved-resolution_notes",
        "Raised the attachment size limit on the relay.",
    )
    .await;
    d.click("form[action$='/state'] textarea#resolved-resolution_notes ~ button")
        .await;
    d.wait_text("#state", "Resolved").await;
    // While it lives, the page offers to add to it.
    for form in ["/comments", "/links", "/attachments"] {
        let offered = d.count(&format!("form[action$='{form}']")).await;
        assert_eq!(offered, 1, "{form} not offered on a resolved incident");
    }
    // Closing ends the incident's life: the page asks first.
    d.click("details.transition summary").await;
    assert!(d
        .text("details.transition[open]")
        .await
        .contains("can no longer be changed"));
    d.click("input[value=closed] ~ button").await;
    d.wait_text("#state", "Closed").await;
    // A closed incident takes nothing more: no forms to comment, link or attach.
    for form in ["/comments", "/links", "/attachments"] {
        let offered = d.count(&format!("form[action$='{form}']")).await;
        assert_eq!(offered, 0, "{form} offered on a closed incident");
    }

    // The history tells the whole story, with who did it.
    let history = d.text("#history").await;
    for expected in [
        "state: — → new",
        "state: new → in_progress",
        "state: in_progress → on_hold",
        "on hold reason: — → awaiting_supplier",
        "state: on_hold → in_progress",
        "state: in_progress → resolved",
        "resolution code: — → workaround_provided",
        "state: resolved → closed",
        "assignee: — → Alex Agent",
        "service offering: Email: Standard mailbox → Email: Executive mailbox",
        "commented: public reply",
    ] {
        assert!(
            history.contains(expected),
            "history lacks `{expected}`:\n{history}"
        );
    }
    assert!(history.contains("Alex Agent"));

    // The queue finds it by search, and the closed incident is out of the open view.
    d.goto(&format!("{base}/incidents?q=attachments&state=all")).await;
    assert!(d.text("table").await.contains("INC-1"));
    d.goto(&format!("{base}/incidents")).await;
    assert!(d.text("table").await.contains("No incidents match"));

    // Signing out ends the session.
    d.click("header form button").await;
    d.wait_text("h1", "Sign in").await;
    d.goto(&format!("{base}/incidents")).await;
    assert!(d.url().await.contains("/login"));

    d.quit().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_sees_only_their_organization_and_no_internal_notes() {
    let (base, db, app) = start_server_with_app(Backend::Sqlite).await;
    let sys = Ctx::system();
    // Another customer's incident, and one of Contoso's with an internal note and a public reply.
    let other = app.add_organization(&sys, "Globex", "customer").await.unwrap();
    let input = |org, title: &str| itsm_app::incidents::NewIncidentInput {
        organization_id: Some(org),
        title: title.into(),
        ..Default::default()
    };
    let contoso = app
        .organizations(&sys)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == "Contoso")
        .unwrap()
        .id;
    let theirs = app
        .create_incident(&sys, input(other.id, "Globex secret outage"))
        .await
        .unwrap();
    let ours = app
        .create_incident(&sys, input(contoso, "Contoso printer broken"))
        .await
        .unwrap();
    let ours_no = ours.record.readable_number().to_string();
    app.add_comment(
        &sys,
        RecordKind::INCIDENT,
        &ours_no,
        "Internal: vendor is slow",
        true,
    )
    .await
    .unwrap();
    app.add_comment(
        &sys,
        RecordKind::INCIDENT,
        &ours_no,
        "A technician is on the way",
        false,
    )
    .await
    .unwrap();

    let d = Driver::start().await;
    d.goto(&format!("{base}/login")).await;
    d.fill("#username", "carla").await;
    d.fill("#password", "correct horse battery").await;
    d.click("button[type=submit]").await;
    d.wait_text("h1", "Incidents").await;
    let queue = d.text("table").await;
    assert!(queue.contains("Contoso printer broken"), "{queue}");
    assert!(!queue.contains("Globex"), "{queue}");

    // Her own incident: the public reply, not the internal note, and no controls to work it,
    // only to withdraw it.
    d.goto(&format!("{base}/incidents/{ours_no}")).await;
    let page = d.text("body").await;
    assert!(page.contains("A technician is on the way"));
    assert!(
        !page.contains("vendor is slow"),
        "internal note shown to a customer"
    );
    let moves = d.text("section[aria-labelledby=h-state]").await;
    assert!(moves.contains("Cancel"), "{moves}");
    for staff_only in ["Start work", "Resolve", "Put on hold"] {
        assert!(!moves.contains(staff_only), "{staff_only} offered to a customer");
    }
    assert!(!page.contains("Classify and assign"));

    // Another organization's incident does not exist for her.
    d.goto(&format!("{base}/incidents/{}", theirs.record.readable_number()))
        .await;
    assert!(d.text("body").await.contains("not found"));

    // She logs an incident for her own organization, without choosing one.
    d.click("a[href='/incidents']").await;
    d.click("a[href='/incidents/new']").await;
    d.fill("#title", "Badge reader rejects my card").await;
    d.click("form[action='/incidents/new'] button[type=submit]").await;
    d.wait_text("h1", "Badge reader").await;
    assert!(d.text("body").await.contains("caller Carla Caller · Contoso"));
    // Logged by mistake: she withdraws it, saying why, after the page asks.
    d.click("details.transition summary").await;
    assert!(d
        .text("details.transition[open]")
        .await
        .contains("can no longer be changed"));
    d.fill("#cancelled-cancel_reason", "Logged twice by mistake")
        .await;
    d.click("input[value=cancelled] ~ button").await;
    d.wait_text("#state", "Cancelled").await;

    d.quit().await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_sees_time_left_and_why_and_asks_a_calendar() {
    use itsm_app::incidents::NewIncidentInput;
    use itsm_app::service_levels::{AgreementChange, AgreementInput, CalendarInput};
    use itsm_domain::calendar::{CalendarDefinition, WorkingHoursDefinition};
    use itsm_domain::incident::Level;
    use itsm_domain::sla::Metric;
    use itsm_domain::slm::{AgreementTerms, AgreementType, ServiceLevelTarget};

    let (base, db, app) = start_server_with_app(Backend::Sqlite).await;
    let sys = Ctx::system();
    let contoso = app
        .organizations(&sys)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.name == "Contoso")
        .unwrap();
    let cal = app
        .create_calendar(
            &sys,
            CalendarInput {
                name: "Round the clock".into(),
                description: String::new(),
                definition: CalendarDefinition {
                    time_zone: "UTC".into(),
                    working_hours: WorkingHoursDefinition::Named("24x7".into()),
                    holidays: vec![],
                },
                is_default: true,
            },
        )
        .await
        .unwrap();
    let agreement = app
        .create_agreement(
            &sys,
            AgreementInput {
                title: "Contoso standard".into(),
                description: String::new(),
                organization_id: Some(contoso.id),
                assignment_group_id: None,
                owner_id: None,
                terms: AgreementTerms {
                    agreement_type: AgreementType::ServiceLevelAgreement,
                    service_ids: vec![],
                    valid_from: "2020-01-01".parse().unwrap(),
                    valid_until: None,
                    review_date: None,
                    calendar_id: Some(cal.record.id.0),
                    targets: vec![ServiceLevelTarget::for_incidents(
                        "Resolution",
                        Metric::Resolution,
                        &[],
                        8 * 60,
                    )],
                },
            },
        )
        .await
        .unwrap();
    app.update_agreement(
        &sys,
        "AGR-1",
        Some(agreement.record.version),
        AgreementChange {
            state: Some("active".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    app.create_incident(
        &sys,
        NewIncidentInput {
            organization_id: Some(contoso.id),
            title: "Printer jammed".into(),
            impact: Some(Level::Low),
            urgency: Some(Level::Low),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let d = Driver::start().await;
    d.goto(&format!("{base}/login")).await;
    d.fill("#username", "agent").await;
    d.fill("#password", "correct horse battery").await;
    d.click("button[type=submit]").await;
    d.wait_text("h1", "Incidents").await;
    // The queue shows time left, coloured as on time.
    let cell = d.text("td.sla-ok").await;
    assert!(cell.contains("left"), "{cell}");

    // The incident's panel says which agreement applied, and why.
    d.click("a[href='/incidents/INC-1']").await;
    d.wait_text("h1", "INC-1").await;
    let panel = d.text("#sla").await;
    assert!(
        panel.contains("Resolution") && panel.contains("running"),
        "{panel}"
    );
    assert!(panel.contains("AGR-1"), "{panel}");

    // The agreement names its calendar, as a link, never by its id.
    d.click("a[href='/service-levels']").await;
    d.wait_text("#agreements", "Contoso standard").await;
    d.goto(&format!("{base}/agreements/AGR-1")).await;
    d.wait_text("h1", "AGR-1").await;
    let page = d.text("main").await;
    assert!(!page.contains(" #"), "an id shown for a name: {page}");
    d.click("main a[href='/calendars/CAL-1']").await;
    d.wait_text("h1", "CAL-1").await;

    // A service owner asks the calendar when eight business hours from a start are due.
    d.click("a[href='/service-levels']").await;
    d.wait_text("#agreements", "Contoso standard").await;
    d.click("a[href='/calendars/CAL-1']").await;
    d.wait_text("h1", "CAL-1").await;
    d.fill("#start", "2026-11-27T16:00:00Z").await;
    d.fill("#minutes", "480").await;
    d.click("form[action='/calendars/CAL-1'] button[type=submit]")
        .await;
    d.wait_text("#due", "2026-11-28T00:00:00+00:00").await;

    // The attainment report renders its chart and table (nothing has ended yet).
    d.click("a[href='/service-levels']").await;
    d.click("a[href='/reports/sla']").await;
    d.wait_text("h1", "SLA attainment").await;
    d.wait_text("#attainment", "Group").await;
    d.find("svg.chart").await;
    d.quit().await;
    db.cleanup().await;
}
