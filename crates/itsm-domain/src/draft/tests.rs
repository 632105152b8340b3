//! The generic create and change, over the catalogue's declared kinds and a kind declared here
//! for the test alone: a customer's record with a requester, assignment and a transition that
//! requires a field, which no registered kind combines yet.

use serde_json::{json, Map, Value};

use super::*;
use crate::field::{Choice, FieldSpec};
use crate::kind::{Capabilities, KindAccess, KindSpec, NO_RULES};
use crate::lifecycle::{Additions, Lifecycle, Phase, State, Transition};

static ERRAND_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "open",
    states: &[
        State::new("open", "Open", Phase::Active),
        State::new("done", "Done", Phase::Closed),
    ],
    transitions: &[Transition::new("open", "done", "Finish")
        .requiring(&["outcome"])
        .confirmed()],
    after_end: Additions::NONE,
};

static ERRAND_SPEC: KindSpec = KindSpec {
    name: "errand",
    prefix: "ERR",
    collection: "errands",
    label: "Errand",
    lifecycle: &ERRAND_LIFECYCLE,
    capabilities: Capabilities::NONE,
    access: KindAccess {
        create: Permission::CreateIncident,
        change: Permission::WorkIncidents,
    },
    shared: SharedFields {
        title: "title",
        owner: Owner::Customer,
        service: Use::Optional,
        configuration_item: Use::No,
        assignment: Use::Optional,
        requester: Some("requester_id"),
    },
    writes: Writes::Declared,
    fields: &[
        FieldSpec::new("due_on", "Due on", FieldType::Date).required(),
        FieldSpec::new(
            "outcome",
            "Outcome",
            FieldType::Choice {
                choices: &[Choice {
                    value: "fine",
                    label: "Fine",
                }],
            },
        ),
        FieldSpec::new(
            "offering",
            "Offering",
            FieldType::Reference {
                kind: "service_offering",
                same_service: true,
            },
        ),
        FieldSpec::new("finished_at", "Finished at", FieldType::Instant),
    ],
    rules: &NO_RULES,
};

const ERRAND: RecordKind = RecordKind::declare(&ERRAND_SPEC);
const PROVIDER: OrganizationId = OrganizationId(1);

static MATRIX: std::sync::LazyLock<crate::incident::PriorityMatrix> =
    std::sync::LazyLock::new(crate::incident::PriorityMatrix::default);

fn cx() -> RuleContext<'static> {
    RuleContext::new(jiff::Timestamp::UNIX_EPOCH, &MATRIX)
}

