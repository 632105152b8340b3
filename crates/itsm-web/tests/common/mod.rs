//! The test server every API test starts: a real TCP socket over a fresh database of either backend,
//! with a provider, two customers, users of every role with API tokens, and a clock tests can set.

// A panic is how a test fails: unwrapping and indexing are fine here. Each test binary uses a part.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code
)]

use std::sync::{Arc, Mutex};

use itsm_app::{App, Clock, Ctx, NewUserInput, Settings};
use itsm_domain::Role;
use itsm_storage::testing::TestDb;
use itsm_storage::Backend;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

/// Runs each named test once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(itsm_storage::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(itsm_storage::Backend::Postgres).await } )* }
    };
}

/// The system clock until a test sets the time.
#[derive(Debug, Default)]
pub struct TestClock(Mutex<Option<jiff::Timestamp>>);

impl Clock for TestClock {
    fn now(&self) -> jiff::Timestamp {
        self.0
            .lock()
            .ok()
            .and_then(|g| *g)
            .unwrap_or_else(jiff::Timestamp::now)
    }
}

impl TestClock {
    pub fn set(&self, at: &str) {
        *self.0.lock().unwrap() = Some(at.parse().unwrap());
    }
}

/// The bearer token `/metrics` answers to on the test server's main listener.
pub const METRICS_TOKEN: &str = "metrics-token-for-tests";

pub struct Server {
    pub base: String,
    /// The listener that serves `/metrics` alone, without a token.
    pub metrics_base: String,
    pub http: Client,
    pub db: Option<TestDb>,
    pub agent: String,
    pub customer_a: String,
    pub customer_b: String,
    pub auditor: String,
    pub org_a: i64,
    pub org_b: i64,
    pub group: i64,
    pub agent_id: i64,
    pub app: App,
    pub admin: String,
    pub clock: Arc<TestClock>,
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        let db = TestDb::new(backend).await.expect("test database");
        let clock = Arc::new(TestClock::default());
        let app = App::new(
            db.store.clone(),
            clock.clone(),
            Settings {
                max_attachment_bytes: 64 * 1024,
                ..Default::default()
            },
        );
        let sys = Ctx::system();
        app.add_organization(&sys, "Provider", "provider").await.unwrap();
        let a = app
            .add_organization(&sys, "Customer A", "customer")
            .await
            .unwrap();
        let b = app
            .add_organization(&sys, "Customer B", "customer")
            .await
            .unwrap();
        let user = |name: &str, role: Role, org: Option<&str>| NewUserInput {
            username: name.into(),
            display_name: Some(format!("{name} person")),
            email: None,
            role,
            organization: org.map(Into::into),
            password: None,
        };
        let agent = app
            .add_user(&sys, &user("agent", Role::Agent, None))
            .await
            .unwrap();
        app.add_user(&sys, &user("alice", Role::Customer, Some("Customer A")))
            .await
            .unwrap();
        app.add_user(&sys, &user("bob", Role::Customer, Some("Customer B")))
            .await
            .unwrap();
        app.add_user(&sys, &user("audrey", Role::Auditor, None))
            .await
            .unwrap();
        app.add_user(&sys, &user("adam", Role::Administrator, None))
            .await
            .unwrap();
        let group = app
            .add_group(&sys, "Service Desk", "", &["agent".to_owned()])
            .await
            .unwrap();
        let token = |u: &'static str| {
            let app = app.clone();
            async move { app.create_token(&Ctx::system(), u, "test").await.unwrap() }
        };
        let (agent_t, alice_t, bob_t, audrey_t, adam_t) = (
            token("agent").await,
            token("alice").await,
            token("bob").await,
            token("audrey").await,
            token("adam").await,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routers = itsm_web::routers(
            app.clone(),
            itsm_web::WebSettings {
                metrics_token: Some(METRICS_TOKEN.into()),
                // Tests play clients at many addresses through this header.
                client_address_header: Some(itsm_web::http::HeaderName::from_static("x-forwarded-for")),
                ..Default::default()
            },
        );
        let metrics_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_addr = metrics_listener.local_addr().unwrap();
        tokio::spawn(async move { itsm_web::serve(listener, routers.main).await });
        tokio::spawn(async move { itsm_web::serve(metrics_listener, routers.metrics).await });
        Server {
            app,
            base: format!("http://{addr}"),
            metrics_base: format!("http://{metrics_addr}"),
            http: Client::new(),
            db: Some(db),
            agent: agent_t,
            customer_a: alice_t,
            customer_b: bob_t,
            auditor: audrey_t,
            org_a: a.id.0,
            org_b: b.id.0,
            group: group.id.0,
            agent_id: agent.id.0,
            admin: adam_t,
            clock,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Response {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Attaches one file to the record at `record_path` (`/api/v1/incidents/INC-1`) as `token`.
    pub async fn attach(
        &self,
        token: &str,
        record_path: &str,
        filename: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Response {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(filename.to_owned())
                .mime_str(mime)
                .unwrap(),
        );
        self.http
            .post(self.url(&format!("{record_path}/attachments")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, token: &str, path: &str, version: Option<i64>, body: Value) -> Response {
        let mut rb = self.http.patch(self.url(path)).bearer_auth(token).json(&body);
        if let Some(v) = version {
            rb = rb.header("If-Match", format!("\"{v}\""));
        }
        rb.send().await.unwrap()
    }

    /// An incident (by number or id) as `token` reads it through the API.
    pub async fn read_incident(&self, token: &str, reference: &str) -> Value {
        let r = self.get(token, &format!("/api/v1/incidents/{reference}")).await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    pub async fn incident(&self, token: &str, body: Value) -> Value {
        let r = self.post(token, "/api/v1/incidents", body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.unwrap()
    }

    pub async fn count(&self) -> usize {
        let v: Value = self
            .get(&self.agent, "/api/v1/incidents?limit=200")
            .await
            .json()
            .await
            .unwrap();
        v["items"].as_array().unwrap().len()
    }

    pub async fn stop(mut self) {
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// A browser of the UI, signed in: a client that does not follow redirects, the session cookie
/// to send and the CSRF token its forms carry.
pub struct Browser {
    pub http: Client,
    /// The session cookie to send, `itsm_session=...`.
    pub cookie: String,
    /// The whole `Set-Cookie` header the sign-in answered, with its attributes.
    pub set_cookie: String,
    pub csrf: String,
}

impl Server {
    /// Creates `username` with `role` (and organization, for a customer) and signs in as them.
    pub async fn browser(&self, username: &str, role: Role, organization: Option<&str>) -> Browser {
        let password = format!("{username}'s long password");
        let input = NewUserInput {
            username: username.into(),
            display_name: None,
            email: None,
            role,
            organization: organization.map(Into::into),
            password: Some(password.clone()),
        };
        self.app.add_user(&Ctx::system(), &input).await.unwrap();
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = http
            .post(self.url("/login"))
            .form(&[("username", username), ("password", &password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        // Every page holds the token (the sign-out form), whatever the role may do.
        let page = http
            .get(self.url("/incidents"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = page
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        Browser {
            http,
            cookie,
            set_cookie,
            csrf,
        }
    }
}

impl Browser {
    /// Posts a form with the CSRF token added.
    pub async fn post(&self, s: &Server, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        form.extend_from_slice(fields);
        self.http
            .post(s.url(path))
            .header("cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, s: &Server, path: &str) -> Response {
        self.http
            .get(s.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
    }
}

pub async fn problem(r: Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], status.as_u16());
    assert!(
        !v["request_id"].as_str().unwrap().is_empty(),
        "problem without request id: {v}"
    );
    v
}

pub fn fields(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect()
}
