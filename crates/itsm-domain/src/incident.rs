//! Incident management (ISO/IEC 20000-1, 8.6.1): restoring normal service as quickly as possible.
//! Priority is derived from impact and urgency through a configurable matrix; the lifecycle and the
//! rules for going on hold, resolving, reopening and closing are here, and nowhere else.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::draft::ChangeError;
use crate::field::{Choice, FieldSpec, FieldType};
use crate::ids::{GroupId, OrganizationId, RecordId, UserId};
use crate::kind::{
    Capabilities, KindAccess, KindRules, KindSpec, Owner, RecordKind, RuleContext, SharedFields, Use, Writes,
};
use crate::lifecycle::{Additions, Lifecycle, Phase, State, Transition};
use crate::permission::Permission;
use crate::record::{Record, RecordFields, SERVICE_OFFERING, STATE_REASON};
use crate::role::Role;
use crate::validation::ValidationError;
use crate::Timestamp;

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 20_000;
pub const CATEGORY_MAX: usize = 60;
pub const RESOLUTION_NOTES_MAX: usize = 20_000;
pub const CANCEL_REASON_MAX: usize = 2_000;

/// Why an incident was cancelled or withdrawn: a cancellation ends its life for good, so it says
/// why.
pub const CANCEL_REASON: &str = "cancel_reason";

/// Categories offered by default; any short text is accepted.
pub const CATEGORIES: [&str; 7] = [
    "access", "hardware", "software", "network", "security", "data", "other",
];

static INCIDENT_SPEC: KindSpec = KindSpec {
    name: "incident",
    prefix: "INC",
    collection: "incidents",
    label: "Incident",
    lifecycle: &LIFECYCLE,
    capabilities: Capabilities {
        service_levels: true,
        customers_contribute: true,
        ..Capabilities::NONE
    },
    access: KindAccess {
        create: Permission::CreateIncident,
        change: Permission::WorkIncidents,
    },
    shared: SharedFields {
        title: "title",
        owner: Owner::Customer,
        service: Use::Optional,
        configuration_item: Use::Optional,
        assignment: Use::Optional,
        requester: Some("caller_id"),
    },
    writes: Writes::Declared,
    fields: &FIELDS,
    // Priority comes from impact and urgency through the configured matrix.
    rules: &RULES,
};

const LEVELS: &[Choice] = &[
    Choice {
        value: "high",
        label: "High",
    },
    Choice {
        value: "medium",
        label: "Medium",
    },
    Choice {
        value: "low",
        label: "Low",
    },
];

/// An incident's own fields.
static FIELDS: [FieldSpec; 12] = [
    FieldSpec::new("impact", "Impact", FieldType::Choice { choices: LEVELS }),
    FieldSpec::new("urgency", "Urgency", FieldType::Choice { choices: LEVELS }),
    FieldSpec::new("category", "Category", FieldType::Text { max: CATEGORY_MAX })
        .indexed()
        .searched(),
    FieldSpec::new(
        SERVICE_OFFERING,
        "Service offering",
        FieldType::Reference {
            kind: "service_offering",
            same_service: true,
        },
    ),
    FieldSpec::new(
        STATE_REASON,
        "On hold reason",
        FieldType::Choice {
            choices: &[
                Choice {
                    value: "awaiting_caller",
                    label: "Awaiting caller",
                },
                Choice {
                    value: "awaiting_supplier",
                    label: "Awaiting supplier",
                },
                Choice {
                    value: "awaiting_change",
                    label: "Awaiting change",
                },
            ],
        },
    ),
    FieldSpec::new(
        "resolution_code",
        "Resolution code",
        FieldType::Choice {
            choices: &[
                Choice {
                    value: "solved",
                    label: "Solved",
                },
                Choice {
                    value: "workaround_provided",
                    label: "Workaround provided",
                },
                Choice {
                    value: "not_reproducible",
                    label: "Not reproducible",
                },
                Choice {
                    value: "duplicate",
                    label: "Duplicate",
                },
                Choice {
                    value: "user_error",
                    label: "User error",
                },
            ],
        },
    ),
    FieldSpec::new(
        "resolution_notes",
        "Resolution notes",
        FieldType::LongText {
            max: RESOLUTION_NOTES_MAX,
        },
    )
    .searched(),
    FieldSpec::new(
        CANCEL_REASON,
        "Reason for cancelling",
        FieldType::LongText {
            max: CANCEL_REASON_MAX,
        },
    ),
    FieldSpec::new("first_response_at", "First response", FieldType::Instant),
    FieldSpec::new("resolved_at", "Resolved at", FieldType::Instant),
    FieldSpec::new("closed_at", "Closed at", FieldType::Instant),
    FieldSpec::new("reopen_count", "Times reopened", FieldType::Count).indexed(),
];