fn input(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn fields_of(e: ValidationError) -> Vec<String> {
    e.errors.into_iter().map(|e| e.field).collect()
}

fn customer() -> Actor {
    Actor {
        user_id: UserId(7),
        organization_id: OrganizationId(2),
        role: Role::Customer,
    }
}

fn record(kind: RecordKind, f: &RecordFields) -> Record {
    let org = f.organization_id.unwrap_or(PROVIDER);
    Record::first(
        RecordId(10),
        kind,
        1,
        org,
        f.clone(),
        jiff::Timestamp::UNIX_EPOCH,
        None,
    )
}

#[test]
fn a_catalogue_item_takes_its_name_and_only_the_columns_its_kind_uses() {
    let f = new_record(
        RecordKind::SERVICE,
        &input(json!({"name": " Email ", "description": "Mail for all"})),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap();
    assert_eq!(f.title, "Email");
    assert_eq!(f.organization_id, Some(PROVIDER));
    assert_eq!(f.state, "live");
    let e = new_record(
        RecordKind::CONFIGURATION_ITEM,
        &input(json!({"name": "mx1", "service_id": 3, "organization_id": 2, "colour": "red"})),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap_err();
    assert_eq!(fields_of(e), ["colour", "organization_id", "service_id"]);
    let e = new_record(
        RecordKind::SERVICE_OFFERING,
        &input(json!({"name": "Gold"})),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap_err();
    assert_eq!(fields_of(e), ["service_id"]);
    let e = new_record(
        RecordKind::SERVICE,
        &input(json!({"state": "retired"})),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap_err();
    assert_eq!(fields_of(e), ["state", "name"]);
}

#[test]
fn kinds_with_their_own_use_cases_are_not_written_generically() {
    let e = new_record(
        RecordKind::CALENDAR,
        &input(json!({"name": "x"})),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap_err();
    assert_eq!(fields_of(e), ["kind"]);
}

#[test]
fn a_guarded_field_asks_for_its_permission() {
    let given = input(json!({"calendar_id": 4, "name": "Email"}));
    assert_eq!(
        guards(RecordKind::SERVICE, &given),
        [Permission::ManageServiceLevels]
    );
    assert!(guards(RecordKind::SERVICE, &input(json!({"name": "Email"}))).is_empty());
}

#[test]
fn a_customer_raises_for_their_own_organization_and_cannot_assign() {
    let me = customer();
    let f = new_record(
        ERRAND,
        &input(json!({"title": "Move desk", "due_on": "2026-12-31"})),
        Some(&me),
        PROVIDER,
        &cx(),
    )
    .unwrap();
    assert_eq!(f.organization_id, Some(me.organization_id));
    assert_eq!(f.requester_id, Some(me.user_id));
    assert_eq!(f.details.get("due_on"), Some(&json!("2026-12-31")));
    let e = new_record(
        ERRAND,
        &input(json!({"title": "x", "due_on": "2026-12-31", "organization_id": 3, "assignment_group_id": 1})),
        Some(&me),
        PROVIDER,
        &cx(),
    )
    .unwrap_err();
    assert_eq!(fields_of(e), ["organization_id", "assignment_group_id"]);
    // Staff name the organization; the declared required field and the system's own are refused.
    let e = new_record(
        ERRAND,
        &input(json!({"title": "x", "finished_at": "2026-01-01T00:00:00Z", "assignee_id": 4})),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap_err();
    assert_eq!(
        fields_of(e),
        ["organization_id", "finished_at", "due_on", "assignee_id"]
    );
}

#[test]
fn a_change_moves_only_along_the_lifecycle_with_what_the_move_requires() {
    let created = new_record(
        ERRAND,
        &input(json!({"title": "Move desk", "due_on": "2026-12-31", "organization_id": 2})),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap();
    let current = record(ERRAND, &created);
    match changed_record(&current, &input(json!({"state": "done"})), None, &cx()) {
        Err(ChangeError::Invalid(e)) => assert_eq!(fields_of(e), ["outcome"]),
        other => panic!("{other:?}"),
    }
    let done = changed_record(
        &current,
        &input(json!({"state": "done", "outcome": "fine"})),
        None,
        &cx(),
    )
    .unwrap();
    assert_eq!(done.state, "done");
    let finished = record(ERRAND, &done);
    match changed_record(&finished, &input(json!({"state": "open"})), None, &cx()) {
        Err(ChangeError::Transition(t)) => assert!(t.allowed.is_empty()),
        other => panic!("{other:?}"),
    }
    let e = changed_record(
        &current,
        &input(json!({"organization_id": 3, "title": ""})),
        None,
        &cx(),
    );
    match e {
        Err(ChangeError::Invalid(e)) => assert_eq!(fields_of(e), ["organization_id", "title"]),
        other => panic!("{other:?}"),
    }
    // Clearing an optional field removes it; the same state is no move.
    let cleared = changed_record(
        &current,
        &input(json!({"due_on": null, "state": "open"})),
        None,
        &cx(),
    )
    .unwrap();
    assert!(!cleared.details.contains_key("due_on"));
}

#[test]
fn references_list_what_is_new_with_the_kind_each_must_be() {
    let f = new_record(
        ERRAND,
        &input(
            json!({"title": "x", "due_on": "2026-12-31", "organization_id": 2, "service_id": 5,
            "offering": 6, "assignment_group_id": 8, "assignee_id": 9, "requester_id": 11}),
        ),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap();
    let r = references(ERRAND, &f, None);
    assert_eq!(r.organization, Some(OrganizationId(2)));
    assert_eq!(r.group, Some(GroupId(8)));
    assert_eq!(r.member, Some((GroupId(8), UserId(9))));
    assert_eq!(r.requester, Some(("requester_id", UserId(11))));
    assert_eq!(
        r.records,
        [
            RecordReference {
                field: "service_id",
                id: RecordId(5),
                kind: "service",
                service: None
            },
            RecordReference {
                field: "offering",
                id: RecordId(6),
                kind: "service_offering",
                service: Some(Some(RecordId(5)))
            },
        ]
    );
    // Nothing is new: nothing to check. A new service checks the offering again.
    assert!(references(ERRAND, &f, Some(&f)).is_empty());
    let mut moved = f.clone();
    moved.service_id = Some(RecordId(12));
    let r = references(ERRAND, &moved, Some(&f));
    assert_eq!(
        r.records.iter().map(|x| (x.field, x.id.0)).collect::<Vec<_>>(),
        [("service_id", 12), ("offering", 6)]
    );
    // An offering needs a service to be chosen within.
    let e = new_record(
        ERRAND,
        &input(json!({"title": "x", "due_on": "2026-12-31", "organization_id": 2, "offering": 6})),
        None,
        PROVIDER,
        &cx(),
    )
    .unwrap_err();
    assert_eq!(fields_of(e), ["offering"]);
}

#[test]
fn a_change_is_checked_for_shape_before_the_record_is_read() {
    assert!(check_change_shape(
        ERRAND,
        &input(json!({"title": "New", "state": "done", "offering": 3})),
        None
    )
    .is_ok());
    let e = check_change_shape(
        ERRAND,
        &input(json!({"title": "", "state": "gone", "due_on": "soon", "colour": 1})),
        None,
    )
    .unwrap_err();
    let ChangeError::Invalid(e) = e else {
        panic!("expected invalid fields, got {e:?}")
    };
    assert_eq!(fields_of(e), ["state", "colour", "title", "due_on"]);
}
