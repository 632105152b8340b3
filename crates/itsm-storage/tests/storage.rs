//! The storage layer against both real databases: every test runs once on SQLite and once on
//! PostgreSQL, each in a fresh database.

// A panic is how a test fails: unwrapping and indexing are fine here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use itsm_domain::{diff_fields, FieldMap, LinkType, OrganizationId, RecordFields, RecordKind, Role, UserId};
use itsm_storage::audit::{self, NewEvent, Subject};
use itsm_storage::people::{self, NewUser};
use itsm_storage::records::{self, PageRequest, RecordFilter, SortField};
use itsm_storage::testing::TestDb;
use itsm_storage::{comments, links, Backend, StorageError};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(itsm_storage::Backend::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(itsm_storage::Backend::Postgres).await } )* }
    };
}

both!(
    records_round_trip_with_audit,
    stale_update_is_refused,
    lists_filter_sort_and_page,
    full_text_search,
    a_common_search_term_answers_the_same_as_a_rare_one,
    a_common_term_that_the_filters_mostly_exclude_is_found_far_down_the_list,
    comments_and_links,
    an_older_replay_never_overwrites_newer_clocks,
    a_replay_deletes_exactly_the_clocks_that_no_longer_apply,
    the_upkeep_indexes_new_records_and_copies_the_log_back,
    batch_writes_keep_order_numbers_and_audit,
    a_batch_update_with_one_stale_record_reports_it,
    records_and_their_audit_are_written_together_or_not_at_all,
    a_list_no_index_serves_reads_a_bounded_walk_per_page_and_loses_nothing,
    a_new_record_is_found_before_and_after_its_text_is_indexed,
    a_search_covers_the_fields_a_kind_declares_searched,
    a_list_by_due_instant_walks_both_stretches_in_order_and_loses_nothing,
    lists_filter_and_sort_on_a_kinds_own_indexed_fields,
);

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