/// Who, besides staff, moves an incident: its caller's organization withdraws it before it is
/// resolved, and confirms or rejects its resolution.
const CALLER: &[Role] = &[Role::Customer];

/// What resolving asks for.
const RESOLUTION: &[&str] = &["resolution_code", "resolution_notes"];

impl RecordKind {
    pub const INCIDENT: RecordKind = RecordKind::declare(&INCIDENT_SPEC);
}

/// The incident lifecycle.
pub static LIFECYCLE: Lifecycle = Lifecycle {
    initial: "new",
    states: &[
        State::new("new", "New", Phase::Active),
        State::new("in_progress", "In progress", Phase::Active),
        State::new("on_hold", "On hold", Phase::Waiting),
        State::new("resolved", "Resolved", Phase::Done),
        State::new("closed", "Closed", Phase::Closed),
        State::new("cancelled", "Cancelled", Phase::Cancelled),
    ],
    transitions: &[
        Transition::new("new", "in_progress", "Start work"),
        Transition::new("new", "on_hold", "Put on hold").requiring(&[STATE_REASON]),
        Transition::new("new", "resolved", "Resolve").requiring(RESOLUTION),
        Transition::new("new", "cancelled", "Cancel")
            .requiring(&[CANCEL_REASON])
            .confirmed()
            .also_by(CALLER),
        Transition::new("in_progress", "on_hold", "Put on hold").requiring(&[STATE_REASON]),
        Transition::new("in_progress", "resolved", "Resolve").requiring(RESOLUTION),
        Transition::new("in_progress", "cancelled", "Cancel")
            .requiring(&[CANCEL_REASON])
            .confirmed()
            .also_by(CALLER),
        Transition::new("on_hold", "in_progress", "Resume"),
        Transition::new("on_hold", "resolved", "Resolve").requiring(RESOLUTION),
        Transition::new("on_hold", "cancelled", "Cancel")
            .requiring(&[CANCEL_REASON])
            .confirmed()
            .also_by(CALLER),
        // A customer reopens only within the configured window after the resolution (see the
        // rules below).
        Transition::new("resolved", "in_progress", "Reopen").also_by(CALLER),
        Transition::new("resolved", "closed", "Close")
            .confirmed()
            .also_by(CALLER),
    ],
    // A closed or cancelled incident's story is told: a caller who needs more raises a new one.
    // Other records still link to it (a problem to the incidents it caused): that link is theirs.
    after_end: Additions::NONE,
};

pub use crate::priority::{priority_label, Level, PriorityMatrix};

/// Why an incident waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnHoldReason {
    AwaitingCaller,
    AwaitingSupplier,
    AwaitingChange,
}

