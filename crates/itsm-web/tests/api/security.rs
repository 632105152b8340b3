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
);

/// A multipart body with one small text file.
fn a_file() -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"hello".to_vec())
            .file_name("note.txt")
            .mime_str("text/plain")
            .unwrap(),
    )
}

async fn customers_read_what_the_provider_publishes_and_write_nothing_on_it(backend: Backend) {
    let s = Server::start(backend).await;
    let sys = Ctx::system();
    let service = s
        .app
        .create_catalogue_item(&sys, RecordKind::Service, "Mail", "", None)
        .await
        .unwrap();
    let offering = s
        .app
        .create_catalogue_item(
            &sys,
            RecordKind::ServiceOffering,
            "Mail, gold",
            "",
            Some(service.record.id),
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
            .http
            .post(s.url(&format!("{path}/attachments")))
            .bearer_auth(&s.customer_a)
            .multipart(a_file())
            .send()
            .await
            .unwrap();
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
        .http
        .post(s.url(&format!("{path}/attachments")))
        .bearer_auth(&s.customer_a)
        .multipart(a_file())
        .send()
        .await
        .unwrap();
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
