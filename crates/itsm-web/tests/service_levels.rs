//! Service level management through the API, on both databases: calendars and their what-if answers,
//! agreements whose targets drive incident clocks, replay after a calendar change, and the warning
//! job run by two "server processes" at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{fields, problem, Server};
use itsm_app::{App, Settings};
use itsm_storage::Backend;
use itsm_storage::{Store, StoreOptions};
use reqwest::StatusCode;
use serde_json::{json, Value};

both!(
    calendars_answer_what_if_questions,
    agreement_targets_drive_incident_clocks,
    warnings_and_breaches_are_recorded_once_and_reported,
    a_service_calendar_comes_between_target_and_agreement,
    a_target_for_a_service_offering_applies_to_that_offering_only,
    customer_reports_count_only_the_agreements_they_are_party_to,
);

fn office_calendar(name: &str) -> Value {
    let day = json!([["09:00", "12:00"], ["13:00", "17:00"]]);
    json!({
        "name": name,
        "time_zone": "Europe/Berlin",
        "working_hours": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day},
        "holidays": ["2026-12-25", "01-01"],
    })
}

/// The Berlin office calendar, created through the API.
async fn berlin_office(s: &Server) -> Value {
    created(
        s.post(&s.admin, "/api/v1/calendars", office_calendar("Berlin office"))
            .await,
    )
    .await
}