impl OnHoldReason {
    pub const ALL: [OnHoldReason; 3] = [
        OnHoldReason::AwaitingCaller,
        OnHoldReason::AwaitingSupplier,
        OnHoldReason::AwaitingChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OnHoldReason::AwaitingCaller => "awaiting_caller",
            OnHoldReason::AwaitingSupplier => "awaiting_supplier",
            OnHoldReason::AwaitingChange => "awaiting_change",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How an incident was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResolutionCode {
    Solved,
    WorkaroundProvided,
    NotReproducible,
    Duplicate,
    UserError,
}

impl ResolutionCode {
    pub const ALL: [ResolutionCode; 5] = [
        ResolutionCode::Solved,
        ResolutionCode::WorkaroundProvided,
        ResolutionCode::NotReproducible,
        ResolutionCode::Duplicate,
        ResolutionCode::UserError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResolutionCode::Solved => "solved",
            ResolutionCode::WorkaroundProvided => "workaround_provided",
            ResolutionCode::NotReproducible => "not_reproducible",
            ResolutionCode::Duplicate => "duplicate",
            ResolutionCode::UserError => "user_error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a person gives to log an incident, typed for the UI and loaders; what is left out takes its
/// default (medium impact and urgency; a customer's own organization). References are checked by
/// the application layer, which can see whether they exist and belong together.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewIncident {
    /// The customer the incident is for; customers always log for their own organization.
    pub organization_id: Option<OrganizationId>,
    pub title: String,
    pub description: String,
    pub impact: Option<Level>,
    pub urgency: Option<Level>,
    pub category: Option<String>,
    pub service_id: Option<RecordId>,
    /// An offering of the service (which must then be given).
    pub service_offering_id: Option<RecordId>,
    pub configuration_item_id: Option<RecordId>,
    pub caller_id: Option<UserId>,
    pub assignment_group_id: Option<GroupId>,
    pub assignee_id: Option<UserId>,
}

/// A change to an incident. `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IncidentChange {
    pub title: Option<String>,
    pub description: Option<String>,
    pub impact: Option<Level>,
    pub urgency: Option<Level>,
    pub category: Option<Option<String>>,
    pub service_id: Option<Option<RecordId>>,
    /// Another service leaves the offering only when the change names one.
    pub service_offering_id: Option<Option<RecordId>>,
    pub configuration_item_id: Option<Option<RecordId>>,
    pub caller_id: Option<Option<UserId>>,
    pub assignment_group_id: Option<Option<GroupId>>,
    pub assignee_id: Option<Option<UserId>>,
    pub state: Option<String>,
    pub on_hold_reason: Option<OnHoldReason>,
    pub resolution_code: Option<ResolutionCode>,
    pub resolution_notes: Option<String>,
    pub cancel_reason: Option<String>,
}

fn ts(t: Timestamp) -> Value {
    Value::from(t.to_string())
}

/// Puts `value` under `name` when it is given (`Some`), as `null` when it clears.
fn put<T: Into<Value>>(m: &mut Map<String, Value>, name: &str, value: Option<Option<T>>) {
    if let Some(v) = value {
        m.insert(name.to_owned(), v.map_or(Value::Null, Into::into));
    }
}

impl NewIncident {
    /// The input of the generic create (`crate::draft::new_record`) this draft stands for.
    pub fn input(&self) -> Map<String, Value> {
        let mut m = Map::new();
        put(&mut m, "organization_id", self.organization_id.map(|x| Some(x.0)));
        m.insert("title".into(), self.title.clone().into());
        m.insert("description".into(), self.description.clone().into());
        put(&mut m, "impact", self.impact.map(|l| Some(l.as_str())));
        put(&mut m, "urgency", self.urgency.map(|l| Some(l.as_str())));
        put(&mut m, "category", self.category.clone().map(Some));
        put(&mut m, "service_id", self.service_id.map(|x| Some(x.0)));
        put(
            &mut m,
            SERVICE_OFFERING,
            self.service_offering_id.map(|x| Some(x.0)),
        );
        put(
            &mut m,
            "configuration_item_id",
            self.configuration_item_id.map(|x| Some(x.0)),
        );
        put(&mut m, "caller_id", self.caller_id.map(|x| Some(x.0)));
        put(
            &mut m,
            "assignment_group_id",
            self.assignment_group_id.map(|x| Some(x.0)),
        );
        put(&mut m, "assignee_id", self.assignee_id.map(|x| Some(x.0)));
        m
    }
}

impl IncidentChange {
    /// The input of the generic change (`crate::draft::changed_record`) this change stands for.
    pub fn input(&self) -> Map<String, Value> {
        let mut m = Map::new();
        put(&mut m, "title", self.title.clone().map(Some));
        put(&mut m, "description", self.description.clone().map(Some));
        put(&mut m, "impact", self.impact.map(|l| Some(l.as_str())));
        put(&mut m, "urgency", self.urgency.map(|l| Some(l.as_str())));
        put(&mut m, "category", self.category.clone());
        put(&mut m, "service_id", self.service_id.map(|o| o.map(|x| x.0)));
        put(
            &mut m,
            SERVICE_OFFERING,
            self.service_offering_id.map(|o| o.map(|x| x.0)),
        );
        put(
            &mut m,
            "configuration_item_id",
            self.configuration_item_id.map(|o| o.map(|x| x.0)),
        );
        put(&mut m, "caller_id", self.caller_id.map(|o| o.map(|x| x.0)));
        put(
            &mut m,
            "assignment_group_id",
            self.assignment_group_id.map(|o| o.map(|x| x.0)),
        );
        put(&mut m, "assignee_id", self.assignee_id.map(|o| o.map(|x| x.0)));
        put(&mut m, "state", self.state.clone().map(Some));
        put(
            &mut m,
            STATE_REASON,
            self.on_hold_reason.map(|r| Some(r.as_str())),
        );
        put(
            &mut m,
            "resolution_code",
            self.resolution_code.map(|r| Some(r.as_str())),
        );
        put(&mut m, CANCEL_REASON, self.cancel_reason.clone().map(Some));
        put(
            &mut m,
            "resolution_notes",
            self.resolution_notes.clone().map(Some),
        );
        m
    }
}

/// Builds the fields of a new incident, or says which inputs are wrong: the generic create with
/// the incident's rules.
pub fn new_incident(input: &NewIncident, matrix: &PriorityMatrix) -> Result<RecordFields, ValidationError> {
    let cx = RuleContext::new(Timestamp::UNIX_EPOCH, matrix);
    // An incident is a customer's record: the provider's id is not read.
    let provider = OrganizationId(0);
    crate::draft::new_record(RecordKind::INCIDENT, &input.input(), None, provider, &cx)
}

/// Applies a change to an incident at instant `now`: the generic change with the incident's rules.
pub fn apply_change(
    current: &Record,
    change: &IncidentChange,
    matrix: &PriorityMatrix,
    now: Timestamp,
) -> Result<RecordFields, ChangeError> {
    let cx = RuleContext::new(now, matrix);
    crate::draft::changed_record(current, &change.input(), None, &cx)
}

/// An incident's rules beyond its declaration: priority from impact and urgency through the
/// configured matrix; a reason to wait only on hold and a resolution only when resolving; what a
/// move keeps (when it was first responded to, resolved and closed; how often it was reopened);
/// a new service drops the old one's offering and a new group the old one's assignee, unless the
/// change names them; a closed or cancelled incident no longer changes.
#[derive(Debug)]
pub struct IncidentRules;

static RULES: IncidentRules = IncidentRules;

fn level_in(f: &RecordFields, name: &str) -> Level {
    f.details
        .get(name)
        .and_then(Value::as_str)
        .and_then(Level::parse)
        .unwrap_or(Level::Medium)
}

impl IncidentRules {
    /// Impact and urgency (medium unless given) and the priority they make.
    fn prioritize(f: &mut RecordFields, cx: &RuleContext) {
        let impact = level_in(f, "impact");
        let urgency = level_in(f, "urgency");
        f.details.insert("impact".into(), impact.as_str().into());
        f.details.insert("urgency".into(), urgency.as_str().into());
        f.priority = Some(cx.priority_matrix.priority(impact, urgency));
    }

    /// A reason to wait only for a move on hold, a resolution only for one to resolved.
    fn only_when_moving(input: &Map<String, Value>, target: &str, errors: &mut ValidationError) {
        if input.contains_key(STATE_REASON) && target != "on_hold" {
            errors.add(STATE_REASON, "only an incident on hold has a reason to wait");
        }
        if input.contains_key(CANCEL_REASON) && target != "cancelled" {
            errors.add(
                CANCEL_REASON,
                "only an incident being cancelled has a reason to cancel",
            );
        }
        if RESOLUTION.iter().any(|k| input.contains_key(*k)) && target != "resolved" {
            let given = RESOLUTION.iter().find(|k| input.contains_key(**k)).copied();
            errors.add(
                given.unwrap_or("resolution_code"),
                "a resolution is given when resolving",
            );
        }
    }
}

impl KindRules for IncidentRules {
    fn created(
        &self,
        f: &mut RecordFields,
        input: &Map<String, Value>,
        cx: &RuleContext,
        errors: &mut ValidationError,
    ) {
        Self::prioritize(f, cx);
        Self::only_when_moving(input, &f.state, errors);
    }

    fn changed(
        &self,
        before: &RecordFields,
        f: &mut RecordFields,
        input: &Map<String, Value>,
        cx: &RuleContext,
        errors: &mut ValidationError,
    ) {
        // An offering belongs to one service, an assignee to the group: a change of either leaves
        // the old one's unless it names a new one.
        if f.service_id != before.service_id && !input.contains_key(SERVICE_OFFERING) {
            f.details.remove(SERVICE_OFFERING);
        }
        if f.assignment_group_id != before.assignment_group_id && !input.contains_key("assignee_id") {
            f.assignee_id = None;
        }
        Self::prioritize(f, cx);
        let moving = f.state != before.state;
        let ended = LIFECYCLE.state(&before.state).is_some_and(|s| s.is_final());
        if !moving && ended && input.keys().any(|k| k != "state") {
            errors.add(
                "state",
                format!("a {} incident can no longer be changed", before.state),
            );
        }
        Self::only_when_moving(input, &f.state, errors);
        if !moving {
            return;
        }
        if before.state == "on_hold" {
            f.details.remove(STATE_REASON);
        }
        match (before.state.as_str(), f.state.as_str()) {
            (_, "resolved") => {
                f.details.insert("resolved_at".into(), ts(cx.now));
            }
            ("resolved", "in_progress") => {
                if cx.mover == Some(Role::Customer) && !within_reopen_window(before, cx) {
                    errors.add(
                        "state",
                        format!(
                            "an incident can be reopened within {} days of its resolution; raise a new one",
                            cx.reopen_window.as_secs() / 86_400
                        ),
                    );
                }
                for k in ["resolution_code", "resolution_notes", "resolved_at"] {
                    f.details.remove(k);
                }
                let reopened = before
                    .details
                    .get("reopen_count")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    + 1;
                f.details.insert("reopen_count".into(), reopened.into());
            }
            (_, "closed" | "cancelled") => {
                f.details.insert("closed_at".into(), ts(cx.now));
            }
            _ => {}
        }
        // A caller withdrawing their own new incident is no response from the provider.
        let by_staff = cx.mover.is_none_or(Role::is_staff);
        if by_staff && before.state == "new" && !f.details.contains_key("first_response_at") {
            f.details.insert("first_response_at".into(), ts(cx.now));
        }
    }
}

/// Whether the record was resolved no longer ago than the reopen window.
fn within_reopen_window(before: &RecordFields, cx: &RuleContext) -> bool {
    let resolved = before
        .details
        .get("resolved_at")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Timestamp>().ok());
    resolved.is_some_and(|at| cx.now.duration_since(at) <= cx.reopen_window)
}

/// Records the first response when staff reply publicly to the caller, if none was recorded yet.
pub fn note_public_reply(current: &Record, now: Timestamp) -> Option<RecordFields> {
    if current.details.contains_key("first_response_at") {
        return None;
    }
    let mut f = current.fields();
    f.details.insert("first_response_at".into(), ts(now));
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Actor;
    use crate::kind::RecordKind;
    use serde_json::json;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn draft() -> NewIncident {
        NewIncident {
            organization_id: Some(OrganizationId(2)),
            title: "  Mail is down ".into(),
            description: "Nobody can send".into(),
            impact: Some(Level::High),
            urgency: Some(Level::Medium),
            category: Some("software".into()),
            service_id: None,
            service_offering_id: None,
            configuration_item_id: None,
            caller_id: Some(UserId(5)),
            assignment_group_id: Some(GroupId(1)),
            assignee_id: None,
        }
    }

    fn stored(fields: RecordFields) -> Record {
        let org = fields.organization_id.unwrap();
        Record::first(
            RecordId(1),
            RecordKind::INCIDENT,
            1,
            org,
            fields,
            t("2026-01-05T09:00:00Z"),
            None,
        )
    }

    fn moved(r: &Record, change: IncidentChange, at: &str) -> Result<Record, ChangeError> {
        apply_change(r, &change, &PriorityMatrix::default(), t(at)).map(stored)
    }

    fn to(state: &str) -> IncidentChange {
        IncidentChange {
            state: Some(state.into()),
            ..Default::default()
        }
    }

    /// A change by `who` at `at`, through the generic change with the default reopen window.
    fn by(who: &Actor, r: &Record, input: Value, at: &str) -> Result<Record, ChangeError> {
        let m = PriorityMatrix::default();
        let Value::Object(input) = input else {
            panic!("an object")
        };
        crate::draft::changed_record(r, &input, Some(who), &RuleContext::new(t(at), &m)).map(stored)
    }

    #[test]
    fn a_customer_only_confirms_reopens_within_the_window_or_withdraws() {
        let customer = Actor {
            user_id: UserId(5),
            organization_id: OrganizationId(2),
            role: Role::Customer,
        };
        let agent = Actor {
            role: Role::Agent,
            organization_id: OrganizationId(1),
            ..customer.clone()
        };
        let new = stored(new_incident(&draft(), &PriorityMatrix::default()).unwrap());
        let at = "2026-01-05T10:00:00Z";

        // Only staff start work and resolve; a customer may not touch the fields.
        let Err(ChangeError::NotYours(m)) = by(&customer, &new, json!({"state": "in_progress"}), at) else {
            panic!("a customer started work")
        };
        assert_eq!(m, "`Start work` is not open to a customer");
        let Err(ChangeError::NotYours(m)) = by(&customer, &new, json!({"title": "Mine now"}), at) else {
            panic!("a customer changed the title")
        };
        assert!(m.contains("`title`"), "{m}");

        // Withdrawing a new incident is no response from the provider.
        let withdrawn = by(
            &customer,
            &new,
            json!({"state": "cancelled", "cancel_reason": "Logged twice"}),
            at,
        )
        .unwrap();
        assert_eq!(withdrawn.state, "cancelled");
        assert!(!withdrawn.details.contains_key("first_response_at"));
        assert!(withdrawn.details.contains_key("closed_at"));

        let resolved = by(
            &agent,
            &new,
            json!({"state": "resolved", "resolution_code": "solved", "resolution_notes": "Restarted"}),
            "2026-01-05T11:00:00Z",
        )
        .unwrap();
        let confirmed = by(&customer, &resolved, json!({"state": "closed"}), at).unwrap();
        assert_eq!(confirmed.state, "closed");
        let reopened = by(
            &customer,
            &resolved,
            json!({"state": "in_progress"}),
            "2026-01-19T11:00:00Z",
        )
        .unwrap();
        assert_eq!(reopened.details["reopen_count"], 1);
        // Fourteen days and a minute after the resolution, it is too late; staff still may.
        let Err(ChangeError::Invalid(e)) = by(
            &customer,
            &resolved,
            json!({"state": "in_progress"}),
            "2026-01-19T11:01:00Z",
        ) else {
            panic!("a customer reopened after the window")
        };
        assert_eq!(e.errors[0].field, "state");
        assert!(by(
            &agent,
            &resolved,
            json!({"state": "in_progress"}),
            "2026-03-01T00:00:00Z"
        )
        .is_ok());
    }

    #[test]
    fn new_incident_is_trimmed_prioritized_and_new() {
        let f = new_incident(&draft(), &PriorityMatrix::default()).unwrap();
        assert_eq!(f.title, "Mail is down");
        assert_eq!(f.state, "new");
        assert_eq!(f.priority, Some(2));
        assert_eq!(f.details["impact"], "high");
    }

    #[test]
    fn new_incident_names_every_bad_field() {
        let mut d = draft();
        d.title = "  ".into();
        d.assignment_group_id = None;
        d.assignee_id = Some(UserId(3));
        let err = new_incident(&d, &PriorityMatrix::default()).unwrap_err();
        let fields: Vec<_> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["title", "assignee_id"]);
    }

