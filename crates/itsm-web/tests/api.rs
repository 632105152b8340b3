//! The JSON API end to end, over a real TCP socket, on both databases: every test runs once on SQLite
//! and once on PostgreSQL, each with its own fresh database.

// A panic is how a test fails: unwrapping and indexing are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
/// The probes of the security review, kept as tests so that what they found stays fixed.
#[path = "api/contract.rs"]
mod contract;
#[path = "api/security.rs"]
mod security;

use common::{fields, problem, Server};
use itsm_app::Ctx;
use itsm_domain::Role;
use itsm_storage::Backend;
use reqwest::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

both!(
    incident_lifecycle_through_the_api,
    bad_input_is_a_problem_and_changes_nothing,
    concurrency_and_transitions,
    customers_see_only_their_organization,
    comments_links_and_attachments,
    lists_filter_search_and_page,
    openapi_health_and_metrics,
    ui_forms_need_a_session_and_csrf,
    creations_that_arrive_together_are_each_answered_and_audited,
    a_creation_answers_the_incident_as_it_is_read_back,
    lists_filter_and_sort_on_an_incidents_own_fields,
    customers_withdraw_confirm_and_reopen_their_incidents,
    an_ended_incident_takes_what_its_lifecycle_says,
);

/// What a record still takes once its life has ended is declared in its lifecycle: a closed
/// incident takes no more comments, links of its own or attachments (409, saying why); another
/// record still links to it. A comment answers with its author's name, and an attachment's size
/// reads the same in the list and in the history.
async fn an_ended_incident_takes_what_its_lifecycle_says(backend: Backend) {
    let s = Server::start(backend).await;
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a}),
        )
        .await;
    let number = inc["number"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/incidents/{number}");
    let r = s
        .post(&s.agent, &format!("{path}/comments"), json!({"body": "Looking"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let comment: Value = r.json().await.unwrap();
    assert_eq!(comment["author"], "agent person");
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 2000]].concat();
    let r = s
        .attach(&s.agent, &path, "screen.png", "image/png", png.clone())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let listed: Value = s
        .get(&s.agent, &format!("{path}/attachments"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["size_bytes"], 2008);
    let history: Value = s
        .get(&s.agent, &format!("{path}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["summary"] == "screen.png (2.0 KB)"),
        "{history}"
    );

    // The first public reply was the first response: a version of its own.
    let version = s.read_incident(&s.agent, &number).await["version"]
        .as_i64()
        .unwrap();
    let r = s
        .patch(
            &s.agent,
            &path,
            Some(version),
            json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "Restarted"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .patch(&s.agent, &path, Some(version + 1), json!({"state": "closed"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let p = problem(
        s.post(
            &s.agent,
            &format!("{path}/comments"),
            json!({"body": "One more thing"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        p["detail"],
        format!("{number} is closed and takes no more comments")
    );
    problem(
        s.attach(&s.agent, &path, "more.png", "image/png", png).await,
        StatusCode::CONFLICT,
    )
    .await;
    let other = s
        .incident(
            &s.agent,
            json!({"title": "Mail slow", "organization_id": s.org_a}),
        )
        .await;
    let other_number = other["number"].as_str().unwrap();
    problem(
        s.post(
            &s.agent,
            &format!("{path}/links"),
            json!({"target": other_number, "link_type": "relates_to"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    // The open one links to the closed one: the link is the open one's.
    let r = s
        .post(
            &s.agent,
            &format!("/api/v1/incidents/{other_number}/links"),
            json!({"target": number, "link_type": "relates_to"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // Nothing was added to the closed one but that link.
    let comments: Value = s
        .get(&s.agent, &format!("{path}/comments"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(comments.as_array().unwrap().len(), 1);
    s.stop().await;
}

/// The moves an incident's lifecycle opens to customers (`also_by`), and only those: a customer
/// withdraws an incident of their organization, confirms or rejects its resolution, never works
/// it, never changes its fields, and never moves another organization's.
async fn customers_withdraw_confirm_and_reopen_their_incidents(backend: Backend) {
    let s = Server::start(backend).await;
    let mine = s.incident(&s.customer_a, json!({"title": "Printer jams"})).await;
    let number = mine["number"].as_str().unwrap();
    let path = format!("/api/v1/incidents/{number}");
    let actions = |v: &Value| -> Vec<String> {
        v["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["action"].as_str().unwrap().to_owned())
            .collect()
    };
    // The customer is offered what is theirs to do; the agent everything.
    assert_eq!(actions(&s.read_incident(&s.customer_a, number).await), ["Cancel"]);
    assert_eq!(
        actions(&s.read_incident(&s.agent, number).await),
        ["Start work", "Put on hold", "Resolve", "Cancel"]
    );
    let p = problem(
        s.patch(&s.customer_a, &path, Some(1), json!({"state": "in_progress"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(p["detail"], "`Start work` is not open to a customer");
    let p = problem(
        s.patch(
            &s.customer_a,
            &path,
            Some(1),
            json!({"state": "cancelled", "category": "hardware"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("`category`"), "{p}");
    // Another organization's customer finds nothing to move.
    problem(
        s.patch(&s.customer_b, &path, Some(1), json!({"state": "cancelled"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // The auditor moves nothing, and is refused before the body is read.
    problem(
        s.patch(&s.auditor, &path, Some(1), json!({"state": "cancelled"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    let r = s.patch(&s.agent, &path, Some(1), json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "Cleaned the rollers"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let resolved: Value = s.read_incident(&s.customer_a, number).await;
    assert_eq!(actions(&resolved), ["Reopen", "Close"]);
    // Rejecting the resolution reopens it; the agent resolves again; the customer confirms.
    let r = s
        .patch(&s.customer_a, &path, Some(2), json!({"state": "in_progress"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let reopened: Value = r.json().await.unwrap();
    assert_eq!(reopened["reopen_count"], 1);
    assert_eq!(actions(&reopened), ["Cancel"]);
    let r = s
        .patch(
            &s.agent,
            &path,
            Some(3),
            json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "New rollers"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .patch(&s.customer_a, &path, Some(4), json!({"state": "closed"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let closed: Value = r.json().await.unwrap();
    assert_eq!(closed["state"], "closed");
    assert!(actions(&closed).is_empty());
    // The history names the customer as the one who closed it.
    let history: Value = s
        .get(&s.agent, &format!("{path}/history"))
        .await
        .json()
        .await
        .unwrap();
    let last = history.as_array().unwrap().last().unwrap();
    assert_eq!(last["actor"], "alice person", "{last}");

    // A new incident withdrawn by its customer.
    let other = s.incident(&s.customer_a, json!({"title": "Wrong ticket"})).await;
    let other_path = format!("/api/v1/incidents/{}", other["number"].as_str().unwrap());
    // Cancelling says why.
    let p = problem(
        s.patch(&s.customer_a, &other_path, Some(1), json!({"state": "cancelled"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["cancel_reason"]);
    let r = s
        .patch(
            &s.customer_a,
            &other_path,
            Some(1),
            json!({"state": "cancelled", "cancel_reason": "Logged twice"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let withdrawn: Value = r.json().await.unwrap();
    assert_eq!(withdrawn["state"], "cancelled");
    assert!(withdrawn["first_response_at"].is_null());
    s.stop().await;
}

/// An incident's own indexed fields are list parameters: `category` filters, `reopen_count`
/// sorts; a value of the wrong form and a field lists do not sort by are refused by name.
async fn lists_filter_and_sort_on_an_incidents_own_fields(backend: Backend) {
    let s = Server::start(backend).await;
    let mut numbers = Vec::new();
    for (title, category) in [
        ("Router down", "network"),
        ("Locked out", "access"),
        ("Switch loops", "network"),
    ] {
        let v = s
            .incident(
                &s.agent,
                json!({"title": title, "organization_id": s.org_a, "category": category}),
            )
            .await;
        numbers.push(v["number"].as_str().unwrap().to_owned());
    }
    // The switch is resolved, and reopened.
    let path = format!("/api/v1/incidents/{}", numbers[2]);
    let r = s
        .patch(
            &s.agent,
            &path,
            Some(1),
            json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "Pruned the VLAN"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .patch(&s.agent, &path, Some(2), json!({"state": "in_progress"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let listed = |url: &'static str| {
        let s = &s;
        async move {
            let page: Value = s.get(&s.agent, url).await.json().await.unwrap();
            page["items"]
                .as_array()
                .unwrap_or_else(|| panic!("{url}: {page}"))
                .iter()
                .map(|i| i["number"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed("/api/v1/incidents?category=network").await,
        [numbers[2].clone(), numbers[0].clone()]
    );
    assert!(listed("/api/v1/incidents?category=printers").await.is_empty());
    assert_eq!(
        listed("/api/v1/incidents?sort=-reopen_count&limit=1").await,
        [numbers[2].clone()]
    );
    assert_eq!(
        listed("/api/v1/incidents?sort=-reopen_count&category=access").await,
        [numbers[1].clone()]
    );
    for (query, field) in [
        ("reopen_count=often", "reopen_count"),
        ("category=", "category"),
        ("sort=category", "sort"),
        ("colour=red", "colour"),
    ] {
        let p = problem(
            s.get(&s.agent, &format!("/api/v1/incidents?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(fields(&p), [field], "{query}");
    }
    s.stop().await;
}

/// The answer to a creation is built from what was written and the names its checks read, not read
/// back: it must be exactly what a read gives, every reference named.
async fn a_creation_answers_the_incident_as_it_is_read_back(backend: Backend) {
    let s = Server::start(backend).await;
    let sys = Ctx::system();
    let service = s
        .app
        .create(
            &sys,
            itsm_domain::RecordKind::SERVICE,
            json!({"name": "Mail"}).as_object().unwrap(),
        )
        .await
        .unwrap();
    let ci = s
        .app
        .create(
            &sys,
            itsm_domain::RecordKind::CONFIGURATION_ITEM,
            json!({"name": "mx1"}).as_object().unwrap(),
        )
        .await
        .unwrap();
    let caller: Value = s.get(&s.customer_a, "/api/v1/me").await.json().await.unwrap();
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a, "service_id": service.record.id.0,
                   "configuration_item_id": ci.record.id.0, "caller_id": caller["id"],
                   "assignment_group_id": s.group, "assignee_id": s.agent_id}),
        )
        .await;
    for name in [
        "organization",
        "service",
        "configuration_item",
        "caller",
        "assignment_group",
        "assignee",
    ] {
        assert!(inc[name].is_string(), "{name} is named in {inc}");
    }
    let read = s.read_incident(&s.agent, inc["number"].as_str().unwrap()).await;
    assert_eq!(inc, read);
    s.stop().await;
}

async fn incident_lifecycle_through_the_api(backend: Backend) {
    let s = Server::start(backend).await;
    let r = s
        .post(
            &s.agent,
            "/api/v1/incidents",
            json!({"title": "Mail down", "organization_id": s.org_a, "impact": "high", "urgency": "high"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["etag"], "\"1\"");
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let inc: Value = r.json().await.unwrap();
    assert_eq!(inc["priority"], 1);
    assert_eq!(inc["state"], "new");
    assert_eq!(
        location,
        format!("/api/v1/incidents/{}", inc["number"].as_str().unwrap())
    );

    let got = s.get(&s.agent, &location).await;
    assert_eq!(got.status(), StatusCode::OK);
    let number = inc["number"].as_str().unwrap();
    let by_id: Value = s
        .get(&s.agent, &format!("/api/v1/incidents/{}", inc["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_id["number"], number);

    let path = format!("/api/v1/incidents/{number}");
    let r = s
        .patch(
            &s.agent,
            &path,
            Some(1),
            json!({"state": "in_progress", "assignment_group_id": s.group, "assignee_id": s.agent_id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["etag"], "\"2\"");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["assignee"], "agent person");
    assert!(v["first_response_at"].is_string());
    // The moves it may make next say what each requires, from the lifecycle's declaration.
    let resolve = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["to"] == "resolved")
        .unwrap();
    assert_eq!(
        resolve,
        &json!({"to": "resolved", "action": "Resolve",
                "requires": ["resolution_code", "resolution_notes"], "confirm": false})
    );
    let to: Vec<&str> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        to,
        v["allowed_states"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect::<Vec<_>>()
    );
    assert!(v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["to"] == "cancelled"
            && t["confirm"] == true
            && t["requires"] == json!(["cancel_reason"])));
    let r = s
        .patch(
            &s.agent,
            &path,
            Some(2),
            json!({"state": "on_hold", "on_hold_reason": "awaiting_caller"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .patch(&s.agent, &path, Some(3), json!({"state": "in_progress"}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .patch(
            &s.agent,
            &path,
            Some(4),
            json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "Restarted relay"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = s
        .patch(&s.agent, &path, Some(5), json!({"state": "closed"}))
        .await;
    let closed: Value = r.json().await.unwrap();
    assert_eq!(closed["state"], "closed");
    assert!(closed["closed_at"].is_string());
    assert_eq!(closed["allowed_states"], json!([]));

    let history: Value = s
        .get(&s.agent, &format!("{path}/history"))
        .await
        .json()
        .await
        .unwrap();
    let events = history.as_array().unwrap();
    assert_eq!(events.len(), 6);
    assert_eq!(events[0]["action"], "created");
    assert_eq!(events[0]["actor"], "agent person");
    let states: Vec<(Value, Value)> = events
        .iter()
        .filter_map(|e| {
            e["changes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["field"] == "state")
                .map(|c| (c["old"].clone(), c["new"].clone()))
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (Value::Null, json!("new")),
            (json!("new"), json!("in_progress")),
            (json!("in_progress"), json!("on_hold")),
            (json!("on_hold"), json!("in_progress")),
            (json!("in_progress"), json!("resolved")),
            (json!("resolved"), json!("closed")),
        ]
    );
    assert!(events.iter().all(|e| e["request_id"].is_string()));
    s.stop().await;
}

async fn bad_input_is_a_problem_and_changes_nothing(backend: Backend) {
    let s = Server::start(backend).await;
    let inc = s
        .incident(&s.agent, json!({"title": "Keep me", "organization_id": s.org_a}))
        .await;
    let before = s.count().await;
    // As a customer, who logs for their own organization without naming it.
    let send = |body: &'static str, ctype: &'static str| {
        s.http
            .post(s.url("/api/v1/incidents"))
            .bearer_auth(&s.customer_a)
            .header("content-type", ctype)
            .body(body)
            .send()
    };

    let p = problem(
        send("{not json", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(p["type"], "/problems/malformed-request");
    let p = problem(
        send(r#"{"title":"x","colour":"red"}"#, "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["colour"]);
    let p = problem(
        send(r#"{"title":42}"#, "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["title"]);
    let p = problem(
        send(r#"{"title":"x","impact":"huge"}"#, "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["impact"]);
    assert!(p["errors"][0]["message"].as_str().unwrap().contains("huge"));
    let p = problem(
        send(r#"{"description":"no title"}"#, "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["title"]);
    problem(
        send(r#"{"title":"x"}"#, "text/plain").await.unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    let p = problem(
        s.post(
            &s.agent,
            "/api/v1/incidents",
            json!({"title": "  ", "organization_id": s.org_a}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["title"]);
    let p = problem(
        s.post(&s.agent, "/api/v1/incidents", json!({"title": "x", "organization_id": s.org_a, "service_id": 999_999, "assignee_id": s.agent_id, "assignment_group_id": s.group + 100})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        fields(&p),
        vec!["service_id", "assignment_group_id", "assignee_id"]
    );
    let big = format!(
        "{{\"title\":\"x\",\"description\":\"{}\"}}",
        "a".repeat(300 * 1024)
    );
    let r = s
        .http
        .post(s.url("/api/v1/incidents"))
        .bearer_auth(&s.agent)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::PAYLOAD_TOO_LARGE).await;

    let r = s
        .http
        .post(s.url("/api/v1/incidents"))
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED).await;
    problem(
        s.post("itsm_not-a-token", "/api/v1/incidents", json!({"title": "x"}))
            .await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        s.post(&s.auditor, "/api/v1/incidents", json!({"title": "x"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        s.get(&s.agent, "/api/v1/incidents/INC-99999").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        s.get(&s.agent, "/api/v1/incidents/SVC-1").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        s.get(&s.agent, "/api/v1/incidents/not-a-number").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let p = problem(
        s.get(&s.agent, "/api/v1/incidents?sort=colour").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["sort"]);
    let p = problem(
        s.get(&s.agent, "/api/v1/incidents?limit=0").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["limit"]);
    let p = problem(
        s.get(&s.agent, "/api/v1/incidents?state=sleeping").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["state"]);

    assert_eq!(s.count().await, before);
    let same = s.read_incident(&s.agent, inc["number"].as_str().unwrap()).await;
    assert_eq!(same["version"], 1);
    assert_eq!(same["title"], "Keep me");
    s.stop().await;
}

async fn concurrency_and_transitions(backend: Backend) {
    let s = Server::start(backend).await;
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Flaky VPN", "organization_id": s.org_a}),
        )
        .await;
    let path = format!("/api/v1/incidents/{}", inc["number"].as_str().unwrap());

    let p = problem(
        s.patch(&s.agent, &path, None, json!({"title": "x"})).await,
        StatusCode::PRECONDITION_REQUIRED,
    )
    .await;
    assert_eq!(p["type"], "/problems/version-required");
    assert_eq!(
        s.patch(&s.agent, &path, Some(1), json!({"title": "Flaky VPN in Berlin"}))
            .await
            .status(),
        StatusCode::OK
    );
    let p = problem(
        s.patch(&s.agent, &path, Some(1), json!({"title": "lost update"}))
            .await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(p["current_version"], 2);
    let p = problem(
        s.patch(&s.agent, &path, Some(2), json!({"state": "closed"}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(
        p["allowed_states"],
        json!(["in_progress", "on_hold", "resolved", "cancelled"])
    );
    let p = problem(
        s.patch(&s.agent, &path, Some(2), json!({"state": "resolved"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["resolution_code", "resolution_notes"]);
    let p = problem(
        s.patch(&s.agent, &path, Some(2), json!({"state": "on_hold"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["on_hold_reason"]);
    let p = problem(
        s.patch(&s.agent, &path, Some(2), json!({"assignee_id": s.agent_id}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["assignee_id"]);

    // Sixteen concurrent writers at the same version: exactly one wins, the rest get 412.
    let mut handles = Vec::new();
    for i in 0..16 {
        let http = s.http.clone();
        let url = s.url(&path);
        let token = s.agent.clone();
        handles.push(tokio::spawn(async move {
            http.patch(url)
                .bearer_auth(token)
                .header("If-Match", "\"2\"")
                .json(&json!({"title": format!("writer {i}")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses
        .iter()
        .all(|s| *s == StatusCode::OK || *s == StatusCode::PRECONDITION_FAILED));
    let now: Value = s.get(&s.agent, &path).await.json().await.unwrap();
    assert_eq!(now["version"], 3);
    let history: Value = s
        .get(&s.agent, &format!("{path}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history.as_array().unwrap().len(), 3);
    s.stop().await;
}

async fn customers_see_only_their_organization(backend: Backend) {
    let s = Server::start(backend).await;
    let mine = s
        .incident(&s.customer_a, json!({"title": "My laptop is slow"}))
        .await;
    assert_eq!(mine["organization_id"], s.org_a);
    assert_eq!(mine["caller"], "alice person");
    let other = s
        .incident(
            &s.agent,
            json!({"title": "B's outage", "organization_id": s.org_b}),
        )
        .await;
    let mine_path = format!("/api/v1/incidents/{}", mine["number"].as_str().unwrap());
    let other_path = format!("/api/v1/incidents/{}", other["number"].as_str().unwrap());

    problem(s.get(&s.customer_a, &other_path).await, StatusCode::NOT_FOUND).await;
    problem(
        s.get(&s.customer_a, &format!("{other_path}/history")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        s.get(&s.customer_a, &format!("{other_path}/comments")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        s.post(
            &s.customer_a,
            &format!("{other_path}/comments"),
            json!({"body": "hi"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(s.get(&s.customer_b, &mine_path).await, StatusCode::NOT_FOUND).await;
    let list: Value = s
        .get(&s.customer_a, "/api/v1/incidents")
        .await
        .json()
        .await
        .unwrap();
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, vec![mine["number"].as_str().unwrap()]);
    // Asking for the other organization explicitly still shows nothing.
    let list: Value = s
        .get(
            &s.customer_a,
            &format!("/api/v1/incidents?organization_id={}", s.org_b),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());

    let p = problem(
        s.post(
            &s.customer_a,
            "/api/v1/incidents",
            json!({"title": "x", "organization_id": s.org_b}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["organization_id"]);
    problem(
        s.patch(&s.customer_a, &mine_path, Some(1), json!({"title": "x"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    s.post(
        &s.agent,
        &format!("{mine_path}/comments"),
        json!({"body": "Internal: check the disk", "visibility": "internal"}),
    )
    .await;
    s.post(
        &s.agent,
        &format!("{mine_path}/comments"),
        json!({"body": "We are on it"}),
    )
    .await;
    let comments: Value = s
        .get(&s.customer_a, &format!("{mine_path}/comments"))
        .await
        .json()
        .await
        .unwrap();
    let bodies: Vec<&str> = comments
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["We are on it"]);
    let history: Value = s
        .get(&s.customer_a, &format!("{mine_path}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["summary"] != "internal note"));
    problem(
        s.post(
            &s.customer_a,
            &format!("{mine_path}/comments"),
            json!({"body": "x", "visibility": "internal"}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;

    // The provider's assignment is its own: the customer's history leaves it out, and an update
    // of nothing else they may read is not shown at all.
    let version = s.read_incident(&s.agent, mine["number"].as_str().unwrap()).await["version"]
        .as_i64()
        .unwrap();
    let r = s
        .patch(
            &s.agent,
            &mine_path,
            Some(version),
            json!({"assignment_group_id": s.group, "assignee_id": s.agent_id}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let changed_fields = |h: &Value| -> Vec<String> {
        h.as_array()
            .unwrap()
            .iter()
            .flat_map(|e| e["changes"].as_array().unwrap().iter())
            .map(|c| c["field"].as_str().unwrap().to_owned())
            .collect()
    };
    let staff: Value = s
        .get(&s.agent, &format!("{mine_path}/history"))
        .await
        .json()
        .await
        .unwrap();
    assert!(changed_fields(&staff).contains(&"assignee_id".to_owned()));
    let theirs: Value = s
        .get(&s.customer_a, &format!("{mine_path}/history"))
        .await
        .json()
        .await
        .unwrap();
    let fields_seen = changed_fields(&theirs);
    assert!(fields_seen.contains(&"title".to_owned()), "{fields_seen:?}");
    for internal in ["assignment_group_id", "assignee_id"] {
        assert!(
            !fields_seen.contains(&internal.to_owned()),
            "{internal}: {fields_seen:?}"
        );
    }
    // Of staff's events, the internal note and the assignment's update are not shown.
    let staff_public = staff
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["summary"] != "internal note")
        .count();
    assert_eq!(
        theirs.as_array().unwrap().len() + 1,
        staff_public,
        "the assignment's update is left out whole: {theirs:#}"
    );

    // The auditor reads everything and writes nothing.
    assert_eq!(s.get(&s.auditor, &other_path).await.status(), StatusCode::OK);
    let all: Value = s
        .get(&s.auditor, &format!("{mine_path}/comments"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    problem(
        s.post(&s.auditor, &format!("{mine_path}/comments"), json!({"body": "x"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        s.patch(&s.auditor, &mine_path, Some(1), json!({"title": "x"}))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    s.stop().await;
}

async fn comments_links_and_attachments(backend: Backend) {
    let s = Server::start(backend).await;
    let a = s
        .incident(
            &s.agent,
            json!({"title": "Printer jams", "organization_id": s.org_a}),
        )
        .await;
    let b = s
        .incident(
            &s.agent,
            json!({"title": "Printer jams again", "organization_id": s.org_a}),
        )
        .await;
    let (an, bn) = (a["number"].as_str().unwrap(), b["number"].as_str().unwrap());
    let apath = format!("/api/v1/incidents/{an}");

    let r = s
        .post(
            &s.agent,
            &format!("{apath}/comments"),
            json!({"body": "Replaced the roller"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let p = problem(
        s.post(&s.agent, &format!("{apath}/comments"), json!({"body": ""}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["body"]);
    // The first public reply by staff counts as the first response.
    let now: Value = s.get(&s.agent, &apath).await.json().await.unwrap();
    assert!(now["first_response_at"].is_string());
    assert_eq!(now["version"], 2);

    let r = s
        .post(
            &s.agent,
            &format!("/api/v1/incidents/{bn}/links"),
            json!({"target": an, "link_type": "duplicate_of"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    problem(
        s.post(
            &s.agent,
            &format!("/api/v1/incidents/{bn}/links"),
            json!({"target": an, "link_type": "duplicate_of"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let p = problem(
        s.post(
            &s.agent,
            &format!("/api/v1/incidents/{bn}/links"),
            json!({"target": "INC-99999", "link_type": "relates_to"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), vec!["target"]);
    let links: Value = s
        .get(&s.agent, &format!("{apath}/links"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(links[0]["label"], "duplicated by");
    assert_eq!(links[0]["record_number"], bn);
    let link_id = links[0]["id"].as_i64().unwrap();
    assert_eq!(
        s.http
            .delete(s.url(&format!("{apath}/links/{link_id}")))
            .bearer_auth(&s.agent)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let links: Value = s
        .get(&s.agent, &format!("{apath}/links"))
        .await
        .json()
        .await
        .unwrap();
    assert!(links.as_array().unwrap().is_empty());

    let png = b"\x89PNG\r\n\x1a\nrest-of-image".to_vec();
    let r = s
        .attach(&s.customer_a, &apath, "../../shot.png", "image/png", png.clone())
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let att: Value = r.json().await.unwrap();
    assert_eq!(att["filename"], "shot.png");
    let r = s.get(&s.customer_a, att["href"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    problem(
        s.get(&s.customer_b, att["href"].as_str().unwrap()).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    for (bytes, name, mime) in [
        (b"<script>alert(1)</script>".to_vec(), "x.html", "text/html"),
        (b"not a png at all".to_vec(), "fake.png", "image/png"),
        (vec![b'a'; 70 * 1024], "big.txt", "text/plain"),
    ] {
        let r = s.attach(&s.agent, &apath, name, mime, bytes).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name}");
    }
    let list: Value = s
        .get(&s.agent, &format!("{apath}/attachments"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    let history: Value = s
        .get(&s.agent, &format!("{apath}/history"))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "created",
            "commented",
            "updated",
            "linked",
            "unlinked",
            "attached"
        ]
    );
    s.stop().await;
}

async fn lists_filter_search_and_page(backend: Backend) {
    let s = Server::start(backend).await;
    for i in 0..12 {
        let title = if i % 3 == 0 {
            format!("Database backup failed {i}")
        } else {
            format!("Mailbox full {i}")
        };
        let inc = s.incident(&s.agent, json!({"title": title, "organization_id": if i % 2 == 0 { s.org_a } else { s.org_b }, "impact": "low", "urgency": "low"})).await;
        if i % 4 == 0 {
            let path = format!("/api/v1/incidents/{}", inc["number"].as_str().unwrap());
            s.patch(
                &s.agent,
                &path,
                Some(1),
                json!({"state": "in_progress", "assignment_group_id": s.group}),
            )
            .await;
        }
    }
    let found: Value = s
        .get(&s.agent, "/api/v1/incidents?q=backup&sort=number")
        .await
        .json()
        .await
        .unwrap();
    let titles: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        vec![
            "Database backup failed 0",
            "Database backup failed 3",
            "Database backup failed 6",
            "Database backup failed 9"
        ]
    );
    let wip: Value = s
        .get(
            &s.agent,
            &format!(
                "/api/v1/incidents?state=in_progress&assignment_group_id={}",
                s.group
            ),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wip["items"].as_array().unwrap().len(), 3);
    let unassigned: Value = s
        .get(&s.agent, "/api/v1/incidents?assignment_group_id=none&limit=200")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unassigned["items"].as_array().unwrap().len(), 9);

    let mut seen = Vec::new();
    let mut url = "/api/v1/incidents?sort=-number&limit=5".to_owned();
    loop {
        let page: Value = s.get(&s.agent, &url).await.json().await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["number"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("/api/v1/incidents?sort=-number&limit=5&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = (1..=12).rev().map(|n| format!("INC-{n}")).collect();
    assert_eq!(seen, expected);
    s.stop().await;
}

async fn openapi_health_and_metrics(backend: Backend) {
    let s = Server::start(backend).await;
    let doc: Value = s
        .http
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/api/v1/incidents",
        "/api/v1/incidents/{id}",
        "/api/v1/services/{id}/history",
        "/api/v1/calendars/{id}/comments",
    ] {
        assert!(
            doc["paths"].get(p).is_some(),
            "{p} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        s.http.get(s.url("/readyz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        s.http.get(s.url("/healthz")).send().await.unwrap().status(),
        StatusCode::OK
    );
    s.get(&s.agent, "/api/v1/incidents").await;
    let r = s
        .post(
            &s.agent,
            "/api/v1/incidents",
            json!({"title": "Counted", "organization_id": s.org_a}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    // The main listener serves the metrics to the configured token only; the metrics listener to
    // anyone who reaches it.
    problem(
        s.http.get(s.url("/metrics")).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(s.get(&s.agent, "/metrics").await, StatusCode::UNAUTHORIZED).await;
    let with_token = s
        .get(common::METRICS_TOKEN, "/metrics")
        .await
        .text()
        .await
        .unwrap();
    let metrics = s
        .http
        .get(format!("{}/metrics", s.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(with_token.contains("itsm_http_requests_total"), "{with_token}");
    assert!(
        metrics.contains(
            "itsm_http_requests_total{method=\"GET\",route=\"/api/v1/incidents\",status=\"200\"} 1"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("itsm_http_request_duration_seconds_bucket"));
    // The creation writer: the test server's incidents were written in at least one group.
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("itsm_writer_waiting"), 0.0);
    assert!(value("itsm_writer_groups_total") >= 1.0);
    assert!(value("itsm_writer_creations_total") >= value("itsm_writer_groups_total"));
    assert!(value("itsm_writer_write_seconds_total") > 0.0);
    let me: Value = s.get(&s.agent, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["role"], "agent");
    s.stop().await;
}

async fn ui_forms_need_a_session_and_csrf(backend: Backend) {
    let s = Server::start(backend).await;
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Without a session every page sends the browser to sign in.
    let r = http.get(s.url("/incidents")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/login?next=/incidents");
    let r = http
        .post(s.url("/incidents/new"))
        .form(&[("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // A sign-in posted from another site is refused before the password is even checked.
    let r = http
        .post(s.url("/login"))
        .header("origin", "http://evil.example")
        .form(&[("username", "agent"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Users without a password cannot sign in.
    let r = http
        .post(s.url("/login"))
        .form(&[("username", "agent"), ("password", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("set-cookie").is_none());
    let before = s.count().await;
    // A forged session cookie is not a session.
    let r = http
        .post(s.url("/incidents/new"))
        .header("cookie", format!("itsm_session={}", "a".repeat(64)))
        .form(&[("title", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.count().await, before);

    // With a real session, a form without the session's CSRF token changes nothing.
    let paula = s.browser("paula", Role::Agent, None).await;
    assert!(
        paula.set_cookie.contains("HttpOnly") && paula.set_cookie.contains("SameSite=Strict"),
        "{}",
        paula.set_cookie
    );
    for token in ["", "0123456789abcdef0123456789abcdef"] {
        let r = http
            .post(s.url("/incidents/new"))
            .header("cookie", &paula.cookie)
            .form(&[("csrf", token), ("title", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(s.count().await, before);
    let r = paula
        .post(
            &s,
            "/incidents/new",
            &[("title", "real"), ("organization_id", &s.org_a.to_string())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.count().await, before + 1);
    s.stop().await;
}

/// Creations sent at the same moment are written together (group commit); each caller still gets
/// its own record, number, audit event (with its own actor and request id) and SLA-ready state.
async fn creations_that_arrive_together_are_each_answered_and_audited(backend: Backend) {
    let s = Server::start(backend).await;
    let before = s.count().await;
    let mut calls = Vec::new();
    for i in 0..24 {
        let (token, body) = if i % 2 == 0 {
            (
                s.agent.clone(),
                json!({"title": format!("Together {i}"), "organization_id": s.org_a}),
            )
        } else {
            (s.customer_a.clone(), json!({"title": format!("Together {i}")}))
        };
        let request = s
            .http
            .post(s.url("/api/v1/incidents"))
            .bearer_auth(token)
            .header("x-request-id", format!("together-{i}"))
            .json(&body);
        calls.push(tokio::spawn(async move { (i, request.send().await.unwrap()) }));
    }
    let mut numbers = std::collections::BTreeSet::new();
    for call in calls {
        let (i, r) = call.await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "call {i}");
        let created: Value = r.json().await.unwrap();
        assert_eq!(
            created["title"],
            format!("Together {i}"),
            "each caller gets its own record"
        );
        assert_eq!(created["organization_id"], s.org_a);
        let number = created["number"].as_str().unwrap().to_owned();
        assert!(numbers.insert(number.clone()), "{number} handed out twice");
        let history: Value = s
            .get(&s.agent, &format!("/api/v1/incidents/{number}/history"))
            .await
            .json()
            .await
            .unwrap();
        let events = history.as_array().unwrap();
        assert_eq!(events.len(), 1, "{number}: {events:?}");
        assert_eq!(events[0]["action"], "created");
        assert_eq!(events[0]["request_id"], format!("together-{i}"));
        let actor = if i % 2 == 0 {
            "agent person"
        } else {
            "alice person"
        };
        assert_eq!(events[0]["actor"], actor, "{number}");
    }
    assert_eq!(s.count().await, before + 24);
    s.stop().await;
}
