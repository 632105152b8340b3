//! The probes of the security and robustness review (issue 15), on both databases: each pins a
//! defect the review found, and failed before its fix.

use super::common::{fields, problem, Server};
use itsm_app::Ctx;
use itsm_domain::RecordKind;
use itsm_domain::Role;
use itsm_storage::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

crate::both!(
    customers_read_what_the_provider_publishes_and_write_nothing_on_it,
    control_characters_are_refused_at_the_edge_on_both_databases,
    sign_in_counts_attempts_per_name_and_source_and_never_locks_the_owner_out,
    pages_and_answers_are_not_kept_by_browsers,
    weak_etags_never_match_and_numbers_have_ranges,
    who_may_act_is_checked_before_what_they_sent_is_read,
    history_of_links_shows_customers_only_records_they_may_see,
    errors_the_framework_would_answer_are_problems_with_the_request_id,
);

async fn customers_read_what_the_provider_publishes_and_write_nothing_on_it(backend: Backend) {
    let s = Server::start(backend).await;
    let sys = Ctx::system();
    let service = s
        .app
        .create(
            &sys,
            RecordKind::SERVICE,
            json!({"name": "Mail"}).as_object().unwrap(),
        )
        .await
        .unwrap();
    let offering = s
        .app
        .create(
            &sys,
            RecordKind::SERVICE_OFFERING,
            json!({"name": "Mail, gold", "service_id": service.record.id.0})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
    let r = s
        .post(
            &s.admin,
            "/api/v1/calendars",
            json!({"name": "Always", "time_zone": "UTC", "working_hours": "24x7"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let calendar: Value = r.json().await.unwrap();
    let published = [
        format!("/api/v1/services/{}", service.record.readable_number()),
        format!("/api/v1/service-offerings/{}", offering.record.readable_number()),
        format!("/api/v1/calendars/{}", calendar["number"].as_str().unwrap()),
    ];
    for path in &published {
        // Customers read what the provider publishes ...
        assert_eq!(
            s.get(&s.customer_a, path).await.status(),
            StatusCode::OK,
            "{path}"
        );
        // ... and write nothing on it: no comment, no attachment, no link.
        let r = s
            .post(
                &s.customer_a,
                &format!("{path}/comments"),
                json!({"body": "mine now"}),
            )
            .await;
        problem(r, StatusCode::FORBIDDEN).await;
        let r = s
            .attach(&s.customer_a, path, "note.txt", "text/plain", b"hello".to_vec())
            .await;
        problem(r, StatusCode::FORBIDDEN).await;
        let r = s
            .post(
                &s.customer_a,
                &format!("{path}/links"),
                json!({"target": "INC-1", "link_type": "relates_to"}),
            )
            .await;
        problem(r, StatusCode::FORBIDDEN).await;
        // Nothing was written: the other customer reads no comment, no attachment, no history of it.
        for part in ["comments", "attachments"] {
            let v: Value = s
                .get(&s.customer_b, &format!("{path}/{part}"))
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(v, json!([]), "{path}/{part}");
        }
        let history: Value = s
            .get(&s.customer_b, &format!("{path}/history"))
            .await
            .json()
            .await
            .unwrap();
        assert!(
            history
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["action"] != "commented" && e["action"] != "attached"),
            "{history}"
        );
        // Staff still comment on it.
        let r = s
            .post(
                &s.agent,
                &format!("{path}/comments"),
                json!({"body": "planned work on Sunday"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{path}");
    }
    // An agreement with the customer is theirs to read and the provider's to keep.
    let agreement: Value = s
        .post(
            &s.admin,
            "/api/v1/agreements",
            json!({"title": "Gold", "organization_id": s.org_a, "terms": {
                "agreement_type": "service_level_agreement", "valid_from": "2026-01-01", "targets": []}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/agreements/{}", agreement["number"].as_str().unwrap());
    assert_eq!(s.get(&s.customer_a, &path).await.status(), StatusCode::OK);
    let r = s
        .post(&s.customer_a, &format!("{path}/comments"), json!({"body": "x"}))
        .await;
    problem(r, StatusCode::FORBIDDEN).await;
    // On their own incident, customers reply and attach files; an empty reply is named.
    let inc = s
        .incident(&s.customer_a, json!({"title": "Printer jammed"}))
        .await;
    let path = format!("/api/v1/incidents/{}", inc["number"].as_str().unwrap());
    let r = s
        .post(
            &s.customer_a,
            &format!("{path}/comments"),
            json!({"body": "still jammed"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let p = problem(
        s.post(&s.customer_a, &format!("{path}/comments"), json!({"body": " "}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["body"]);
    let r = s
        .attach(&s.customer_a, &path, "note.txt", "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The other customer cannot even tell the incident exists.
    let r = s
        .post(&s.customer_b, &format!("{path}/comments"), json!({"body": " "}))
        .await;
    problem(r, StatusCode::NOT_FOUND).await;
    s.stop().await;
}

/// A NUL (or any control character but tab and newline) in any text answers 422 naming the field
/// on both databases, and stores nothing; PostgreSQL answered 500 before.
async fn control_characters_are_refused_at_the_edge_on_both_databases(backend: Backend) {
    let s = Server::start(backend).await;
    let before = s.count().await;
    for (body, field) in [
        (json!({"title": "a\u{0}b", "organization_id": s.org_a}), "title"),
        (
            json!({"title": "ok", "description": "x\u{7}y", "organization_id": s.org_a}),
            "description",
        ),
        (
            json!({"title": "ok", "organization_id": s.org_a, "impact": "hi\u{0}gh"}),
            "impact",
        ),
    ] {
        let p = problem(
            s.post(&s.agent, "/api/v1/incidents", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(fields(&p), [field]);
    }
    assert_eq!(s.count().await, before);
    // Nested fields are named by their path.
    let p = problem(
        s.post(
            &s.admin,
            "/api/v1/agreements",
            json!({"title": "Gold", "organization_id": s.org_a, "terms": {
                "agreement_type": "service_level_agreement", "valid_from": "2026-01-01",
                "targets": [{"name": "bad\u{1b}[31m", "metric": "resolution", "minutes": 60}]}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["terms.targets[0].name"]);
    // Tab and newlines are text.
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Mail\tdown", "description": "line one\r\nline two\n", "organization_id": s.org_a}),
        )
        .await;
    let number = inc["number"].as_str().unwrap().to_owned();
    assert_eq!(inc["description"], "line one\r\nline two");
    let path = format!("/api/v1/incidents/{number}");
    let p = problem(
        s.patch(&s.agent, &path, Some(1), json!({"description": "\u{0}"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["description"]);
    let p = problem(
        s.post(&s.agent, &format!("{path}/comments"), json!({"body": "nul\u{0}"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["body"]);
    let p = problem(
        s.get(&s.agent, "/api/v1/incidents?q=a%00b").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["q"]);
    let read = s.read_incident(&s.agent, &number).await;
    assert_eq!(read["version"], 1, "nothing was changed: {read}");
    let comments: Value = s
        .get(&s.agent, &format!("{path}/comments"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(comments, json!([]));
    // The UI's forms refuse it the same way, naming the field, and store nothing.
    let b = s.browser("paula", Role::Agent, None).await;
    let r = b
        .post(
            &s,
            "/incidents/new",
            &[("title", "a\u{0}b"), ("organization_id", &s.org_a.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("title") && page.contains("U+0000"), "{page}");
    let r = b
        .post(
            &s,
            &format!("/incidents/{number}/comments"),
            &[("body", "x\u{0}")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(s.count().await, before + 1);
    s.stop().await;
}

/// Signs in from `source` (the address the test server reads from `x-forwarded-for`).
async fn sign_in(s: &Server, username: &str, password: &str, source: &str, next: &str) -> reqwest::Response {
    sign_in_at(
        s.url("/login"),
        username.into(),
        password.into(),
        source.into(),
        next.into(),
    )
    .await
}

async fn sign_in_at(
    url: String,
    username: String,
    password: String,
    source: String,
    next: String,
) -> reqwest::Response {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    http.post(url)
        .header("x-forwarded-for", format!("10.9.9.9, {source}"))
        .form(&[("username", username), ("password", password), ("next", next)])
        .send()
        .await
        .unwrap()
}

async fn sign_in_counts_attempts_per_name_and_source_and_never_locks_the_owner_out(backend: Backend) {
    let s = Server::start(backend).await;
    s.browser("paula", Role::Agent, None).await;
    let right = "paula's long password";
    // Thirty-two wrong passwords at once from one source: each is counted before it is checked,
    // so only the limit's worth are checked; the others wait, told for how long.
    let attempts = (0..32).map(|_| {
        sign_in_at(
            s.url("/login"),
            "paula".into(),
            "guess".into(),
            "198.51.100.7".into(),
            "/incidents".into(),
        )
    });
    let answers = futures_join_all(attempts).await;
    let checked = answers
        .iter()
        .filter(|r| r.status() == StatusCode::UNAUTHORIZED)
        .count();
    let throttled: Vec<_> = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    assert_eq!((checked, throttled.len()), (5, 27));
    for r in &throttled {
        let secs: i64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=900).contains(&secs), "{secs}");
    }
    // The attacker's source gets nothing more, not even with the right password ...
    let r = sign_in(&s, "paula", right, "198.51.100.7", "/incidents").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // ... but paula, from a source that has not failed, is not locked out.
    let r = sign_in(&s, "paula", right, "203.0.113.1", "/incidents").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("itsm_session="));
    // One password sprayed over forty user names from one source: stopped at the source's limit.
    let mut answered = Vec::new();
    for i in 0..40 {
        answered.push(
            sign_in(&s, &format!("user{i}"), "Winter2026!", "198.51.100.8", "/")
                .await
                .status(),
        );
    }
    let tried = answered
        .iter()
        .filter(|st| **st == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(tried, 20, "{answered:?}");
    assert!(answered[20..]
        .iter()
        .all(|st| *st == StatusCode::TOO_MANY_REQUESTS));

    // `next` is a path on this site, or home: never another host, never a server error.
    for next in [
        "/\n/evil.example/",
        "/\t/evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let r = sign_in(&s, "paula", right, "203.0.113.2", next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.headers()["location"], "/incidents", "{next:?}");
    }
    let r = sign_in(&s, "paula", right, "203.0.113.2", "/incidents/INC-1?tab=history").await;
    assert_eq!(r.headers()["location"], "/incidents/INC-1?tab=history");
    for query in ["next=%2F%0A%2Fevil.example%2F", "next=/%09/evil.example/"] {
        let page = s
            .http
            .get(s.url(&format!("/login?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(
            page.contains("name=\"next\" value=\"/incidents\""),
            "{query}: {page}"
        );
    }
    s.stop().await;
}

/// Runs futures at once and answers their results in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

async fn pages_and_answers_are_not_kept_by_browsers(backend: Backend) {
    use tower::ServiceExt;
    let s = Server::start(backend).await;
    let b = s.browser("paula", Role::Agent, None).await;
    for path in ["/incidents", "/incidents/new", "/service-levels"] {
        let r = b.get(&s, path).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["cache-control"], "no-store", "{path}");
        assert!(r.headers().get("strict-transport-security").is_none());
    }
    let r = s.get(&s.agent, "/api/v1/incidents").await;
    assert_eq!(r.headers()["cache-control"], "no-store");
    let r = s.http.get(s.url("/static/app.css")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    // Behind HTTPS (secure cookies on), browsers are told to keep to HTTPS.
    let secure = itsm_web::router(
        s.app.clone(),
        itsm_web::WebSettings {
            secure_cookies: true,
            ..Default::default()
        },
    );
    let r = secure
        .clone()
        .oneshot(
            axum::http::Request::get("/login")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    // Without a metrics token, the main listener does not serve the metrics at all.
    let r = secure
        .oneshot(
            axum::http::Request::get("/metrics")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    s.stop().await;
}

async fn weak_etags_never_match_and_numbers_have_ranges(backend: Backend) {
    let s = Server::start(backend).await;
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a}),
        )
        .await;
    let path = format!("/api/v1/incidents/{}", inc["number"].as_str().unwrap());
    // If-Match compares strongly: a weak tag of the current version matches nothing.
    let r = s
        .http
        .patch(s.url(&path))
        .bearer_auth(&s.agent)
        .header("if-match", "W/\"1\"")
        .json(&json!({"title": "changed"}))
        .send()
        .await
        .unwrap();
    let p = problem(r, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(p["current_version"], 1);
    assert_eq!(
        s.read_incident(&s.agent, inc["number"].as_str().unwrap()).await["title"],
        "Mail down"
    );
    let r = s
        .patch(&s.agent, &path, Some(1), json!({"title": "changed"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Every numeric parameter has a range; outside it, 422 names the parameter.
    for (query, field) in [
        ("/api/v1/reports/sla-attainment?limit=2147483648", "limit"),
        ("/api/v1/reports/sla-breaches?limit=2147483648", "limit"),
        ("/api/v1/reports/sla-breaches?limit=0", "limit"),
        ("/api/v1/reports/sla-breaches?limit=99999999999999999999", "limit"),
        ("/api/v1/incidents?limit=201", "limit"),
        ("/api/v1/incidents?limit=-1", "limit"),
        ("/api/v1/incidents?priority=70000", "priority"),
        ("/api/v1/incidents?organization_id=1e3", "organization_id"),
        (&format!("{path}/history?limit=1001"), "limit"),
        (&format!("{path}/history?after=-1"), "after"),
    ] {
        let p = problem(s.get(&s.agent, query).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(fields(&p), [field], "{query}: {p}");
    }
    let p = problem(
        s.get(&s.admin, "/api/v1/events?limit=5000").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["limit"]);
    // A computation that cannot answer says so, rather than answering less.
    let r = s
        .post(
            &s.admin,
            "/api/v1/calendars",
            json!({"name": "Always", "time_zone": "UTC", "working_hours": "24x7"}),
        )
        .await;
    let cal: Value = r.json().await.unwrap();
    let cal = format!("/api/v1/calendars/{}", cal["number"].as_str().unwrap());
    let p = problem(
        s.post(
            &s.agent,
            &format!("{cal}/elapsed"),
            json!({"from": "2026-01-01T00:00:00Z", "to": "3026-01-01T00:00:00Z"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["to"]);
    let ok: Value = s
        .post(
            &s.agent,
            &format!("{cal}/elapsed"),
            json!({"from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["business_minutes"], 1440);
    let p = problem(
        s.post(
            &s.agent,
            &format!("{cal}/due"),
            json!({"start": "2026-01-01T00:00:00Z", "business_minutes": 5_270_401}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["business_minutes"]);
    // The ranges are in the OpenAPI document.
    let doc: Value = s
        .http
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let params = doc["paths"]["/api/v1/reports/sla-breaches"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(
        (
            limit["schema"]["minimum"].as_f64(),
            limit["schema"]["maximum"].as_f64()
        ),
        (Some(1.0), Some(10000.0)),
        "{limit}"
    );
    s.stop().await;
}

async fn who_may_act_is_checked_before_what_they_sent_is_read(backend: Backend) {
    let s = Server::start(backend).await;
    let r = s
        .post(
            &s.admin,
            "/api/v1/calendars",
            json!({"name": "Always", "time_zone": "UTC", "working_hours": "24x7"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a}),
        )
        .await;
    let inc = format!("/api/v1/incidents/{}", inc["number"].as_str().unwrap());
    // Bodies that are wrong in every way (not JSON, unknown fields, a NUL) from callers who may
    // not send them at all: 403, never 422.
    let bad_bodies = [
        json!({"colour": "\u{0}"}),
        json!("not an object"),
        json!({"name": 7, "working_hours": "never"}),
    ];
    for body in &bad_bodies {
        for (token, method, path) in [
            (&s.auditor, "PATCH", "/api/v1/calendars/CAL-1"),
            (&s.auditor, "POST", "/api/v1/calendars"),
            (&s.agent, "POST", "/api/v1/agreements"),
            // A customer may move their incident (withdraw, confirm, reopen), so their change is
            // read; an auditor moves nothing.
            (&s.auditor, "PATCH", inc.as_str()),
            (&s.auditor, "POST", "/api/v1/incidents"),
            (&s.auditor, "POST", &format!("{inc}/comments")),
            (&s.customer_a, "POST", &format!("{inc}/links")),
            (&s.agent, "POST", "/api/v1/service-levels/recompute"),
            (&s.customer_a, "POST", "/api/v1/services"),
        ] {
            let r = s
                .http
                .request(method.parse().unwrap(), s.url(path))
                .bearer_auth(token)
                .header("if-match", "\"1\"")
                .json(body)
                .send()
                .await
                .unwrap();
            problem(r, StatusCode::FORBIDDEN).await;
        }
        // Without a token at all: 401.
        let r = s
            .http
            .post(s.url("/api/v1/incidents"))
            .json(body)
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::UNAUTHORIZED).await;
    }
    // The same in the UI: an auditor's forged form changes nothing and reads as forbidden.
    let b = s.browser("audra", Role::Auditor, None).await;
    // A report asked for backwards says which field is wrong, in the form, filled in.
    let r = b.get(&s, "/reports/sla?from=2026-05-01&to=2026-04-01").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("To: is before from"), "{page}");
    assert!(page.contains("value=\"2026-05-01\""), "{page}");
    // Nor is the auditor offered the form: not in the navigation, and asked for, a full page
    // that says why, within the site's frame, with the request id to quote.
    let queue = b.get(&s, "/incidents").await.text().await.unwrap();
    assert!(queue.contains("href=\"/incidents\""), "{queue}");
    assert!(!queue.contains("href=\"/incidents/new\""), "{queue}");
    let r = b.get(&s, "/incidents/new").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("not log them") && page.contains("Request id: "),
        "{page}"
    );
    assert!(page.contains("<header class=\"top\">"), "{page}");
    for path in [
        "/incidents/new",
        "/incidents/INC-1/update",
        "/incidents/INC-1/state",
        "/incidents/INC-1/comments",
    ] {
        let r = b.post(&s, path, &[("title", "a\u{0}b"), ("body", "x")]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    s.stop().await;
}

async fn history_of_links_shows_customers_only_records_they_may_see(backend: Backend) {
    let s = Server::start(backend).await;
    let mine = s
        .incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a}),
        )
        .await;
    let also_mine = s
        .incident(
            &s.agent,
            json!({"title": "Mail slow", "organization_id": s.org_a}),
        )
        .await;
    let theirs = s
        .incident(
            &s.agent,
            json!({"title": "Mail down too", "organization_id": s.org_b}),
        )
        .await;
    let number = |v: &Value| v["number"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/incidents/{}", number(&mine));
    for other in [&theirs, &also_mine] {
        let r = s
            .post(
                &s.agent,
                &format!("{path}/links"),
                json!({"target": number(other), "link_type": "relates_to"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let links: Value = s
        .get(&s.agent, &format!("{path}/links"))
        .await
        .json()
        .await
        .unwrap();
    let theirs_link = links
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["record_number"] == number(&theirs))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = s
        .http
        .delete(s.url(&format!("{path}/links/{theirs_link}")))
        .bearer_auth(&s.agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let history = |token: String| {
        let s = &s;
        let path = path.clone();
        async move {
            let v: Value = s
                .get(&token, &format!("{path}/history"))
                .await
                .json()
                .await
                .unwrap();
            v.to_string()
        }
    };
    // Staff see every link event, with both numbers.
    let staff = history(s.agent.clone()).await;
    assert!(
        staff.contains(&format!("{} relates to {}", number(&mine), number(&theirs))),
        "{staff}"
    );
    assert!(
        staff.contains(&format!(
            "{} no longer relates to {}",
            number(&mine),
            number(&theirs)
        )),
        "{staff}"
    );
    // The customer sees the link to their own incident, and nothing of the other customer's.
    let customer = history(s.customer_a.clone()).await;
    assert!(
        customer.contains(&format!("{} relates to {}", number(&mine), number(&also_mine))),
        "{customer}"
    );
    assert!(!customer.contains(&number(&theirs)), "{customer}");
    assert!(
        !customer.contains(&format!("\"record_id\":{}", theirs["id"])),
        "{customer}"
    );
    s.stop().await;
}

async fn errors_the_framework_would_answer_are_problems_with_the_request_id(backend: Backend) {
    let s = Server::start(backend).await;
    for path in [
        "/nothing-here",
        "/api/v1/nothing-here",
        "/api/v1/incidents/INC-1/nothing",
    ] {
        let r = s.http.get(s.url(path)).send().await.unwrap();
        problem(r, StatusCode::NOT_FOUND).await;
    }
    // A browser gets the error page, with the request id to quote.
    let r = s
        .http
        .get(s.url("/nothing-here"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(r.text().await.unwrap().contains(&id));
    let r = s
        .http
        .delete(s.url("/api/v1/incidents"))
        .bearer_auth(&s.agent)
        .send()
        .await
        .unwrap();
    assert!(
        r.headers().get("allow").is_some(),
        "405 names the methods allowed"
    );
    problem(r, StatusCode::METHOD_NOT_ALLOWED).await;
    let long = format!("/api/v1/incidents?q={}", "a".repeat(9000));
    problem(s.get(&s.agent, &long).await, StatusCode::URI_TOO_LONG).await;
    let mut req = s.http.get(s.url("/api/v1/incidents")).bearer_auth(&s.agent);
    for i in 0..70 {
        req = req.header(format!("x-filler-{i}"), "x");
    }
    problem(
        req.send().await.unwrap(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    )
    .await;
    // Requests the HTTP library cannot read are answered before any route or middleware: a
    // malformed request line or header, a target past 64 KiB, more header fields than it holds.
    let many_headers: String = (0..120).map(|i| format!("x-filler-{i}: x\r\n")).collect();
    for (request, status) in [
        ("G(T / HTTP/1.1\r\nhost: x\r\n\r\n".to_owned(), 400),
        (
            "GET / HTTP/1.1\r\nhost: x\r\nno colon here\r\n\r\n".to_owned(),
            400,
        ),
        (
            format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000)),
            414,
        ),
        (format!("GET / HTTP/1.1\r\nhost: x\r\n{many_headers}\r\n"), 431),
    ] {
        let (head, body) = raw(&s.base, request.as_bytes()).await;
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        assert!(head.contains("content-type: application/problem+json"), "{head}");
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], status);
        let id = body["request_id"].as_str().unwrap();
        assert!(
            !id.is_empty() && head.contains(&format!("x-request-id: {id}")),
            "{head}"
        );
    }
    let r = s.get(&s.agent, "/api/v1/incidents").await;
    assert_eq!(r.status(), StatusCode::OK);
    s.stop().await;
}

/// Sends raw bytes on a new connection and reads the answer to the end: its head and its body.
async fn raw(base: &str, request: &[u8]) -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read all of an oversized request.
    let _ = conn.write_all(request).await;
    let mut answer = vec![];
    let _ = conn.read_to_end(&mut answer).await;
    let at = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no answer head: {:?}", String::from_utf8_lossy(&answer)));
    (
        String::from_utf8_lossy(&answer[..at]).into_owned(),
        answer[at + 4..].to_vec(),
    )
}