    #[test]
    fn an_offering_goes_with_its_service() {
        let mut d = draft();
        d.service_offering_id = Some(RecordId(8));
        let err = new_incident(&d, &PriorityMatrix::default()).unwrap_err();
        assert_eq!(err.errors[0].field, "service_offering_id");
        d.service_id = Some(RecordId(7));
        let r = stored(new_incident(&d, &PriorityMatrix::default()).unwrap());
        assert_eq!(r.service_offering_id(), Some(RecordId(8)));

        // Another field's change keeps the offering; another service drops it unless the change
        // names one; clearing the service while naming an offering is refused.
        let same = moved(
            &r,
            IncidentChange {
                title: Some("Mail slow".into()),
                ..Default::default()
            },
            "2026-01-05T10:00:00Z",
        )
        .unwrap();
        assert_eq!(same.service_offering_id(), Some(RecordId(8)));
        let other = IncidentChange {
            service_id: Some(Some(RecordId(9))),
            ..Default::default()
        };
        assert_eq!(
            moved(&r, other, "2026-01-05T10:00:00Z")
                .unwrap()
                .service_offering_id(),
            None
        );
        let both = IncidentChange {
            service_id: Some(Some(RecordId(9))),
            service_offering_id: Some(Some(RecordId(10))),
            ..Default::default()
        };
        assert_eq!(
            moved(&r, both, "2026-01-05T10:00:00Z")
                .unwrap()
                .service_offering_id(),
            Some(RecordId(10))
        );
        let orphan = IncidentChange {
            service_id: Some(None),
            service_offering_id: Some(Some(RecordId(10))),
            ..Default::default()
        };
        let Err(ChangeError::Invalid(err)) = moved(&r, orphan, "2026-01-05T10:00:00Z") else {
            panic!("an offering without a service was accepted");
        };
        assert_eq!(err.errors[0].field, "service_offering_id");
        let cleared = IncidentChange {
            service_offering_id: Some(None),
            ..Default::default()
        };
        assert_eq!(
            moved(&r, cleared, "2026-01-05T10:00:00Z")
                .unwrap()
                .service_offering_id(),
            None
        );
    }