async fn created(r: reqwest::Response) -> Value {
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn calendars_answer_what_if_questions(backend: Backend) {
    let s = Server::start(backend).await;
    let cal = berlin_office(&s).await;
    assert_eq!(cal["number"], "CAL-1");
    assert_eq!(cal["details"]["time_zone"], "Europe/Berlin");
    let id = cal["id"].as_i64().unwrap();

    // Friday 16:00 local with 120 business minutes: one hour on Friday, one on Monday after 09:00.
    let r = s
        .post(
            &s.agent,
            &format!("/api/v1/calendars/{id}/due"),
            json!({"start": "2026-11-27T16:00:00+01:00", "business_minutes": 120}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let due: Value = r.json().await.unwrap();
    assert_eq!(due["due"], "2026-11-30T10:00:00+01:00");
    assert_eq!(due["due_utc"], "2026-11-30T09:00:00Z");

    // Christmas Friday is a holiday: Thursday 16:00 + 120 min lands on Monday 28th, 10:00.
    let due: Value = s
        .post(
            &s.agent,
            "/api/v1/calendars/CAL-1/due",
            json!({"start": "2026-12-24T16:00:00+01:00", "business_minutes": 120}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["due"], "2026-12-28T10:00:00+01:00");

    // A pause over lunch and the afternoon: Monday 09:00-18:00 with a 14:00-16:00 pause is 6 hours.
    let el: Value = s
        .post(
            &s.agent,
            &format!("/api/v1/calendars/{id}/elapsed"),
            json!({"from": "2026-11-23T09:00:00+01:00", "to": "2026-11-23T18:00:00+01:00",
                   "pauses": [["2026-11-23T14:00:00+01:00", "2026-11-23T16:00:00+01:00"]]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(el["business_minutes"], 300);

    // Round the clock, and holidays from an iCalendar file.
    let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261224\r\nDTEND;VALUE=DATE:20261227\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let always = created(
        s.post(
            &s.admin,
            "/api/v1/calendars",
            json!({"name": "Always", "time_zone": "UTC", "working_hours": "24x7", "holidays_ics": ics}),
        )
        .await,
    )
    .await;
    assert_eq!(always["details"]["holidays"], json!(["2026-12-24/2026-12-26"]));
    let due: Value = s
        .post(
            &s.agent,
            &format!("/api/v1/calendars/{}/due", always["id"]),
            json!({"start": "2026-12-23T12:00:00Z", "business_minutes": 24 * 60}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(due["due"], "2026-12-27T12:00:00+00:00");

    // Bad input names the field and stores nothing.
    let mut bad = office_calendar("Bad");
    bad["time_zone"] = json!("Mars/Olympus");
    bad["working_hours"]["monday"] = json!([["09:00", "12:00"], ["11:00", "13:00"]]);
    bad["working_hours"]["tuesday"] = json!([["17:00", "09:00"]]);
    let p = problem(
        s.post(&s.admin, "/api/v1/calendars", bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        fields(&p),
        ["time_zone", "working_hours.monday[1]", "working_hours.tuesday[0]"]
    );
    let p = problem(
        s.post(
            &s.agent,
            &format!("/api/v1/calendars/{id}/due"),
            json!({"start": "2026-11-23T09:00:00+01:00", "business_minutes": -5}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["business_minutes"]);
    let p = problem(
        s.post(
            &s.agent,
            &format!("/api/v1/calendars/{id}/due"),
            json!({"start": "2026-11-23T09:00:00+01:00", "business_minutes": 5,
                   "pauses": [["2026-11-23T12:00:00+01:00", "2026-11-23T10:00:00+01:00"]]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["pauses[0]"]);
    let p = problem(
        s.post(
            &s.agent,
            &format!("/api/v1/calendars/{id}/due"),
            json!({"start": "yesterday", "business_minutes": 5}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["start"]);
    let p = problem(
        s.post(
            &s.agent,
            &format!("/api/v1/calendars/{id}/elapsed"),
            json!({"from": "2026-11-23T12:00:00Z", "to": "2026-11-23T10:00:00Z"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["to"]);

    // Agents ask questions but do not define calendars; unknown calendars are 404.
    problem(
        s.post(&s.agent, "/api/v1/calendars", office_calendar("Mine"))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        s.post(
            &s.agent,
            "/api/v1/calendars/CAL-99/due",
            json!({"start": "2026-11-23T09:00:00Z", "business_minutes": 5}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let list: Value = s.get(&s.agent, "/api/v1/calendars").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    s.stop().await;
}

/// An active SLA for customer A: first response in 60 business minutes, resolution of P1 and P2 in
/// 240, on the Berlin office calendar.
async fn gold_agreement(s: &Server, calendar: i64) -> Value {
    let agr = created(
        s.post(
            &s.admin,
            "/api/v1/agreements",
            json!({
                "title": "Gold support for Customer A",
                "organization_id": s.org_a,
                "terms": {
                    "agreement_type": "service_level_agreement",
                    "valid_from": "2026-01-01",
                    "review_date": "2027-01-01",
                    "calendar_id": calendar,
                    "targets": [
                        {"name": "First response", "metric": "first_response", "minutes": 60},
                        {"name": "Resolution P1-P2", "metric": "resolution", "priorities": [1, 2], "minutes": 240}
                    ]
                }
            }),
        )
        .await,
    )
    .await;
    assert_eq!(agr["state"], "draft");
    assert_eq!(agr["details"]["targets"][1]["key"], "t2");
    set_agreement_state(s, &agr, 1, "active").await
}

/// Moves an agreement at `version` to `state`; answers the agreement as changed.
async fn set_agreement_state(s: &Server, agreement: &Value, version: i64, state: &str) -> Value {
    let r = s
        .patch(
            &s.admin,
            &format!("/api/v1/agreements/{}", agreement["id"]),
            Some(version),
            json!({ "state": state }),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn sla(s: &Server, token: &str, number: &str) -> Vec<Value> {
    let r = s.get(token, &format!("/api/v1/incidents/{number}/sla")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v.as_array().unwrap().clone()
}

/// Recomputes every open clock: how many records were replayed, and how many of them changed.
async fn recompute(s: &Server) -> (u64, u64) {
    let r = s
        .post(&s.admin, "/api/v1/service-levels/recompute", json!({}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let answer: Value = r.json().await.unwrap();
    (
        answer["records"].as_u64().unwrap(),
        answer["changed"].as_u64().unwrap(),
    )
}

fn clock<'a>(clocks: &'a [Value], metric: &str) -> &'a Value {
    clocks.iter().find(|c| c["metric"] == metric).unwrap()
}

async fn agreement_targets_drive_incident_clocks(backend: Backend) {
    let s = Server::start(backend).await;
    s.clock.set("2026-11-23T08:00:00Z");
    let cal = berlin_office(&s).await;
    let cal_id = cal["id"].as_i64().unwrap();
    let agreement = gold_agreement(&s, cal_id).await;

    // Bad agreements name the field.
    let p = problem(
        s.post(
            &s.admin,
            "/api/v1/agreements",
            json!({"title": "x", "organization_id": s.org_a, "terms": {
                "agreement_type": "operational_level_agreement", "valid_from": "2026-01-01",
                "targets": [{"name": "r", "metric": "resolution", "minutes": -1, "priorities": [9]}]}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let f = fields(&p);
    for wanted in [
        "targets[0].minutes",
        "targets[0].priorities",
        "organization_id",
        "assignment_group_id",
    ] {
        assert!(f.iter().any(|x| x == wanted), "{wanted} missing in {f:?}");
    }

    // Monday 09:00 Berlin: a P1 incident for customer A.
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a, "impact": "high", "urgency": "high"}),
        )
        .await;
    let number = inc["number"].as_str().unwrap().to_owned();
    assert_eq!(inc["sla_status"], "running");
    assert_eq!(inc["sla_due_at"], "2026-11-23T09:00:00Z");
    // The answer carries the clock the creation started, as a read shows it.
    let read = s.read_incident(&s.agent, &number).await;
    assert_eq!(inc, read);
    let clocks = sla(&s, &s.agent, &number).await;
    assert_eq!(clocks.len(), 2);
    let resolution = clock(&clocks, "resolution");
    assert_eq!(resolution["due"], "2026-11-23T14:00:00+01:00");
    assert_eq!(resolution["agreement"], agreement["number"]);
    assert!(resolution["why"].as_str().unwrap().contains("Gold support"));
    assert_eq!(
        clock(&clocks, "first_response")["due"],
        "2026-11-23T10:00:00+01:00"
    );

    // 09:30: on hold awaiting the caller (first response given); resumed Tuesday 10:00.
    s.clock.set("2026-11-23T08:30:00Z");
    let r = s
        .patch(
            &s.agent,
            &format!("/api/v1/incidents/{number}"),
            Some(1),
            json!({"state": "on_hold", "on_hold_reason": "awaiting_caller"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let held: Value = r.json().await.unwrap();
    assert_eq!(held["sla_status"], "paused");
    s.clock.set("2026-11-24T09:00:00Z");
    let r = s
        .patch(
            &s.agent,
            &format!("/api/v1/incidents/{number}"),
            Some(2),
            json!({"state": "in_progress"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    s.clock.set("2026-11-24T10:00:00Z");
    let clocks = sla(&s, &s.agent, &number).await;
    let first = clock(&clocks, "first_response");
    assert_eq!(first["status"], "met");
    assert_eq!(first["elapsed_minutes"], 30.0);
    let resolution = clock(&clocks, "resolution");
    assert_eq!(resolution["status"], "running");
    // 30 minutes on Monday, 60 on Tuesday; 150 left from Tuesday 11:00: 12:00, lunch, 13:00-14:30.
    assert_eq!(resolution["elapsed_minutes"], 90.0);
    assert_eq!(resolution["due"], "2026-11-24T14:30:00+01:00");
    let phases: Vec<&str> = resolution["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|seg| seg["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["running", "paused", "running"]);
    assert_eq!(resolution["segments"][1]["because"], "on_hold (awaiting_caller)");

    // The queue sorts by due time. A P1 logged now must get its first response by 12:00; a P5 logged
    // at 11:30 by 12:30; the held incident's resolution is due at 14:30.
    let later = s
        .incident(
            &s.agent,
            json!({"title": "VPN down", "organization_id": s.org_a, "impact": "high", "urgency": "high"}),
        )
        .await;
    s.clock.set("2026-11-24T10:30:00Z");
    let low = s
        .incident(
            &s.agent,
            json!({"title": "Printer", "organization_id": s.org_a, "impact": "low", "urgency": "low"}),
        )
        .await;
    assert_eq!(low["sla_status"], "running", "first response still applies");
    let queue: Value = s
        .get(&s.agent, "/api/v1/incidents?sort=due&limit=10")
        .await
        .json()
        .await
        .unwrap();
    let order: Vec<&str> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            later["number"].as_str().unwrap(),
            low["number"].as_str().unwrap(),
            number.as_str()
        ]
    );

    // A shorter lunch replays the clock from history: the pause is kept, the due moves earlier.
    let day = json!([["09:00", "12:00"], ["12:30", "17:00"]]);
    let r = s
        .patch(
            &s.admin,
            &format!("/api/v1/calendars/{cal_id}"),
            Some(1),
            json!({"working_hours": {"monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let clocks = sla(&s, &s.agent, &number).await;
    let resolution = clock(&clocks, "resolution");
    // Monday 09:00-09:30 and Tuesday 10:00-11:30: 120 minutes used (not the time on hold); the 120
    // left run 11:30-12:00 and 12:30-14:00.
    assert_eq!(resolution["elapsed_minutes"], 120.0);
    assert_eq!(resolution["due"], "2026-11-24T14:00:00+01:00");
    let stored = s.read_incident(&s.agent, &number).await;
    assert_eq!(
        stored["sla_due_at"], "2026-11-24T13:00:00Z",
        "the stored clock was replayed too"
    );

    // Recomputing finds nothing to write while the clocks still say what a replay says; once
    // the running clock passes its due instant the queue shows a breach, written once.
    let (records, changed) = recompute(&s).await;
    assert!(records >= 1);
    assert_eq!(
        changed, 0,
        "nothing moved since the calendar change replayed every clock"
    );
    s.clock.set("2026-11-24T14:30:00Z");
    let (_, changed) = recompute(&s).await;
    assert!(changed >= 1, "the breach is written");
    assert_eq!(recompute(&s).await.1, 0, "and not again");
    let stored = s.read_incident(&s.agent, &number).await;
    assert_eq!(stored["sla_status"], "breached");

    // Customers see their own clocks only.
    assert_eq!(sla(&s, &s.customer_a, &number).await.len(), 2);
    problem(
        s.get(&s.customer_b, &format!("/api/v1/incidents/{number}/sla"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    // Suspending the agreement removes the clocks of open incidents.
    set_agreement_state(&s, &agreement, 2, "suspended").await;
    assert!(sla(&s, &s.agent, &number).await.is_empty());
    let stored = s.read_incident(&s.agent, &number).await;
    assert_eq!(stored["sla_status"], Value::Null);

    // Every change to an agreement is in its history.
    let hist: Value = s
        .get(
            &s.admin,
            &format!("/api/v1/agreements/{}/history", agreement["id"]),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hist.as_array().unwrap().len(), 3);
    s.stop().await;
}

async fn warnings_and_breaches_are_recorded_once_and_reported(backend: Backend) {
    let s = Server::start(backend).await;
    s.clock.set("2026-11-23T08:00:00Z");
    let cal = berlin_office(&s).await;
    gold_agreement(&s, cal["id"].as_i64().unwrap()).await;
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a, "impact": "high", "urgency": "high"}),
        )
        .await;
    let number = inc["number"].as_str().unwrap().to_owned();

    // A second "server process": its own pools over the same database, and the same clock.
    let store = Store::connect(&s.db.as_ref().unwrap().url, &StoreOptions::default())
        .await
        .unwrap();
    let other = App::new(store, s.clock.clone(), Settings::default());

    // Nothing is due at 09:10 local.
    s.clock.set("2026-11-23T08:10:00Z");
    assert_eq!(s.app.run_sla_jobs(100).await.unwrap().warnings, 0);

    // Tuesday 09:00 local: first response (60 min) is breached and resolution (240 min) passed 75%
    // and 90% on Monday afternoon; both processes run the job at once.
    s.clock.set("2026-11-24T08:00:00Z");
    let (a, b) = tokio::join!(s.app.run_sla_jobs(100), other.run_sla_jobs(100));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.warnings + b.warnings,
        4,
        "75% and 90% of both targets: {a:?} {b:?}"
    );
    assert_eq!(a.breaches + b.breaches, 2, "{a:?} {b:?}");
    // Running again finds nothing new.
    let again = s.app.run_sla_jobs(100).await.unwrap();
    assert_eq!((again.warnings, again.breaches), (0, 0));

    let hist: Value = s
        .get(&s.agent, &format!("/api/v1/incidents/{number}/history"))
        .await
        .json()
        .await
        .unwrap();
    let notices: Vec<&str> = hist
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"].as_str().unwrap().starts_with("sla_"))
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(notices.len(), 6, "{notices:?}");
    // They are the provider's own signals: the customer's history has none of them.
    let theirs: Value = s
        .get(&s.customer_a, &format!("/api/v1/incidents/{number}/history"))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = theirs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"created"), "{actions:?}");
    assert!(!actions.iter().any(|a| a.starts_with("sla_")), "{actions:?}");
    assert!(
        notices
            .iter()
            .any(|n| n.contains("75% of \"Resolution P1-P2\"") && n.contains("2026-11-23T12:00:00+01:00")),
        "the warning names the business instant it fell due: {notices:?}"
    );
    let clocks = sla(&s, &s.agent, &number).await;
    assert!(clocks.iter().all(|c| c["breach_recorded"] == true));

    // The outbox holds one event per notice, for notifications.
    let events: Value = s.get(&s.admin, "/api/v1/events").await.json().await.unwrap();
    let topics: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["topic"].as_str().unwrap())
        .collect();
    assert_eq!(topics.iter().filter(|t| **t == "sla.breached").count(), 2);
    assert_eq!(topics.len(), 6);
    problem(s.get(&s.agent, "/api/v1/events").await, StatusCode::FORBIDDEN).await;

    // Reports: the late incident is resolved now (both targets breached); another one logged now
    // is answered and resolved within its targets (both met).
    let r = s
        .patch(
            &s.agent,
            &format!("/api/v1/incidents/{number}"),
            Some(1),
            json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "restarted"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let quick = s
        .incident(
            &s.agent,
            json!({"title": "Quick one", "organization_id": s.org_a, "impact": "high", "urgency": "medium"}),
        )
        .await;
    s.clock.set("2026-11-24T08:30:00Z");
    let r = s
        .patch(
            &s.agent,
            &format!("/api/v1/incidents/{}", quick["number"].as_str().unwrap()),
            Some(1),
            json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "done"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let period = "from=2026-11-01&to=2026-11-30";
    let by_agreement: Value = s
        .get(
            &s.agent,
            &format!("/api/v1/reports/sla-attainment?by=agreement&{period}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_agreement[0]["group"], "Gold support for Customer A");
    assert_eq!(
        (
            by_agreement[0]["met"].as_i64(),
            by_agreement[0]["breached"].as_i64()
        ),
        (Some(2), Some(2))
    );
    assert_eq!(by_agreement[0]["attainment_percent"], 50.0);
    let by_month: Value = s
        .get(
            &s.agent,
            "/api/v1/reports/sla-attainment?by=month&from=2026-10-01&to=2026-11-30",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_month.as_array().unwrap().len(), 2);
    assert_eq!(by_month[0]["met"], 0);
    assert_eq!(by_month[1]["group"], "2026-11");
    assert_eq!(by_month[1]["breached"], 2);
    let by_priority: Value = s
        .get(
            &s.agent,
            &format!("/api/v1/reports/sla-attainment?by=priority&{period}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        by_priority.as_array().unwrap().len(),
        2,
        "P1 and P2: {by_priority}"
    );
    let csv = s
        .get(
            &s.agent,
            &format!("/api/v1/reports/sla-attainment?by=customer&{period}&format=csv"),
        )
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        csv.text().await.unwrap(),
        "customer,met,breached,attainment_percent\nCustomer A,2,2,50\n"
    );
    let breaches: Value = s
        .get(&s.agent, &format!("/api/v1/reports/sla-breaches?{period}"))
        .await
        .json()
        .await
        .unwrap();
    let records: Vec<&str> = breaches
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["record"].as_str().unwrap())
        .collect();
    assert_eq!(records, [number.as_str(), number.as_str()]);
    // Customer B sees nothing of customer A's figures.
    let theirs: Value = s
        .get(
            &s.customer_b,
            &format!("/api/v1/reports/sla-attainment?by=agreement&{period}"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs.as_array().unwrap().is_empty());
    let p = problem(
        s.get(&s.agent, "/api/v1/reports/sla-attainment?by=colour").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["by"]);
    let p = problem(
        s.get(&s.agent, "/api/v1/reports/sla-breaches?from=soon").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["from"]);
    other.close().await;
    s.stop().await;
}

async fn a_service_calendar_comes_between_target_and_agreement(backend: Backend) {
    let s = Server::start(backend).await;
    s.clock.set("2026-11-23T08:00:00Z");
    let office = berlin_office(&s).await;
    gold_agreement(&s, office["id"].as_i64().unwrap()).await;
    let always = created(
        s.post(
            &s.admin,
            "/api/v1/calendars",
            json!({"name": "Always", "time_zone": "UTC", "working_hours": "24x7"}),
        )
        .await,
    )
    .await;
    let shop = created(
        s.post(&s.admin, "/api/v1/services", json!({"name": "Web shop"}))
            .await,
    )
    .await;
    let r = s
        .patch(
            &s.admin,
            &format!("/api/v1/services/{}", shop["number"].as_str().unwrap()),
            Some(1),
            json!({"calendar_id": always["id"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Checkout fails", "organization_id": s.org_a, "service_id": shop["id"],
                   "impact": "high", "urgency": "high"}),
        )
        .await;
    let number = inc["number"].as_str().unwrap().to_owned();
    // Four hours round the clock from 08:00 UTC, not on the office calendar.
    let resolution = clock(&sla(&s, &s.agent, &number).await, "resolution").clone();
    assert_eq!(resolution["due"], "2026-11-23T12:00:00+00:00");
    assert!(resolution["calendar"].as_str().unwrap().contains("Always"));

    // Clearing the service's calendar replays the clock on the agreement's.
    let r = s
        .patch(
            &s.admin,
            &format!("/api/v1/services/{}", shop["id"]),
            Some(2),
            json!({"calendar_id": null}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let resolution = clock(&sla(&s, &s.agent, &number).await, "resolution").clone();
    assert_eq!(resolution["due"], "2026-11-23T14:00:00+01:00");
    let stored = s.read_incident(&s.agent, &number).await;
    assert_eq!(
        stored["sla_due_at"], "2026-11-23T09:00:00Z",
        "first response, office hours"
    );

    // Only services have calendars; agents may rename a service but not move its SLA calendar;
    // stale versions are refused.
    let ci = created(
        s.post(
            &s.admin,
            "/api/v1/configuration-items",
            json!({"name": "shop-01"}),
        )
        .await,
    )
    .await;
    let p = problem(
        s.patch(
            &s.admin,
            &format!("/api/v1/configuration-items/{}", ci["id"]),
            Some(1),
            json!({"calendar_id": 1}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["calendar_id"]);
    problem(
        s.patch(
            &s.agent,
            &format!("/api/v1/services/{}", shop["id"]),
            Some(3),
            json!({"calendar_id": null}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    problem(
        s.patch(
            &s.admin,
            &format!("/api/v1/services/{}", shop["id"]),
            Some(1),
            json!({"name": "Shop"}),
        )
        .await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    let p = problem(
        s.patch(
            &s.admin,
            &format!("/api/v1/services/{}", shop["id"]),
            Some(3),
            json!({"calendar_id": 999_999}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["calendar_id"]);
    s.stop().await;
}

async fn a_target_for_a_service_offering_applies_to_that_offering_only(backend: Backend) {
    let s = Server::start(backend).await;
    s.clock.set("2026-11-23T08:00:00Z");
    let office = berlin_office(&s).await;
    let gold = gold_agreement(&s, office["id"].as_i64().unwrap()).await;
    let service = |name: &str| s.post(&s.admin, "/api/v1/services", json!({ "name": name }));
    let mail = created(service("Mail").await).await;
    let shop = created(service("Web shop").await).await;
    let offering = |name: &str, service: &Value| {
        s.post(
            &s.admin,
            "/api/v1/service-offerings",
            json!({"name": name, "service_id": service["id"]}),
        )
    };
    let executive = created(offering("Executive mailbox", &mail).await).await;
    let standard = created(offering("Standard mailbox", &mail).await).await;
    let checkout = created(offering("Checkout", &shop).await).await;
    assert!(executive["number"].as_str().unwrap().starts_with("OFR-"));
    assert_eq!(executive["service_id"], mail["id"]);
    // An offering belongs to a service; nothing else does.
    for (path, body) in [
        ("/api/v1/service-offerings", json!({"name": "Orphan"})),
        (
            "/api/v1/service-offerings",
            json!({"name": "Of an offering", "service_id": executive["id"]}),
        ),
        (
            "/api/v1/services",
            json!({"name": "Sub-service", "service_id": mail["id"]}),
        ),
    ] {
        let p = problem(
            s.post(&s.admin, path, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(fields(&p), ["service_id"]);
    }
    // Customers see the catalogue, offerings included.
    let r = s.get(&s.customer_a, "/api/v1/service-offerings").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 3);

    // A target can only name offerings of services it covers.
    let agreement_with = |target: Value| {
        s.post(
            &s.admin,
            "/api/v1/agreements",
            json!({"title": "Executive support", "organization_id": s.org_a, "terms": {
                "agreement_type": "service_level_agreement", "valid_from": "2026-01-01",
                "calendar_id": office["id"], "targets": [target]}}),
        )
    };
    for bad in [
        json!({"name": "r", "metric": "resolution", "minutes": 60, "service_offering_ids": [mail["id"]]}),
        json!({"name": "r", "metric": "resolution", "minutes": 60, "service_ids": [shop["id"]],
               "service_offering_ids": [executive["id"]]}),
    ] {
        let p = problem(agreement_with(bad).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(fields(&p), ["targets[0].service_offering_ids"]);
    }
    let exec_sla = created(
        agreement_with(
            json!({"name": "Executive resolution", "metric": "resolution", "minutes": 60,
                              "service_offering_ids": [executive["id"]]}),
        )
        .await,
    )
    .await;
    set_agreement_state(&s, &exec_sla, 1, "active").await;

    // Monday 09:00 Berlin, P1 on mail: an hour for the executive mailbox, four for the standard one.
    let log = |offering: &Value| {
        s.incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a, "impact": "high", "urgency": "high",
                   "service_id": mail["id"], "service_offering_id": offering["id"]}),
        )
    };
    let vip = log(&executive).await;
    assert_eq!(vip["service_offering_id"], executive["id"]);
    let vip_number = vip["number"].as_str().unwrap().to_owned();
    let resolution = clock(&sla(&s, &s.agent, &vip_number).await, "resolution").clone();
    assert_eq!(resolution["agreement"], exec_sla["number"]);
    assert_eq!(resolution["due"], "2026-11-23T10:00:00+01:00");
    let why = resolution["why"].as_str().unwrap();
    assert!(
        why.contains("service offering") && why.contains(gold["number"].as_str().unwrap()),
        "{why}"
    );
    let plain = log(&standard).await;
    let plain_number = plain["number"].as_str().unwrap().to_owned();
    let resolution = clock(&sla(&s, &s.agent, &plain_number).await, "resolution").clone();
    assert_eq!(resolution["agreement"], gold["number"]);
    assert_eq!(resolution["due"], "2026-11-23T14:00:00+01:00");
    // A recomputation reads the offering back from storage and so computes the same clocks.
    assert_eq!(recompute(&s).await, (2, 0));

    // An offering must be one of the incident's service.
    for (body, why) in [
        (
            json!({"service_id": mail["id"], "service_offering_id": checkout["id"]}),
            "another service",
        ),
        (
            json!({"service_id": mail["id"], "service_offering_id": mail["id"]}),
            "no service offering",
        ),
        (
            json!({"service_offering_id": executive["id"]}),
            "needs its service",
        ),
    ] {
        let mut body = body;
        body["title"] = json!("Mail down");
        body["organization_id"] = json!(s.org_a);
        let p = problem(
            s.post(&s.agent, "/api/v1/incidents", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(fields(&p), ["service_offering_id"]);
        assert!(p["errors"][0]["message"].as_str().unwrap().contains(why), "{p}");
    }

    // Moving the standard mailbox incident to the executive offering replays its clock; moving it
    // to another service without naming an offering leaves the offering behind.
    let path = format!("/api/v1/incidents/{plain_number}");
    let r = s
        .patch(
            &s.agent,
            &path,
            Some(1),
            json!({"service_offering_id": executive["id"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let resolution = clock(&sla(&s, &s.agent, &plain_number).await, "resolution").clone();
    assert_eq!(resolution["agreement"], exec_sla["number"]);
    let p = problem(
        s.patch(
            &s.agent,
            &path,
            Some(2),
            json!({"service_id": shop["id"], "service_offering_id": executive["id"]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(fields(&p), ["service_offering_id"]);
    let r = s
        .patch(&s.agent, &path, Some(2), json!({"service_id": shop["id"]}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["service_offering_id"], Value::Null);
    let resolution = clock(&sla(&s, &s.agent, &plain_number).await, "resolution").clone();
    assert_eq!(resolution["agreement"], gold["number"]);
    // The history says what happened to the offering.
    let r = s.get(&s.agent, &format!("{path}/history")).await;
    let history: Value = r.json().await.unwrap();
    let offering_changes = history
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["changes"].as_array().unwrap().clone())
        .filter(|c| c["field"] == "service_offering_id")
        .count();
    assert_eq!(offering_changes, 3, "{history}");
    s.stop().await;
}

/// The provider's internal agreement (an OLA with its service desk group) measures the customer's
/// incidents too; the customer's reports, in JSON and CSV, count only the SLA they are party to.
async fn customer_reports_count_only_the_agreements_they_are_party_to(backend: Backend) {
    let s = Server::start(backend).await;
    s.clock.set("2026-11-23T08:00:00Z");
    let cal = berlin_office(&s).await;
    let cal_id = cal["id"].as_i64().unwrap();
    gold_agreement(&s, cal_id).await;
    let ola = created(
        s.post(
            &s.admin,
            "/api/v1/agreements",
            json!({"title": "Service desk OLA", "assignment_group_id": s.group, "terms": {
                "agreement_type": "operational_level_agreement", "valid_from": "2026-01-01",
                "calendar_id": cal_id,
                "targets": [{"name": "Desk resolution", "metric": "resolution", "minutes": 30}]}}),
        )
        .await,
    )
    .await;
    set_agreement_state(&s, &ola, 1, "active").await;
    let inc = s
        .incident(
            &s.agent,
            json!({"title": "Mail down", "organization_id": s.org_a, "impact": "high", "urgency": "high",
                   "assignment_group_id": s.group}),
        )
        .await;
    let number = inc["number"].as_str().unwrap().to_owned();
    assert_eq!(
        sla(&s, &s.agent, &number).await.len(),
        3,
        "SLA response, SLA resolution, OLA"
    );
    // Tuesday: every target is breached; the incident is resolved.
    s.clock.set("2026-11-24T08:00:00Z");
    s.app.run_sla_jobs(100).await.unwrap();
    let r = s
        .patch(
            &s.agent,
            &format!("/api/v1/incidents/{number}"),
            Some(1),
            json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "restarted"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let period = "from=2026-11-01&to=2026-11-30";
    let report = |token: &str, path: String| {
        let s = &s;
        let token = token.to_owned();
        async move {
            let r = s.get(&token, &path).await;
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap()
        }
    };
    // Staff see both agreements.
    let staff = report(
        &s.agent,
        format!("/api/v1/reports/sla-attainment?by=agreement&{period}"),
    )
    .await;
    assert!(
        staff.contains("Service desk OLA") && staff.contains("Gold support"),
        "{staff}"
    );
    let staff = report(&s.agent, format!("/api/v1/reports/sla-breaches?{period}")).await;
    assert!(staff.contains("Service desk OLA"), "{staff}");
    // The customer sees the SLA's figures only, by any grouping and in either format.
    for by in ["agreement", "service", "customer", "priority", "month"] {
        let theirs: Value = serde_json::from_str(
            &report(
                &s.customer_a,
                format!("/api/v1/reports/sla-attainment?by={by}&{period}"),
            )
            .await,
        )
        .unwrap();
        let total: i64 = theirs
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["met"].as_i64().unwrap() + g["breached"].as_i64().unwrap())
            .sum();
        assert_eq!(total, 2, "by {by}, two SLA targets and never the OLA's: {theirs}");
        assert!(!theirs.to_string().contains("OLA"), "{theirs}");
    }
    let csv = report(
        &s.customer_a,
        format!("/api/v1/reports/sla-attainment?by=customer&{period}&format=csv"),
    )
    .await;
    assert_eq!(
        csv,
        "customer,met,breached,attainment_percent\nCustomer A,0,2,0\n"
    );
    let breaches: Value =
        serde_json::from_str(&report(&s.customer_a, format!("/api/v1/reports/sla-breaches?{period}")).await)
            .unwrap();
    assert_eq!(breaches.as_array().unwrap().len(), 2, "{breaches}");
    assert!(!breaches.to_string().contains("OLA"), "{breaches}");
    let csv = report(
        &s.customer_a,
        format!("/api/v1/reports/sla-breaches?{period}&format=csv"),
    )
    .await;
    assert!(!csv.contains("OLA") && csv.lines().count() == 3, "{csv}");
    s.stop().await;
}
