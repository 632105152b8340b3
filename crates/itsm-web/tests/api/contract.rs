//! The contract every registered kind keeps, through the API, on both databases: created, read,
//! changed under `If-Match` (a stale version is 412), moved along its lifecycle (an illegal move is
//! 409 with the allowed ones), its history, a comment, an attachment, a link, found by its state and
//! by a word of its title, and seen by customers exactly as its declaration says. A new kind is
//! covered by registering it: a kind whose writes are declared gets its sample creation from its
//! declaration; one with use cases of its own gives one below, or this test fails.

use super::common::{problem, Server};
use itsm_domain::field::FieldType;
use itsm_domain::kind::{self, Use, Writes};
use itsm_domain::RecordKind;
use itsm_storage::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

crate::both!(every_kind_keeps_the_record_contract);

/// Who owns a sample record.
#[derive(Clone, Copy, PartialEq)]
enum Owner {
    Provider,
    CustomerA,
}

/// A creation body of each kind, with a word that appears in nothing else, and who owns it. A
/// kind whose writes are declared gets one drawn from its declaration; a kind with use cases of
/// its own needs a sample here.
async fn sample(s: &Server, kind: RecordKind, word: &str) -> (Value, Owner) {
    if kind.writes() == Writes::Declared {
        return (declared_sample(s, kind, word).await, owner_of(kind));
    }
    match kind.as_str() {
        "calendar" => (
            json!({"name": format!("Contract {word}"), "time_zone": "Europe/Berlin", "working_hours": "24x7"}),
            Owner::Provider,
        ),
        "agreement" => (
            json!({"title": format!("Contract {word}"), "organization_id": s.org_a, "terms": {
                "agreement_type": "service_level_agreement", "valid_from": "2026-01-01",
                "targets": [{"name": "Resolution", "metric": "resolution", "minutes": 480}]}}),
            Owner::CustomerA,
        ),
        other => {
            panic!("kind `{other}` has use cases of its own but no sample creation in the contract test")
        }
    }
}

fn owner_of(kind: RecordKind) -> Owner {
    match kind.shared().owner {
        kind::Owner::Provider => Owner::Provider,
        kind::Owner::Customer => Owner::CustomerA,
    }
}

/// The creation body of a kind whose writes are declared: its title, the organization when it is
/// a customer's, and a value for every shared column and own field it requires (a record it
/// refers to is created first, the same way).
fn declared_sample<'a>(
    s: &'a Server,
    kind: RecordKind,
    word: &'a str,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Value> + 'a>> {
    Box::pin(async move {
        let shared = kind.shared();
        let mut body = serde_json::Map::new();
        body.insert(shared.title.into(), json!(format!("Contract {word}")));
        if shared.owner == kind::Owner::Customer {
            body.insert("organization_id".into(), json!(s.org_a));
        }
        let mut refers = Vec::new();
        if shared.service == Use::Required {
            refers.push(("service_id", RecordKind::SERVICE));
        }
        if shared.configuration_item == Use::Required {
            refers.push(("configuration_item_id", RecordKind::CONFIGURATION_ITEM));
        }
        // Required fields, and indexed ones lists filter on. A searched one holds a word of its
        // own, which a search finds the sample by.
        for (n, f) in kind
            .fields()
            .iter()
            .filter(|f| f.required || (f.indexed && f.is_input()))
            .enumerate()
        {
            let value = match f.ty {
                FieldType::Text { .. } | FieldType::LongText { .. } if f.searched => {
                    json!(format!("{word}in{n}"))
                }
                FieldType::Text { .. } | FieldType::LongText { .. } => json!("sample"),
                FieldType::Choice { choices } => json!(choices[0].value),
                FieldType::Flag => json!(true),
                FieldType::Date => json!("2026-12-31"),
                FieldType::Reference { kind: target, .. } if f.required => {
                    refers.push((f.name, RecordKind::parse(target).unwrap()));
                    continue;
                }
                FieldType::Reference { .. } => continue,
                other => panic!("{kind}.{}: a required {other:?} has no sample", f.name),
            };
            body.insert(f.name.into(), value);
        }
        for (field, target) in refers {
            // A word of its own, so that searching for this sample's word finds only the sample.
            let (other, _) = create(s, target, &format!("zqref{}", body.len())).await;
            body.insert(field.into(), other["id"].clone());
        }
        Value::Object(body)
    })
}