    #[test]
    fn priority_follows_the_configured_matrix() {
        let m = PriorityMatrix {
            cells: [[1, 1, 2], [2, 3, 3], [4, 4, 5]],
        };
        assert_eq!(m.priority(Level::High, Level::Medium), 1);
        assert_eq!(m.priority(Level::Low, Level::Low), 5);
        assert!(PriorityMatrix {
            cells: [[0, 1, 2], [2, 3, 3], [4, 4, 5]]
        }
        .validate()
        .is_err());
        let inc = stored(new_incident(&draft(), &m).unwrap());
        let up = IncidentChange {
            urgency: Some(Level::High),
            ..Default::default()
        };
        assert_eq!(
            apply_change(&inc, &up, &m, t("2026-01-05T10:00:00Z"))
                .unwrap()
                .priority,
            Some(1)
        );
    }

    #[test]
    fn full_lifecycle_keeps_time_stamps() {
        let inc = stored(new_incident(&draft(), &PriorityMatrix::default()).unwrap());
        let wip = moved(&inc, to("in_progress"), "2026-01-05T09:10:00Z").unwrap();
        assert_eq!(wip.detail_str("first_response_at"), Some("2026-01-05T09:10:00Z"));

        let err = moved(&wip, to("on_hold"), "2026-01-05T09:20:00Z").unwrap_err();
        assert!(matches!(&err, ChangeError::Invalid(v) if v.errors[0].field == "on_hold_reason"));
        let hold = IncidentChange {
            on_hold_reason: Some(OnHoldReason::AwaitingCaller),
            ..to("on_hold")
        };
        let held = moved(&wip, hold, "2026-01-05T09:20:00Z").unwrap();
        assert_eq!(held.detail_str("on_hold_reason"), Some("awaiting_caller"));
        let resumed = moved(&held, to("in_progress"), "2026-01-05T10:00:00Z").unwrap();
        assert_eq!(resumed.detail_str("on_hold_reason"), None);
        assert_eq!(
            resumed.detail_str("first_response_at"),
            Some("2026-01-05T09:10:00Z")
        );

        let err = moved(&resumed, to("resolved"), "2026-01-05T11:00:00Z").unwrap_err();
        let ChangeError::Invalid(v) = err else {
            panic!("expected validation error")
        };
        let fields: Vec<_> = v.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["resolution_code", "resolution_notes"]);