async fn setup(backend: Backend) -> (TestDb, OrganizationId, UserId) {
    let db = TestDb::new(backend).await.expect("test database");
    let mut tx = db.store.begin().await.unwrap();
    let org = people::insert_organization(&mut tx, "Acme", "provider", at("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    let user = people::insert_user(
        &mut tx,
        &NewUser {
            username: "ann",
            display_name: "Ann Agent",
            email: "ann@example.test",
            organization_id: org.id,
            role: Role::Agent,
            password_hash: None,
        },
        at("2026-01-01T00:00:00Z"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (db, org.id, user.id)
}

/// `setup`, and an assignment group created at `start`.
async fn setup_with_group(
    backend: Backend,
    start: jiff::Timestamp,
) -> (TestDb, OrganizationId, UserId, itsm_domain::GroupId) {
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let group = people::insert_group(&mut tx, "Service desk", "", start)
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    (db, org, user, group)
}

/// Stores an incident as `user` at instant `when`.
async fn insert_incident(
    c: &mut sqlx::AnyConnection,
    fields: &RecordFields,
    user: UserId,
    when: &str,
) -> itsm_domain::Record {
    records::insert(c, RecordKind::INCIDENT, fields, Some(user), at(when))
        .await
        .unwrap()
}

fn incident(org: OrganizationId, title: &str, priority: i16) -> RecordFields {
    RecordFields {
        organization_id: Some(org),
        title: title.into(),
        description: format!("{title} described"),
        state: "new".into(),
        priority: Some(priority),
        ..Default::default()
    }
}

/// Incidents to insert, each updated `secs` after `start`, as `user`.
fn incidents_at(
    fields: &[(RecordFields, i64)],
    user: UserId,
    start: jiff::Timestamp,
) -> Vec<records::NewRecord<'_>> {
    fields
        .iter()
        .map(|(f, secs)| records::NewRecord {
            kind: RecordKind::INCIDENT,
            fields: f,
            actor: Some(user),
            at: start + jiff::SignedDuration::from_secs(*secs),
        })
        .collect()
}

async fn records_round_trip_with_audit(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let f = incident(org, "Printer jams", 3);
    let rec = insert_incident(&mut tx, &f, user, "2026-02-01T10:00:00Z").await;
    let changes = diff_fields(&FieldMap::new(), &f.audit_map());
    let ev = audit::write(
        &mut tx,
        &NewEvent {
            subject: Subject::Record(rec.id),
            action: "created",
            actor: Some(user),
            at: rec.created_at,
            request_id: Some("req-1"),
            summary: String::new(),
            changes: &changes,
        },
    )
    .await
    .unwrap();
    audit::write_transition(
        &mut tx,
        &audit::NewTransition {
            record: rec.id,
            kind: rec.kind,
            from: None,
            to: "new",
            reason: None,
            at: rec.created_at,
            actor: Some(user),
            event_id: ev,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut c = db.store.read().await.unwrap();
    let view = records::get(&mut c, rec.id).await.unwrap().unwrap();
    assert_eq!(view.record, rec);
    assert_eq!(view.names.organization, "Acme");
    let by_number = records::get_by_number(&mut c, rec.readable_number())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_number.record.id, rec.id);
    assert_eq!(rec.readable_number().to_string(), "INC-1");

    let history = audit::history(&mut c, Subject::Record(rec.id), 0, 100)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].actor_name.as_deref(), Some("Ann Agent"));
    let title = history[0].changes.iter().find(|c| c.field == "title").unwrap();
    assert_eq!(title.new, "Printer jams");
    let trans = audit::transitions(&mut c, rec.id).await.unwrap();
    assert_eq!(trans.len(), 1);
    assert_eq!(trans[0].to, "new");
    let p = audit::value_at(
        &mut c,
        Subject::Record(rec.id),
        "priority",
        at("2026-02-01T11:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(p, 3);
    let before = audit::value_at(
        &mut c,
        Subject::Record(rec.id),
        "priority",
        at("2026-02-01T09:00:00Z"),
    )
    .await
    .unwrap();
    assert!(before.is_null());
    drop(c);
    db.cleanup().await;
}

async fn stale_update_is_refused(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let rec = insert_incident(&mut tx, &incident(org, "VPN", 2), user, "2026-02-01T10:00:00Z").await;
    let mut f = rec.fields();
    f.title = "VPN down".into();
    let v = records::update(
        &mut tx,
        RecordKind::INCIDENT,
        rec.id,
        1,
        &f,
        at("2026-02-01T10:05:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(v, 2);
    f.title = "lost update".into();
    let err = records::update(
        &mut tx,
        RecordKind::INCIDENT,
        rec.id,
        1,
        &f,
        at("2026-02-01T10:06:00Z"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, StorageError::VersionConflict { current: 2 }),
        "{err:?}"
    );
    let err = records::update(
        &mut tx,
        RecordKind::INCIDENT,
        itsm_domain::RecordId(9999),
        1,
        &f,
        at("2026-02-01T10:06:00Z"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StorageError::NotFound));
    tx.commit().await.unwrap();
    let mut c = db.store.read().await.unwrap();
    let now = records::get(&mut c, rec.id).await.unwrap().unwrap().record;
    assert_eq!(now.title, "VPN down");
    assert_eq!(now.version, 2);
    drop(c);
    db.cleanup().await;
}

async fn lists_filter_sort_and_page(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let other = people::insert_organization(&mut tx, "Globex", "customer", at("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    for i in 0..25i64 {
        let o = if i % 5 == 0 { other.id } else { org };
        let mut f = incident(o, &format!("Ticket {i}"), (i % 5 + 1) as i16);
        if i % 2 == 0 {
            f.state = "in_progress".into();
        }
        let t = at("2026-03-01T00:00:00Z")
            .checked_add(jiff::SignedDuration::from_mins(i))
            .unwrap();
        records::insert(&mut tx, RecordKind::INCIDENT, &f, Some(user), t)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let mut c = db.store.read().await.unwrap();

    // Walk all pages newest first: every record once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = records::list(
            &mut c,
            RecordKind::INCIDENT,
            &RecordFilter::default(),
            PageRequest {
                sort: SortField::CreatedAt,
                descending: true,
                after,
                limit: 7,
            },
        )
        .await
        .unwrap();
        seen.extend(page.items.iter().map(|v| v.record.number));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, (1..=25).rev().collect::<Vec<i64>>());

    // Filters combine; priority sort ascending breaks ties by id.
    let filter = RecordFilter {
        states: vec!["in_progress".into()],
        visible_organizations: Some(vec![org]),
        ..Default::default()
    };
    let page = records::list(
        &mut c,
        RecordKind::INCIDENT,
        &filter,
        PageRequest {
            sort: SortField::Priority,
            descending: false,
            after: None,
            limit: 100,
        },
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 10);
    assert!(page
        .items
        .iter()
        .all(|v| v.record.state == "in_progress" && v.record.organization_id == org));
    let prios: Vec<_> = page.items.iter().map(|v| v.record.priority.unwrap()).collect();
    let mut sorted = prios.clone();
    sorted.sort();
    assert_eq!(prios, sorted);
    assert!(page.next.is_none());

    let none = records::list(
        &mut c,
        RecordKind::INCIDENT,
        &RecordFilter {
            visible_organizations: Some(vec![]),
            ..Default::default()
        },
        PageRequest {
            sort: SortField::Number,
            descending: false,
            after: None,
            limit: 10,
        },
    )
    .await
    .unwrap();
    assert!(none.items.is_empty());
    drop(c);
    db.cleanup().await;
}

async fn full_text_search(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let titles = [
        "Printer on floor 3 jams",
        "Email bounces for sales",
        "Printers offline in Berlin",
        "Laptop battery",
    ];
    let mut ids = Vec::new();
    for t in titles {
        ids.push(insert_incident(&mut tx, &incident(org, t, 3), user, "2026-02-01T10:00:00Z").await);
    }
    // Changing the title re-indexes it.
    let mut f = ids[3].fields();
    f.title = "Laptop screen flickers".into();
    f.description = "after the docking station update".into();
    records::update(
        &mut tx,
        RecordKind::INCIDENT,
        ids[3].id,
        1,
        &f,
        at("2026-02-01T11:00:00Z"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut c = db.store.read().await.unwrap();
    assert_eq!(
        titles_found(&mut c, "printer").await,
        ["Printer on floor 3 jams", "Printers offline in Berlin"]
    );
    assert_eq!(
        titles_found(&mut c, "print berlin").await,
        ["Printers offline in Berlin"]
    );
    assert_eq!(titles_found(&mut c, "docking").await, ["Laptop screen flickers"]);
    assert!(titles_found(&mut c, "battery").await.is_empty());
    // Operators and quotes in the input are not syntax.
    assert!(titles_found(&mut c, "\"OR* ) NEAR(:").await.is_empty());
    drop(c);
    db.cleanup().await;
}

/// A term in more records than the search's threshold (2,000) takes the other plan on SQLite: the
/// sort index is walked and matches kept. Either way the answer is every match, in list order.
/// The incidents a filter lists, most recently updated first, read page by page through the cursors.
async fn newest_first_every_page(
    c: &mut sqlx::AnyConnection,
    filter: &RecordFilter,
    limit: u32,
) -> Vec<itsm_domain::RecordId> {
    let mut page = PageRequest {
        sort: SortField::UpdatedAt,
        descending: true,
        after: None,
        limit,
    };
    let mut got = Vec::new();
    loop {
        let p = records::list(c, RecordKind::INCIDENT, filter, page)
            .await
            .unwrap();
        got.extend(p.items.iter().map(|v| v.record.id));
        match p.next {
            Some(next) => page.after = Some(next),
            None => return got,
        }
    }
}

async fn a_common_search_term_answers_the_same_as_a_rare_one(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let start = at("2026-03-01T00:00:00Z");
    // 2,400 printer incidents; every 600th also mentions a scanner. Odd ones are in progress.
    let fields: Vec<RecordFields> = (0..2_400)
        .map(|i| {
            let extra = if i % 600 == 0 { " and scanner" } else { "" };
            let mut f = incident(org, &format!("Printer jam {i}{extra}"), 3);
            if i % 2 == 1 {
                f.state = "in_progress".into();
            }
            f
        })
        .collect();
    let new: Vec<records::NewRecord> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| records::NewRecord {
            kind: RecordKind::INCIDENT,
            fields: f,
            actor: Some(user),
            // Creation order is not update order: the newest update is in the middle.
            at: start + jiff::SignedDuration::from_secs(((i * 7_919) % 2_400) as i64),
        })
        .collect();
    let mut tx = db.store.begin().await.unwrap();
    let created = records::insert_many(&mut tx, &new).await.unwrap();
    tx.commit().await.unwrap();
    db.store.analyze().await.unwrap();

    let by_update_desc = |keep: &dyn Fn(&itsm_domain::Record) -> bool| {
        let mut v: Vec<_> = created.iter().filter(|r| keep(r)).collect();
        v.sort_by_key(|r| std::cmp::Reverse((r.updated_at, r.id.0)));
        v.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    let mut c = db.store.read().await.unwrap();
    for (q, states, expected) in [
        ("printer", vec![], by_update_desc(&|_| true)),
        (
            "printer",
            vec!["in_progress".to_owned()],
            by_update_desc(&|r| r.state == "in_progress"),
        ),
        (
            "scanner",
            vec![],
            by_update_desc(&|r| r.title.contains("scanner")),
        ),
        (
            "jam scan",
            vec![],
            by_update_desc(&|r| r.title.contains("scanner")),
        ),
    ] {
        let filter = RecordFilter {
            text: Some(q.to_owned()),
            states,
            ..Default::default()
        };
        // Walk every page of 500: the plan must hold for cursors too.
        let got = newest_first_every_page(&mut c, &filter, 500).await;
        assert_eq!(got.len(), expected.len(), "{q}");
        assert!(got == expected, "{q}: matches out of order");
    }
    drop(c);
    db.cleanup().await;
}

/// A term with more matches than PostgreSQL's search gathers through the text index, nearly all of
/// them excluded by the other filters, in a filtered list longer than its first walk: the page
/// comes from walking the whole list (the last of `search_page`'s three plans). Its matches are
/// found all the same, in order and across pages, on both databases.
async fn a_common_term_that_the_filters_mostly_exclude_is_found_far_down_the_list(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let start = at("2026-03-01T00:00:00Z");
    // 10,050 closed printer incidents (matches the state filter excludes), 20,100 new ones that
    // do not match and were updated later, and three new printer incidents updated first of all,
    // so they come last in a list sorted newest first.
    let mut fields: Vec<(RecordFields, i64)> = Vec::new();
    for i in 0..10_050 {
        let mut f = incident(org, &format!("Printer jam {i}"), 3);
        f.state = "closed".into();
        fields.push((f, 100 + i));
    }
    for i in 0..20_100 {
        fields.push((incident(org, &format!("Network slow {i}"), 3), 20_000 + i));
    }
    for i in 0..3 {
        fields.push((incident(org, &format!("Printer offline {i}"), 3), i));
    }
    let new = incidents_at(&fields, user, start);
    let mut tx = db.store.begin().await.unwrap();
    let created = records::insert_many(&mut tx, &new).await.unwrap();
    tx.commit().await.unwrap();
    db.store.analyze().await.unwrap();
    let mut wanted: Vec<_> = created
        .iter()
        .filter(|r| r.title.starts_with("Printer offline"))
        .collect();
    wanted.sort_by_key(|r| std::cmp::Reverse((r.updated_at, r.id.0)));
    let wanted: Vec<_> = wanted.into_iter().map(|r| r.id).collect();

    let filter = RecordFilter {
        text: Some("printer".into()),
        states: vec!["new".into()],
        ..Default::default()
    };
    let mut c = db.store.read().await.unwrap();
    let got = newest_first_every_page(&mut c, &filter, 2).await;
    assert_eq!(got, wanted);
    drop(c);
    db.cleanup().await;
}

async fn comments_and_links(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let a = insert_incident(&mut tx, &incident(org, "A", 3), user, "2026-02-01T10:00:00Z").await;
    let b = insert_incident(&mut tx, &incident(org, "B", 3), user, "2026-02-01T10:00:00Z").await;
    comments::insert(
        &mut tx,
        a.id,
        Some(user),
        false,
        "We are on it",
        at("2026-02-01T10:01:00Z"),
    )
    .await
    .unwrap();
    comments::insert(
        &mut tx,
        a.id,
        Some(user),
        true,
        "Looks like the relay",
        at("2026-02-01T10:02:00Z"),
    )
    .await
    .unwrap();
    links::insert(
        &mut tx,
        b.id,
        a.id,
        LinkType::DuplicateOf,
        Some(user),
        at("2026-02-01T10:03:00Z"),
    )
    .await
    .unwrap();
    let dup = links::insert(
        &mut tx,
        b.id,
        a.id,
        LinkType::DuplicateOf,
        Some(user),
        at("2026-02-01T10:03:00Z"),
    )
    .await;
    assert!(matches!(dup, Err(StorageError::Duplicate(_))));
    tx.rollback().await.unwrap();

    // The rollback removed everything, the failed duplicate included: redo and commit.
    let mut tx = db.store.begin().await.unwrap();
    let a = insert_incident(&mut tx, &incident(org, "A", 3), user, "2026-02-01T10:00:00Z").await;
    let b = insert_incident(&mut tx, &incident(org, "B", 3), user, "2026-02-01T10:00:00Z").await;
    comments::insert(
        &mut tx,
        a.id,
        Some(user),
        false,
        "We are on it",
        at("2026-02-01T10:01:00Z"),
    )
    .await
    .unwrap();
    comments::insert(
        &mut tx,
        a.id,
        Some(user),
        true,
        "Looks like the relay",
        at("2026-02-01T10:02:00Z"),
    )
    .await
    .unwrap();
    let link = links::insert(
        &mut tx,
        b.id,
        a.id,
        LinkType::DuplicateOf,
        Some(user),
        at("2026-02-01T10:03:00Z"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut c = db.store.read().await.unwrap();
    let public = comments::list(&mut c, a.id, false, 100).await.unwrap();
    assert_eq!(public.len(), 1);
    assert_eq!(public[0].body, "We are on it");
    assert_eq!(comments::list(&mut c, a.id, true, 100).await.unwrap().len(), 2);

    let from_a = links::list(&mut c, a.id).await.unwrap();
    assert_eq!(from_a.len(), 1);
    assert!(!from_a[0].outgoing);
    assert_eq!(from_a[0].other_id, b.id);
    let from_b = links::list(&mut c, b.id).await.unwrap();
    assert!(from_b[0].outgoing);
    drop(c);
    let mut tx = db.store.begin().await.unwrap();
    assert!(matches!(
        links::delete(&mut tx, a.id, link + 1000).await,
        Err(StorageError::NotFound)
    ));
    let (s, t, lt) = links::delete(&mut tx, a.id, link).await.unwrap();
    assert_eq!((s, t, lt), (b.id, a.id, LinkType::DuplicateOf));
    tx.commit().await.unwrap();
    db.cleanup().await;
}

/// The replay inputs of the open incidents after `after`, as a recomputation reads them.
async fn open_incident_inputs(
    c: &mut sqlx::AnyConnection,
    after: itsm_domain::RecordId,
) -> Vec<itsm_storage::sla::ClockInput> {
    itsm_storage::sla::clock_inputs(c, &[RecordKind::INCIDENT], None, after, 1000)
        .await
        .unwrap()
}

/// A recomputation reads records, replays them, and writes later; a record changed meanwhile keeps
/// the clocks its own change wrote.
async fn an_older_replay_never_overwrites_newer_clocks(backend: Backend) {
    use itsm_storage::records::QueueClock;
    use itsm_storage::sla;
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let a = insert_incident(&mut tx, &incident(org, "A", 2), user, "2026-02-01T10:00:00Z").await;
    let b = insert_incident(&mut tx, &incident(org, "B", 2), user, "2026-02-01T10:00:00Z").await;
    // The batch read: both at version 1, with their transitions and (no) stored clocks.
    let inputs = open_incident_inputs(&mut tx, itsm_domain::RecordId(0)).await;
    assert_eq!(
        inputs.iter().map(|i| (i.id, i.version)).collect::<Vec<_>>(),
        [(a.id, 1), (b.id, 1)]
    );
    // Meanwhile B is changed (its own change replays its clocks).
    let mut f = b.fields();
    f.state = "on_hold".into();
    records::update(
        &mut tx,
        RecordKind::INCIDENT,
        b.id,
        1,
        &f,
        at("2026-02-01T10:05:00Z"),
    )
    .await
    .unwrap();
    let fresh = QueueClock {
        status: Some("paused".into()),
        ..Default::default()
    };
    let replayed = |id, queue: &QueueClock, fingerprint| sla::ReplayedRecord {
        id,
        queue: queue.clone(),
        fingerprint,
        previous: vec![],
    };
    sla::replace_clocks(&mut tx, &[replayed(b.id, &fresh, 7)], &[])
        .await
        .unwrap();
    // The older replay writes A only.
    let old = QueueClock {
        status: Some("running".into()),
        due_at: Some(at("2026-02-01T14:00:00Z")),
        warn_at: None,
    };
    let written = sla::replace_clocks_at_versions(
        &mut tx,
        &[(replayed(a.id, &old, 1), 1), (replayed(b.id, &old, 1), 1)],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(written, 1);
    // The next read sees what each replay left: B keeps the fingerprint of its own change's replay.
    let inputs = open_incident_inputs(&mut tx, itsm_domain::RecordId(0)).await;
    assert_eq!(
        inputs.iter().map(|i| (i.id, i.fingerprint)).collect::<Vec<_>>(),
        [(a.id, Some(1)), (b.id, Some(7))]
    );
    tx.commit().await.unwrap();
    let mut c = db.store.read().await.unwrap();
    assert_eq!(records::get(&mut c, a.id).await.unwrap().unwrap().sla, old);
    assert_eq!(records::get(&mut c, b.id).await.unwrap().unwrap().sla, fresh);
    drop(c);
    db.cleanup().await;
}

/// A replay upserts the clocks it computed and deletes, by key, those of the record's previous clocks
/// it no longer computes; the record keeps the keys of what it has, and other records keep theirs.
async fn a_replay_deletes_exactly_the_clocks_that_no_longer_apply(backend: Backend) {
    use itsm_domain::RecordId;
    use itsm_storage::sla::{self, ClockRow, ReplayedRecord};
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    // Clocks name an agreement record; any record serves for storage.
    let agreement = insert_incident(
        &mut tx,
        &incident(org, "Agreement", 3),
        user,
        "2026-02-01T09:00:00Z",
    )
    .await;
    let x = insert_incident(&mut tx, &incident(org, "X", 2), user, "2026-02-01T10:00:00Z").await;
    let y = insert_incident(&mut tx, &incident(org, "Y", 2), user, "2026-02-01T10:00:00Z").await;
    let clock = |record: RecordId, key: &str, elapsed: i64| ClockRow {
        record_id: record,
        agreement_id: agreement.id,
        target_key: key.into(),
        agreement_type: "sla".into(),
        metric: "resolution".into(),
        target_name: format!("target {key}"),
        calendar_id: None,
        status: "running".into(),
        target_micros: 3_600_000_000,
        elapsed_micros: elapsed,
        started_at: Some(at("2026-02-01T10:00:00Z")),
        stopped_at: None,
        due_at: Some(at("2026-02-01T11:00:00Z")),
        next_notice_at: None,
        reason: "test".into(),
        computed_at: at("2026-02-01T10:00:00Z"),
    };
    let replayed = |id, fingerprint, previous: Vec<sla::ClockKey>| ReplayedRecord {
        id,
        queue: Default::default(),
        fingerprint,
        previous,
    };
    sla::replace_clocks(
        &mut tx,
        &[replayed(x.id, 1, vec![]), replayed(y.id, 2, vec![])],
        &[clock(x.id, "t1", 0), clock(x.id, "t2", 0), clock(y.id, "t1", 0)],
    )
    .await
    .unwrap();
    let inputs = open_incident_inputs(&mut tx, agreement.id).await;
    let keys = |key: &str| (agreement.id, key.to_owned());
    assert_eq!(
        inputs
            .iter()
            .map(|i| (i.id, i.clock_keys.clone()))
            .collect::<Vec<_>>(),
        [(x.id, vec![keys("t1"), keys("t2")]), (y.id, vec![keys("t1")])]
    );
    // X's targets change: t1 no longer applies, t2 moves on, t3 is new.
    let previous = inputs[0].clock_keys.clone();
    let written = sla::replace_clocks_at_versions(
        &mut tx,
        &[(replayed(x.id, 3, previous), x.version)],
        &[clock(x.id, "t2", 60_000_000), clock(x.id, "t3", 0)],
    )
    .await
    .unwrap();
    assert_eq!(written, 1);
    let stored = |clocks: Vec<ClockRow>| -> Vec<(String, i64)> {
        clocks
            .into_iter()
            .map(|c| (c.target_key, c.elapsed_micros))
            .collect()
    };
    let mut of_x = stored(sla::clocks(&mut tx, x.id).await.unwrap());
    of_x.sort();
    assert_eq!(of_x, [("t2".to_owned(), 60_000_000), ("t3".to_owned(), 0)]);
    assert_eq!(
        stored(sla::clocks(&mut tx, y.id).await.unwrap()),
        [("t1".to_owned(), 0)]
    );
    let after = sla::clock_keys_of(&mut tx, &[x.id, y.id]).await.unwrap();
    assert_eq!(after[&x.id], [keys("t2"), keys("t3")]);
    assert_eq!(after[&y.id], [keys("t1")]);
    tx.commit().await.unwrap();
    db.cleanup().await;
}

/// The upkeep indexes what was created since its last run and copies the write-ahead log back
/// into the database file, all of it unless a reader still uses part of it (PostgreSQL has
/// nothing to do).
async fn the_upkeep_indexes_new_records_and_copies_the_log_back(backend: Backend) {
    let sqlite = backend == Backend::Sqlite;
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let a = insert_incident(&mut tx, &incident(org, "Logged", 2), user, "2026-02-01T10:00:00Z").await;
    tx.commit().await.unwrap();
    let done = db.store.upkeep().await.unwrap();
    assert_eq!((done.indexed, done.log_left), (u64::from(sqlite), 0));

    // A reader in the middle of a transaction keeps what it reads in the log.
    let mut reader = db.store.read().await.unwrap();
    sqlx::query("BEGIN").execute(&mut *reader).await.unwrap();
    assert_eq!(titles_found(&mut reader, "logged").await, ["Logged"]);
    let mut tx = db.store.begin().await.unwrap();
    insert_incident(&mut tx, &incident(org, "Later", 2), user, "2026-02-01T11:00:00Z").await;
    tx.commit().await.unwrap();
    let done = db.store.upkeep().await.unwrap();
    assert_eq!(done.indexed, u64::from(sqlite));
    if sqlite {
        assert!(done.log_left > 0, "the reader's pages stay in the log");
    }
    sqlx::query("COMMIT").execute(&mut *reader).await.unwrap();
    drop(reader);
    assert_eq!(db.store.upkeep().await.unwrap(), Default::default());

    let mut c = db.store.read().await.unwrap();
    let stored = records::get(&mut c, a.id).await.unwrap().unwrap();
    assert_eq!(stored.record.title, "Logged");
    assert_eq!(titles_found(&mut c, "later").await, ["Later"]);
    drop(c);
    db.cleanup().await;
}

/// The "created" events of records, by `user`, with their changes.
fn created_events<'a>(
    records: &[itsm_domain::Record],
    changes: &'a [Vec<itsm_domain::FieldChange>],
    user: UserId,
    request_id: Option<&'a str>,
) -> Vec<NewEvent<'a>> {
    records
        .iter()
        .zip(changes)
        .map(|(r, ch)| NewEvent {
            subject: Subject::Record(r.id),
            action: "created",
            actor: Some(user),
            at: r.created_at,
            request_id,
            summary: String::new(),
            changes: ch,
        })
        .collect()
}

async fn batch_writes_keep_order_numbers_and_audit(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    // One record first, so the batch continues its numbering (and ids) rather than starting it.
    let first = insert_incident(&mut tx, &incident(org, "First", 3), user, "2026-02-01T09:00:00Z").await;
    let fields: Vec<(RecordKind, RecordFields)> = vec![
        (RecordKind::INCIDENT, incident(org, "Second", 1)),
        (RecordKind::SERVICE, incident(org, "Mail service", 0)),
        (RecordKind::INCIDENT, incident(org, "Third", 2)),
    ];
    let new: Vec<records::NewRecord> = fields
        .iter()
        .enumerate()
        .map(|(i, (kind, f))| records::NewRecord {
            kind: *kind,
            fields: f,
            actor: Some(user),
            at: at("2026-02-01T10:00:00Z") + jiff::SignedDuration::from_mins(i as i64),
        })
        .collect();
    let created = records::insert_many(&mut tx, &new).await.unwrap();
    let titles: Vec<&str> = created.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles, ["Second", "Mail service", "Third"]);
    let numbers: Vec<(RecordKind, i64)> = created.iter().map(|r| (r.kind, r.number)).collect();
    assert_eq!(
        numbers,
        [
            (RecordKind::INCIDENT, first.number + 1),
            (RecordKind::SERVICE, 1),
            (RecordKind::INCIDENT, first.number + 2)
        ]
    );
    // What was returned is what was stored, row by row.
    for r in &created {
        let stored = records::get(&mut tx, r.id).await.unwrap().unwrap().record;
        assert_eq!(
            (stored.title.as_str(), stored.number, stored.kind),
            (r.title.as_str(), r.number, r.kind)
        );
        assert_eq!(stored.created_at, r.created_at);
    }
    // Events for several subjects in one call: each gets its own id and its own changes.
    let changes: Vec<Vec<itsm_domain::FieldChange>> = created
        .iter()
        .map(|r| diff_fields(&FieldMap::new(), &r.fields().audit_map()))
        .collect();
    let events = created_events(&created, &changes, user, Some("req-batch"));
    let ids = audit::write_many(&mut tx, &events).await.unwrap();
    assert_eq!(ids.len(), 3);
    for (r, id) in created.iter().zip(&ids) {
        let history = audit::history(&mut tx, Subject::Record(r.id), 0, 10)
            .await
            .unwrap();
        assert_eq!(history.len(), 1, "{}", r.title);
        assert_eq!(history[0].id, *id);
        assert_eq!(history[0].request_id.as_deref(), Some("req-batch"));
        let title = history[0].changes.iter().find(|c| c.field == "title").unwrap();
        assert_eq!(title.new, serde_json::json!(r.title));
    }
    // Comments in one call come back in the order given.
    let bodies = ["one", "two", "three"];
    let new_comments: Vec<comments::NewComment> = created
        .iter()
        .zip(bodies)
        .map(|(r, body)| comments::NewComment {
            record: r.id,
            author: Some(user),
            internal: false,
            body,
            at: r.created_at,
        })
        .collect();
    let comment_ids = comments::insert_many(&mut tx, &new_comments).await.unwrap();
    for ((r, body), id) in created.iter().zip(bodies).zip(comment_ids) {
        let stored = comments::list(&mut tx, r.id, true, 10).await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!((stored[0].id, stored[0].body.as_str()), (id, body));
    }
    tx.commit().await.unwrap();
    db.cleanup().await;
}

async fn a_batch_update_with_one_stale_record_reports_it(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let a = insert_incident(&mut tx, &incident(org, "A", 3), user, "2026-02-01T09:00:00Z").await;
    let b = insert_incident(&mut tx, &incident(org, "B", 3), user, "2026-02-01T09:00:00Z").await;
    tx.commit().await.unwrap();
    let mut fa = a.fields();
    fa.title = "A changed".into();
    let mut fb = b.fields();
    fb.title = "B changed".into();
    let later = at("2026-02-01T10:00:00Z");
    // Both changes, with B read at `b_version`.
    let updates = |b_version| {
        [
            records::RecordUpdate {
                kind: RecordKind::INCIDENT,
                id: a.id,
                expected_version: 1,
                fields: &fa,
                at: later,
            },
            records::RecordUpdate {
                kind: RecordKind::INCIDENT,
                id: b.id,
                expected_version: b_version,
                fields: &fb,
                at: later,
            },
        ]
    };
    let mut tx = db.store.begin().await.unwrap();
    // B is read at a version it no longer has.
    let err = records::update_many(&mut tx, &updates(7)).await.unwrap_err();
    assert!(
        matches!(err, StorageError::VersionConflict { current: 1 }),
        "{err:?}"
    );
    tx.rollback().await.unwrap();
    let mut c = db.store.read().await.unwrap();
    let stored = records::get_many(&mut c, &[a.id, b.id]).await.unwrap();
    let titles: Vec<(&str, i64)> = stored
        .iter()
        .map(|v| (v.record.title.as_str(), v.record.version))
        .collect();
    assert_eq!(titles, [("A", 1), ("B", 1)], "a refused batch changes nothing");
    drop(c);
    let mut tx = db.store.begin().await.unwrap();
    records::update_many(&mut tx, &updates(1)).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = db.store.read().await.unwrap();
    let stored = records::get_many(&mut c, &[a.id, b.id]).await.unwrap();
    let titles: Vec<(&str, i64, jiff::Timestamp)> = stored
        .iter()
        .map(|v| (v.record.title.as_str(), v.record.version, v.record.updated_at))
        .collect();
    assert_eq!(titles, [("A changed", 2, later), ("B changed", 2, later)]);
    drop(c);
    db.cleanup().await;
}

async fn records_and_their_audit_are_written_together_or_not_at_all(backend: Backend) {
    use itsm_storage::batch::{reserve_ids, Inserts};
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let first = insert_incident(&mut tx, &incident(org, "First", 3), user, "2026-02-01T09:00:00Z").await;
    tx.commit().await.unwrap();

    // Ids for two tables and the SLA configuration's version in one round trip: fresh, distinct.
    let mut tx = db.store.begin().await.unwrap();
    let (ids, version) = reserve_ids(
        &mut tx,
        &[("records", 2), ("audit_events", 2)],
        Some(itsm_storage::sla::CONFIG_VERSION),
    )
    .await
    .unwrap();
    assert_eq!(
        version,
        Some(itsm_storage::sla::config_version(&mut tx).await.unwrap())
    );
    assert_eq!((ids[0].len(), ids[1].len()), (2, 2));
    assert!(ids[0].iter().all(|id| *id > first.id.0) && ids[0][0] != ids[0][1]);
    let fields = [incident(org, "Second", 1), incident(org, "Third", 2)];
    let new: Vec<records::NewRecord> = fields
        .iter()
        .map(|f| records::NewRecord {
            kind: RecordKind::INCIDENT,
            fields: f,
            actor: Some(user),
            at: at("2026-02-01T10:00:00Z"),
        })
        .collect();
    let prepared = records::prepare_many(&mut tx, &new, ids[0].clone())
        .await
        .unwrap();
    let changes: Vec<Vec<itsm_domain::FieldChange>> = fields
        .iter()
        .map(|f| diff_fields(&FieldMap::new(), &f.audit_map()))
        .collect();
    let events = created_events(prepared.records(), &changes, user, None);
    let transitions: Vec<audit::NewTransition> = prepared
        .records()
        .iter()
        .zip(&ids[1])
        .map(|(r, event)| audit::NewTransition {
            record: r.id,
            kind: r.kind,
            from: None,
            to: "new",
            reason: None,
            at: r.created_at,
            actor: Some(user),
            event_id: *event,
        })
        .collect();
    let mut inserts = Inserts::default();
    let added = prepared.add_to(&mut inserts);
    audit::add_events(&mut inserts, &events, &ids[1]);
    audit::add_transitions(&mut inserts, &transitions);
    let returned = inserts.run(&mut tx).await.unwrap();
    let created = added.numbered(&returned).unwrap();
    tx.commit().await.unwrap();
    let numbers: Vec<i64> = created.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [first.number + 1, first.number + 2]);
    let mut c = db.store.read().await.unwrap();
    for (r, event) in created.iter().zip(&ids[1]) {
        assert_eq!(
            records::get(&mut c, r.id).await.unwrap().unwrap().record.title,
            r.title
        );
        let history = audit::history(&mut c, Subject::Record(r.id), 0, 10)
            .await
            .unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].id, *event);
        assert!(history[0].changes.iter().any(|c| c.field == "title"));
    }
    drop(c);

    // A part that cannot be written (an audit event under an id already taken) fails the whole
    // write: the record written beside it is not stored.
    let taken_event = ids[1][0];
    let mut tx = db.store.begin().await.unwrap();
    let (ids, _) = reserve_ids(&mut tx, &[("records", 1)], None).await.unwrap();
    let lone = [incident(org, "Never stored", 3)];
    let new = [records::NewRecord {
        kind: RecordKind::INCIDENT,
        fields: &lone[0],
        actor: Some(user),
        at: at("2026-02-01T11:00:00Z"),
    }];
    let prepared = records::prepare_many(&mut tx, &new, ids[0].clone())
        .await
        .unwrap();
    let stored_id = prepared.records()[0].id;
    let changes = [Vec::new()];
    let events = created_events(prepared.records(), &changes, user, None);
    let mut inserts = Inserts::default();
    prepared.add_to(&mut inserts);
    audit::add_events(&mut inserts, &events, &[taken_event]);
    assert!(inserts.run(&mut tx).await.is_err());
    drop(tx);
    let mut c = db.store.read().await.unwrap();
    assert!(records::get(&mut c, stored_id).await.unwrap().is_none());
    drop(c);
    db.cleanup().await;
}

/// New incidents of one group: each condition has an index in the order "newest first", both
/// together none. The three matches are the oldest of the group's 6,003 records, beyond what one
/// page may walk (`LIST_WALKS`): the first page answers none with a cursor where its walk stopped,
/// and following the cursors finds every match once, in order.
async fn a_list_no_index_serves_reads_a_bounded_walk_per_page_and_loses_nothing(backend: Backend) {
    let start = at("2026-03-01T00:00:00Z");
    let (db, org, user, group) = setup_with_group(backend, start).await;
    let mut tx = db.store.begin().await.unwrap();
    let mut fields: Vec<(RecordFields, i64)> = Vec::new();
    for i in 0..3 {
        let mut f = incident(org, &format!("Waiting {i}"), 3);
        f.assignment_group_id = Some(group);
        fields.push((f, i));
    }
    for i in 0..6_000 {
        let mut f = incident(org, &format!("Being worked {i}"), 3);
        f.state = "in_progress".into();
        f.assignment_group_id = Some(group);
        fields.push((f, 10 + i));
    }
    // New ones without a group, updated last: the state's own index finds these first.
    for i in 0..2_000 {
        fields.push((incident(org, &format!("Unrouted {i}"), 3), 10_000 + i));
    }
    let new = incidents_at(&fields, user, start);
    records::insert_many(&mut tx, &new).await.unwrap();
    tx.commit().await.unwrap();
    db.store.analyze().await.unwrap();

    let filter = RecordFilter {
        states: vec!["new".into()],
        assignment_group_id: Some(Some(group)),
        ..Default::default()
    };
    let mut c = db.store.read().await.unwrap();
    let mut after = None;
    let mut pages = Vec::new();
    loop {
        let page = PageRequest {
            sort: SortField::UpdatedAt,
            descending: true,
            after,
            limit: 2,
        };
        let got = records::list(&mut c, RecordKind::INCIDENT, &filter, page)
            .await
            .unwrap();
        pages.push(
            got.items
                .iter()
                .map(|v| v.record.title.clone())
                .collect::<Vec<_>>(),
        );
        match got.next {
            Some(next) => after = Some(next),
            None => break,
        }
        assert!(pages.len() < 10, "the cursors must come to an end: {pages:?}");
    }
    assert!(
        pages[0].is_empty(),
        "the first walk stops short of the matches: {pages:?}"
    );
    let found: Vec<String> = pages.concat();
    assert_eq!(found, ["Waiting 2", "Waiting 1", "Waiting 0"], "pages: {pages:?}");

    // A list one index serves whole is answered in one walk, full pages and no empty ones.
    let one = RecordFilter {
        assignment_group_id: Some(Some(group)),
        ..Default::default()
    };
    let page = PageRequest {
        sort: SortField::UpdatedAt,
        descending: true,
        after: None,
        limit: 50,
    };
    let got = records::list(&mut c, RecordKind::INCIDENT, &one, page)
        .await
        .unwrap();
    assert_eq!(got.items.len(), 50);
    assert_eq!(got.items[0].record.title, "Being worked 5999");
    drop(c);
    db.cleanup().await;
}

/// Follows a list's cursors to the end, answering the ids in the order listed and the number of
/// pages it took.
async fn every_page(
    c: &mut sqlx::AnyConnection,
    filter: &RecordFilter,
    sort: SortField,
    descending: bool,
    limit: u32,
) -> (Vec<i64>, usize) {
    let (mut ids, mut pages, mut after) = (Vec::new(), 0, None);
    loop {
        let page = PageRequest {
            sort,
            descending,
            after,
            limit,
        };
        let got = records::list(c, RecordKind::INCIDENT, filter, page)
            .await
            .unwrap();
        pages += 1;
        assert!(got.items.len() <= limit as usize);
        ids.extend(got.items.iter().map(|v| v.record.id.0));
        match got.next {
            Some(next) => after = Some(next),
            None => return (ids, pages),
        }
        assert!(pages < 1_000, "the cursors must come to an end");
    }
}

/// A list by due instant is walked in two stretches, the records with a due instant and those
/// without one (see `Walk::range`). Half of 5,000 incidents have a due instant, seven distinct
/// ones so that many share a key; the other half have none. Whatever the direction, page size and
/// filters, following the cursors lists every match once, in (due instant, id) order with the
/// records without one last, including a filter pair that matches one record in a hundred and
/// answers pages that come up short.
async fn a_list_by_due_instant_walks_both_stretches_in_order_and_loses_nothing(backend: Backend) {
    let start = at("2026-03-01T00:00:00Z");
    let (db, org, user, group) = setup_with_group(backend, start).await;
    let mut tx = db.store.begin().await.unwrap();
    let fields: Vec<(RecordFields, i64)> = (0..5_000)
        .map(|i| {
            let mut f = incident(org, &format!("Incident {i}"), 3);
            if i % 97 == 0 {
                f.assignment_group_id = Some(group);
            } else if i % 2 == 0 {
                f.state = "in_progress".into();
                f.assignment_group_id = Some(group);
            }
            (f, i)
        })
        .collect();
    let stored = records::insert_many(&mut tx, &incidents_at(&fields, user, start))
        .await
        .unwrap();
    let hour = 3_600_000_000_i64;
    let base = start.as_microsecond();
    sqlx::query("UPDATE records SET sla_due_at = $1 + (id % 7) * $2 WHERE id % 2 = 0")
        .bind(base)
        .bind(hour)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    db.store.analyze().await.unwrap();

    let key = |id: i64| {
        if id % 2 == 0 {
            base + (id % 7) * hour
        } else {
            i64::MAX
        }
    };
    let expected = |matches: &dyn Fn(&itsm_domain::Record) -> bool, descending: bool| {
        let mut ids: Vec<i64> = stored.iter().filter(|r| matches(r)).map(|r| r.id.0).collect();
        ids.sort_by_key(|&id| (key(id), id));
        if descending {
            ids.reverse();
        }
        ids
    };
    let mut c = db.store.read().await.unwrap();
    let all = RecordFilter::default();
    for descending in [false, true] {
        let (ids, _) = every_page(&mut c, &all, SortField::Due, descending, 200).await;
        assert_eq!(
            ids,
            expected(&|_| true, descending),
            "all, descending: {descending}"
        );
    }
    let sparse = RecordFilter {
        states: vec!["new".into()],
        assignment_group_id: Some(Some(group)),
        ..Default::default()
    };
    let wanted = |r: &itsm_domain::Record| r.state == "new" && r.assignment_group_id == Some(group);
    for descending in [false, true] {
        let (ids, pages) = every_page(&mut c, &sparse, SortField::Due, descending, 7).await;
        let want = expected(&wanted, descending);
        assert_eq!(want.len(), 52);
        assert_eq!(ids, want, "new in the group, descending: {descending}");
        assert!(pages >= 8, "pages of 7 hold 52 matches: {pages}");
    }
    drop(c);
    db.cleanup().await;
}

/// The titles a text search lists, by number.
async fn titles_found(c: &mut sqlx::AnyConnection, q: &str) -> Vec<String> {
    let filter = RecordFilter {
        text: Some(q.to_owned()),
        ..Default::default()
    };
    let page = PageRequest {
        sort: SortField::Number,
        descending: false,
        after: None,
        limit: 50,
    };
    let p = records::list(c, RecordKind::INCIDENT, &filter, page)
        .await
        .unwrap();
    p.items.iter().map(|v| v.record.title.clone()).collect()
}

/// A search finds a record by the own fields its kind declares `searched` (an incident's
/// resolution notes and category), before and after SQLite indexes it, and after they change;
/// never by a field that is not searched. When the declarations change, migrating rewrites the
/// searched text of the records already stored.
async fn a_search_covers_the_fields_a_kind_declares_searched(backend: Backend) {
    let (db, org, user) = setup(backend).await;
    let mut with_notes = incident(org, "Mail down", 2);
    with_notes.state = "resolved".into();
    with_notes
        .details
        .insert("resolution_notes".into(), "Restarted the relay".into());
    with_notes.details.insert("category".into(), "network".into());
    let mut waiting = incident(org, "Printer jams", 3);
    waiting.state = "on_hold".into();
    waiting
        .details
        .insert("on_hold_reason".into(), "awaiting_supplier".into());
    let mut tx = db.store.begin().await.unwrap();
    let mail = insert_incident(&mut tx, &with_notes, user, "2026-02-01T10:00:00Z").await;
    insert_incident(&mut tx, &waiting, user, "2026-02-01T10:00:00Z").await;
    tx.commit().await.unwrap();
    for indexed in [false, true] {
        let mut c = db.store.read().await.unwrap();
        assert_eq!(
            titles_found(&mut c, "relay").await,
            ["Mail down"],
            "indexed: {indexed}"
        );
        assert_eq!(
            titles_found(&mut c, "network").await,
            ["Mail down"],
            "indexed: {indexed}"
        );
        assert!(
            titles_found(&mut c, "supplier").await.is_empty(),
            "not a searched field"
        );
        drop(c);
        db.store.upkeep().await.unwrap();
    }

    let mut f = mail.fields();
    f.details
        .insert("resolution_notes".into(), "Replaced the certificate".into());
    let mut tx = db.store.begin().await.unwrap();
    records::update(
        &mut tx,
        RecordKind::INCIDENT,
        mail.id,
        1,
        &f,
        at("2026-02-01T11:00:00Z"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut c = db.store.read().await.unwrap();
    assert!(titles_found(&mut c, "relay").await.is_empty());
    assert_eq!(titles_found(&mut c, "certificate").await, ["Mail down"]);

    drop(c);
    // As if the text had been made before `resolution_notes` was declared searched.
    let mut tx = db.store.begin().await.unwrap();
    sqlx::query("UPDATE declared_search SET fields = 'category' WHERE kind = 'incident'")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE records SET search_text = 'network'")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut c = db.store.read().await.unwrap();
    assert!(titles_found(&mut c, "certificate").await.is_empty());
    drop(c);
    if let Err(e) = db.store.migrate().await {
        panic!("{e}: {e:?}");
    }
    let mut c = db.store.read().await.unwrap();
    assert_eq!(titles_found(&mut c, "certificate").await, ["Mail down"]);
    drop(c);
    db.cleanup().await;
}

/// SQLite indexes a new record's text after its creation (`Store::upkeep`); PostgreSQL has
/// nothing to index later. A search answers the same before and after, and a text change is
/// right whether or not the record was indexed yet.
async fn a_new_record_is_found_before_and_after_its_text_is_indexed(backend: Backend) {
    let sqlite = backend == Backend::Sqlite;
    let (db, org, user) = setup(backend).await;
    let mut tx = db.store.begin().await.unwrap();
    let mut stored = Vec::new();
    for t in ["Printer jams", "Printers offline", "Laptop battery"] {
        stored.push(insert_incident(&mut tx, &incident(org, t, 3), user, "2026-02-01T10:00:00Z").await);
    }
    tx.commit().await.unwrap();
    let mut c = db.store.read().await.unwrap();
    assert_eq!(
        titles_found(&mut c, "printer").await,
        ["Printer jams", "Printers offline"]
    );
    assert_eq!(titles_found(&mut c, "print jams").await, ["Printer jams"]);
    drop(c);

    assert_eq!(
        db.store.upkeep().await.unwrap().indexed,
        if sqlite { 3 } else { 0 }
    );
    assert_eq!(
        db.store.upkeep().await.unwrap().indexed,
        0,
        "nothing left to index"
    );
    let mut c = db.store.read().await.unwrap();
    assert_eq!(
        titles_found(&mut c, "printer").await,
        ["Printer jams", "Printers offline"]
    );
    assert_eq!(titles_found(&mut c, "print jams").await, ["Printer jams"]);
    drop(c);

    // Retitle a record already indexed, and one created and retitled before it is.
    let mut tx = db.store.begin().await.unwrap();
    let mut f = stored[2].fields();
    f.title = "Laptop screen flickers".into();
    f.description = "after the docking station update".into();
    records::update(
        &mut tx,
        RecordKind::INCIDENT,
        stored[2].id,
        1,
        &f,
        at("2026-02-01T11:00:00Z"),
    )
    .await
    .unwrap();
    let scanner = insert_incident(
        &mut tx,
        &incident(org, "Scanner noise", 3),
        user,
        "2026-02-01T11:00:00Z",
    )
    .await;
    let mut f = scanner.fields();
    f.title = "Plotter noise".into();
    f.description = "loud".into();
    records::update(
        &mut tx,
        RecordKind::INCIDENT,
        scanner.id,
        1,
        &f,
        at("2026-02-01T11:05:00Z"),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for indexed in [false, true] {
        let mut c = db.store.read().await.unwrap();
        assert_eq!(
            titles_found(&mut c, "docking").await,
            ["Laptop screen flickers"],
            "indexed: {indexed}"
        );
        assert!(
            titles_found(&mut c, "battery").await.is_empty(),
            "indexed: {indexed}"
        );
        assert!(
            titles_found(&mut c, "scanner").await.is_empty(),
            "indexed: {indexed}"
        );
        assert_eq!(
            titles_found(&mut c, "noise loud").await,
            ["Plotter noise"],
            "indexed: {indexed}"
        );
        assert_eq!(
            titles_found(&mut c, "printer").await,
            ["Printer jams", "Printers offline"]
        );
        drop(c);
        if !indexed {
            assert_eq!(
                db.store.upkeep().await.unwrap().indexed,
                if sqlite { 1 } else { 0 }
            );
        }
    }
    if sqlite {
        // With everything indexed, the index holds exactly the records' current text: an
        // external-content index told a wrong old text on an update fails this check.
        let mut tx = db.store.begin().await.unwrap();
        sqlx::query("INSERT INTO records_fts (records_fts, rank) VALUES ('integrity-check', 1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
    }
    db.cleanup().await;
}

/// A kind's own indexed fields (an incident's category and reopen count) filter and sort lists
/// through their indexes: 3,000 incidents in four categories, reopened 0 to 6 times, with a
/// service of the same category name beside them. Filtered by category in the queue's order, in
/// both directions and with other conditions, and sorted by reopen count with records without
/// one first, following the cursors lists every match once, in order.
async fn lists_filter_and_sort_on_a_kinds_own_indexed_fields(backend: Backend) {
    let start = at("2026-03-01T00:00:00Z");
    let (db, org, user, group) = setup_with_group(backend, start).await;
    let categories = ["network", "access", "hardware", "software"];
    let mut fields: Vec<(RecordFields, i64)> = Vec::new();
    for i in 0..3_000i64 {
        let mut f = incident(org, &format!("Incident {i}"), 3);
        f.details
            .insert("category".into(), categories[(i % 4) as usize].into());
        if i % 3 != 0 {
            f.details.insert("reopen_count".into(), (i % 7).into());
        }
        if i % 5 == 0 {
            f.assignment_group_id = Some(group);
        }
        fields.push((f, i));
    }
    let mut tx = db.store.begin().await.unwrap();
    records::insert_many(&mut tx, &incidents_at(&fields, user, start))
        .await
        .unwrap();
    let mut service = incident(org, "Network", 3);
    service.details.insert("category".into(), "network".into());
    records::insert(&mut tx, RecordKind::SERVICE, &service, Some(user), start)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    db.store.analyze().await.unwrap();
    let ids: Vec<i64> = {
        let mut c = db.store.read().await.unwrap();
        let all = RecordFilter::default();
        every_page(&mut c, &all, SortField::Number, false, 200).await.0
    };
    assert_eq!(ids.len(), 3_000);
    let category = RecordKind::INCIDENT.field("category").unwrap();
    let reopens = RecordKind::INCIDENT.field("reopen_count").unwrap();
    let mut c = db.store.read().await.unwrap();
    // By category, newest first and oldest first, alone and with a group.
    for (with_group, descending, limit) in [(false, true, 50), (false, false, 7), (true, true, 13)] {
        let filter = RecordFilter {
            assignment_group_id: with_group.then_some(Some(group)),
            fields: vec![(category, "network".into())],
            ..Default::default()
        };
        let (got, _) = every_page(&mut c, &filter, SortField::UpdatedAt, descending, limit).await;
        let mut want: Vec<i64> = (0..3_000usize)
            .filter(|i| i % 4 == 0 && (!with_group || i % 5 == 0))
            .map(|i| ids[i])
            .collect();
        if descending {
            want.reverse();
        }
        assert_eq!(got, want, "group {with_group}, descending {descending}");
    }
    // A value no record holds, and a value of the wrong type, match nothing.
    for value in [serde_json::Value::from("printers"), serde_json::Value::from(3)] {
        let filter = RecordFilter {
            fields: vec![(category, value)],
            ..Default::default()
        };
        assert!(every_page(&mut c, &filter, SortField::UpdatedAt, true, 50)
            .await
            .0
            .is_empty());
    }
    // By reopen count (none counts as 0), then id; also within a category.
    for (in_category, descending) in [(false, false), (false, true), (true, true)] {
        let filter = RecordFilter {
            fields: if in_category {
                vec![(category, "access".into())]
            } else {
                vec![]
            },
            ..Default::default()
        };
        let (got, _) = every_page(&mut c, &filter, SortField::Field(reopens), descending, 64).await;
        let mut want: Vec<(i64, i64)> = (0..3_000usize)
            .filter(|i| !in_category || i % 4 == 1)
            .map(|i| (if i % 3 == 0 { 0 } else { (i % 7) as i64 }, ids[i]))
            .collect();
        want.sort();
        if descending {
            want.reverse();
        }
        let want: Vec<i64> = want.into_iter().map(|(_, id)| id).collect();
        assert_eq!(got, want, "in category {in_category}, descending {descending}");
    }
    drop(c);
    db.cleanup().await;
}