fn words(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn create(s: &Server, kind: RecordKind, word: &str) -> (Value, Owner) {
    let (body, owner) = sample(s, kind, word).await;
    let r = s
        .post(&s.admin, &format!("/api/v1/{}", kind.collection()), body)
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{kind}");
    assert_eq!(r.headers()["etag"], "\"1\"", "{kind}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["state"], kind.lifecycle().initial, "{kind}");
    (v, owner)
}

async fn every_kind_keeps_the_record_contract(backend: Backend) {
    let s = Server::start(backend).await;
    for (i, kind) in RecordKind::all().enumerate() {
        let word = format!("zq{i}contract");
        let (v, owner) = create(&s, kind, &word).await;
        let number = v["number"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/{}/{number}", kind.collection());
        let read: Value = s.get(&s.admin, &path).await.json().await.unwrap();
        assert_eq!(read["id"], v["id"], "{kind}");

        // A move along the lifecycle that asks for nothing, under the version read.
        let lifecycle = kind.lifecycle();
        // One that keeps the record alive, where there is one: what an ended record takes is
        // checked below on a record of its own.
        let plain = || {
            lifecycle
                .transitions_from(lifecycle.initial)
                .filter(|t| t.requires.is_empty())
        };
        let ends =
            |t: &&itsm_domain::lifecycle::Transition| lifecycle.state(t.to).is_some_and(|st| st.is_final());
        let step = plain()
            .find(|t| !ends(t))
            .or_else(|| plain().next())
            .unwrap_or_else(|| panic!("{kind}: no move from the initial state without fields"));
        let r = s.patch(&s.admin, &path, Some(1), json!({"state": step.to})).await;
        assert_eq!(r.status(), StatusCode::OK, "{kind}: {}", r.text().await.unwrap());
        let moved: Value = r.json().await.unwrap();
        assert_eq!(moved["state"], step.to, "{kind}");
        assert_eq!(moved["version"], 2, "{kind}");
        // The version read before is stale now.
        let p = problem(
            s.patch(&s.admin, &path, Some(1), json!({"state": step.to})).await,
            StatusCode::PRECONDITION_FAILED,
        )
        .await;
        assert_eq!(p["current_version"], 2, "{kind}");
        // A move the lifecycle does not have, with the ones it does (a lifecycle in which every
        // state is one move from every other, like a calendar's two, has none).
        let allowed = lifecycle.allowed_from(step.to);
        let illegal = lifecycle
            .states
            .iter()
            .map(|st| st.name)
            .find(|st| *st != step.to && !allowed.contains(st));
        if let Some(illegal) = illegal {
            let p = problem(
                s.patch(&s.admin, &path, Some(2), json!({"state": illegal})).await,
                StatusCode::CONFLICT,
            )
            .await;
            assert_eq!(p["allowed_states"], json!(allowed), "{kind}");
        }

        // What every record has: history, conversation, attachments, links.
        let history: Value = s
            .get(&s.admin, &format!("{path}/history"))
            .await
            .json()
            .await
            .unwrap();
        let actions = words(&history, "action");
        assert!(actions.contains(&"created".to_owned()), "{kind}: {actions:?}");
        assert!(actions.contains(&"updated".to_owned()), "{kind}: {actions:?}");
        let r = s
            .post(
                &s.admin,
                &format!("{path}/comments"),
                json!({"body": "Contract note"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{kind}");
        let comments: Value = s
            .get(&s.admin, &format!("{path}/comments"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(words(&comments, "body"), ["Contract note"], "{kind}");
        let r = s
            .attach(
                &s.admin,
                &path,
                "contract.txt",
                "text/plain",
                b"contract".to_vec(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{kind}");
        let (other, _) = create(&s, kind, &format!("yv{i}other")).await;
        let r = s
            .post(
                &s.admin,
                &format!("{path}/links"),
                json!({"target": other["number"], "link_type": "relates_to"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{kind}");
        let links: Value = s
            .get(&s.admin, &format!("{path}/links"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(links.as_array().map(Vec::len), Some(1), "{kind}: {links}");

        // Found by its state, and by a word of its title.
        let list = |query: String| {
            let s = &s;
            async move {
                let page: Value = s
                    .get(&s.admin, &format!("/api/v1/{}?{query}", kind.collection()))
                    .await
                    .json()
                    .await
                    .unwrap();
                assert!(page["items"].is_array(), "{kind}?{query}: {page}");
                words(&page["items"], "number")
            }
        };
        assert!(
            list(format!("state={}", step.to)).await.contains(&number),
            "{kind}"
        );
        assert_eq!(
            list(format!("q={word}")).await,
            std::slice::from_ref(&number),
            "{kind}"
        );
        // Found by each of its own indexed fields that it holds a value of, and listed in the
        // order of each it sorts by.
        let read: Value = s.get(&s.admin, &path).await.json().await.unwrap();
        for f in kind.fields().iter().filter(|f| f.indexed) {
            let value = read
                .get("details")
                .and_then(|d| d.get(f.name))
                .or_else(|| read.get(f.name))
                .filter(|v| !v.is_null());
            if let Some(value) = value {
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                let query: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair(f.name, &text)
                    .finish();
                assert!(list(query).await.contains(&number), "{kind}: by {}", f.name);
            }
            if f.sortable() {
                let all = list(format!("sort={}&limit=200", f.name)).await;
                assert!(all.contains(&number), "{kind}: sorted by {}", f.name);
            }
        }
        // Found by the text of each of its own fields a search covers.
        for f in kind.fields().iter().filter(|f| f.searched) {
            let text = read
                .get("details")
                .and_then(|d| d.get(f.name))
                .or_else(|| read.get(f.name))
                .and_then(Value::as_str);
            if let Some(text) = text {
                assert_eq!(
                    list(format!("q={text}")).await,
                    std::slice::from_ref(&number),
                    "{kind}: searched by {}",
                    f.name
                );
            }
        }

        // A record whose life has ended takes what its lifecycle says, and nothing else.
        let ending = lifecycle
            .transitions_from(lifecycle.initial)
            .filter(|t| t.requires.is_empty())
            .find(|t| lifecycle.state(t.to).is_some_and(|st| st.is_final()));
        if let Some(end) = ending {
            let (ended, _) = create(&s, kind, &format!("{word}end")).await;
            let ended_path = format!(
                "/api/v1/{}/{}",
                kind.collection(),
                ended["number"].as_str().unwrap()
            );
            let r = s
                .patch(&s.admin, &ended_path, Some(1), json!({"state": end.to}))
                .await;
            assert_eq!(r.status(), StatusCode::OK, "{kind}");
            let r = s
                .post(
                    &s.admin,
                    &format!("{ended_path}/comments"),
                    json!({"body": "After the end"}),
                )
                .await;
            let expected = if lifecycle.after_end.comments {
                StatusCode::CREATED
            } else {
                StatusCode::CONFLICT
            };
            assert_eq!(r.status(), expected, "{kind}: a comment after the end");
            let r = s
                .post(
                    &s.admin,
                    &format!("{ended_path}/links"),
                    json!({"target": number, "link_type": "relates_to"}),
                )
                .await;
            let expected = if lifecycle.after_end.links {
                StatusCode::CREATED
            } else {
                StatusCode::CONFLICT
            };
            assert_eq!(r.status(), expected, "{kind}: a link after the end");
        }

        // Customers see what the declaration says, and write only where it lets them.
        let published = owner == Owner::Provider && kind.published_to_customers();
        for (token, own) in [(&s.customer_a, true), (&s.customer_b, false)] {
            let sees = (own && owner == Owner::CustomerA) || published;
            let r = s.get(token, &path).await;
            let expected = if sees {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(r.status(), expected, "{kind}, own: {own}");
            let r = s
                .post(
                    token,
                    &format!("{path}/comments"),
                    json!({"body": "From a customer"}),
                )
                .await;
            let expected = match (
                sees,
                own && owner == Owner::CustomerA && kind.customers_contribute(),
            ) {
                (false, _) => StatusCode::NOT_FOUND,
                (true, true) => StatusCode::CREATED,
                (true, false) => StatusCode::FORBIDDEN,
            };
            assert_eq!(r.status(), expected, "{kind}: a customer's comment, own: {own}");
        }
    }
    s.stop().await;
}