        let resolve = IncidentChange {
            resolution_code: Some(ResolutionCode::Solved),
            resolution_notes: Some("Restarted the mail relay".into()),
            ..to("resolved")
        };
        let resolved = moved(&resumed, resolve.clone(), "2026-01-05T11:00:00Z").unwrap();
        assert_eq!(resolved.detail_str("resolved_at"), Some("2026-01-05T11:00:00Z"));

        let reopened = moved(&resolved, to("in_progress"), "2026-01-06T08:00:00Z").unwrap();
        assert_eq!(reopened.detail_str("resolved_at"), None);
        assert_eq!(reopened.detail_i64("reopen_count"), Some(1));

        let resolved = moved(&reopened, resolve, "2026-01-06T09:00:00Z").unwrap();
        let closed = moved(&resolved, to("closed"), "2026-01-09T09:00:00Z").unwrap();
        assert_eq!(closed.detail_str("closed_at"), Some("2026-01-09T09:00:00Z"));

        let err = moved(&closed, to("in_progress"), "2026-01-10T09:00:00Z").unwrap_err();
        assert!(matches!(err, ChangeError::Transition(e) if e.allowed.is_empty()));
        let edit = IncidentChange {
            title: Some("x".into()),
            ..Default::default()
        };
        assert!(moved(&closed, edit, "2026-01-10T09:00:00Z").is_err());
    }

    #[test]
    fn unknown_state_and_illegal_moves_are_refused() {
        let inc = stored(new_incident(&draft(), &PriorityMatrix::default()).unwrap());
        assert!(matches!(
            moved(&inc, to("done"), "2026-01-05T10:00:00Z"),
            Err(ChangeError::Invalid(_))
        ));
        let Err(ChangeError::Transition(e)) = moved(&inc, to("closed"), "2026-01-05T10:00:00Z") else {
            panic!("expected a transition error")
        };
        assert_eq!(e.allowed, vec!["in_progress", "on_hold", "resolved", "cancelled"]);
    }

    #[test]
    fn regrouping_drops_the_assignee() {
        let mut d = draft();
        d.assignee_id = Some(UserId(9));
        let inc = stored(new_incident(&d, &PriorityMatrix::default()).unwrap());
        let c = IncidentChange {
            assignment_group_id: Some(Some(GroupId(2))),
            ..Default::default()
        };
        let f = apply_change(&inc, &c, &PriorityMatrix::default(), t("2026-01-05T10:00:00Z")).unwrap();
        assert_eq!(f.assignee_id, None);
        assert_eq!(f.assignment_group_id, Some(GroupId(2)));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn any_change() -> impl Strategy<Value = IncidentChange> {
            let states = prop::sample::select(vec![
                "new",
                "in_progress",
                "on_hold",
                "resolved",
                "closed",
                "cancelled",
            ]);
            (states, any::<bool>(), any::<bool>()).prop_map(|(s, reason, resolution)| IncidentChange {
                state: Some(s.to_owned()),
                on_hold_reason: (reason && s == "on_hold").then_some(OnHoldReason::AwaitingSupplier),
                cancel_reason: (reason && s == "cancelled").then(|| "duplicate".to_owned()),
                resolution_code: (resolution && s == "resolved").then_some(ResolutionCode::Solved),
                resolution_notes: (resolution && s == "resolved").then(|| "fixed".to_owned()),
                ..Default::default()
            })
        }

        proptest! {
            /// Whatever sequence of changes is tried, every accepted one follows the lifecycle table,
            /// an incident on hold always has a reason and a resolved one always has a resolution.
            #[test]
            fn accepted_changes_keep_the_invariants(changes in prop::collection::vec(any_change(), 1..30)) {
                let mut inc = stored(new_incident(&draft(), &PriorityMatrix::default()).unwrap());
                for c in changes {
                    let before = inc.state.clone();
                    if let Ok(next) = moved(&inc, c, "2026-02-01T00:00:00Z") {
                        prop_assert!(before == next.state || LIFECYCLE.check(&before, &next.state).is_ok());
                        prop_assert_eq!(next.state == "on_hold", next.detail_str("on_hold_reason").is_some());
                        if next.state == "cancelled" {
                            prop_assert!(next.detail_str("cancel_reason").is_some());
                        }
                        if next.state == "resolved" {
                            prop_assert!(next.detail_str("resolution_code").is_some());
                            prop_assert!(next.detail_str("resolved_at").is_some());
                        }
                        if next.state != "new" {
                            prop_assert!(next.detail_str("first_response_at").is_some());
                        }
                        inc = next;
                    }
                }
            }
        }
    }

    #[test]
    fn a_priority_outside_one_to_five_is_shown_as_it_is() {
        assert_eq!(priority_label(5), "5 - Planning");
        assert_eq!(priority_label(9), "9 - not a priority");
        assert_eq!(priority_label(0), "0 - not a priority");
        let m = PriorityMatrix::default();
        assert_eq!(m.priority(Level::High, Level::High), 1);
        assert_eq!(m.priority(Level::High, Level::Low), 3);
        assert_eq!(m.priority(Level::Low, Level::Medium), 4);
    }
}
