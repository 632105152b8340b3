//! Incident management (ISO/IEC 20000-1, 8.6.1): restoring normal service as quickly as possible.
//! Priority is derived from impact and urgency through a configurable matrix; the lifecycle and the
//! rules for going on hold, resolving, reopening and closing are here, and nowhere else.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::draft::ChangeError;
use crate::field::{Choice, FieldSpec, FieldType};
use crate::ids::{GroupId, OrganizationId, RecordId, UserId};
use crate::kind::{Capabilities, KindAccess, KindSpec, Owner, RecordKind, SharedFields, Use, Writes};
use crate::lifecycle::{Lifecycle, Phase, State, Transition};
use crate::permission::Permission;
use crate::record::{Record, RecordFields, SERVICE_OFFERING, STATE_REASON};
use crate::validation::{optional_text, required_text, ValidationError};
use crate::Timestamp;

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 20_000;
pub const CATEGORY_MAX: usize = 60;
pub const RESOLUTION_NOTES_MAX: usize = 20_000;

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
    // Priority comes from impact and urgency through the configured matrix.
    writes: Writes::Own,
    fields: &FIELDS,
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
static FIELDS: [FieldSpec; 11] = [
    FieldSpec::new("impact", "Impact", FieldType::Choice { choices: LEVELS }),
    FieldSpec::new("urgency", "Urgency", FieldType::Choice { choices: LEVELS }),
    FieldSpec::new("category", "Category", FieldType::Text { max: CATEGORY_MAX }).indexed(),
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
    ),
    FieldSpec::new("first_response_at", "First response", FieldType::Instant),
    FieldSpec::new("resolved_at", "Resolved at", FieldType::Instant),
    FieldSpec::new("closed_at", "Closed at", FieldType::Instant),
    FieldSpec::new("reopen_count", "Times reopened", FieldType::Count).indexed(),
];

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
        Transition::new("new", "cancelled", "Cancel").confirmed(),
        Transition::new("in_progress", "on_hold", "Put on hold").requiring(&[STATE_REASON]),
        Transition::new("in_progress", "resolved", "Resolve").requiring(RESOLUTION),
        Transition::new("in_progress", "cancelled", "Cancel").confirmed(),
        Transition::new("on_hold", "in_progress", "Resume"),
        Transition::new("on_hold", "resolved", "Resolve").requiring(RESOLUTION),
        Transition::new("on_hold", "cancelled", "Cancel").confirmed(),
        Transition::new("resolved", "in_progress", "Reopen"),
        Transition::new("resolved", "closed", "Close").confirmed(),
    ],
};

/// Impact (how much of the business is affected) or urgency (how soon it hurts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::High, Level::Medium, Level::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Priority from impact and urgency: `cells[impact][urgency]`, 1 (critical) to 5 (planning).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityMatrix {
    pub cells: [[i16; 3]; 3],
}

impl Default for PriorityMatrix {
    fn default() -> Self {
        PriorityMatrix {
            cells: [[1, 2, 3], [2, 3, 4], [3, 4, 5]],
        }
    }
}

impl PriorityMatrix {
    /// A matrix is valid when every cell is a priority from 1 to 5.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let ok = self.cells.iter().flatten().all(|p| (1..=5).contains(p));
        if ok {
            Ok(())
        } else {
            Err(ValidationError::field(
                "priority_matrix",
                "every cell must be a priority from 1 to 5",
            ))
        }
    }

    pub fn priority(&self, impact: Level, urgency: Level) -> i16 {
        let [high, medium, low] = &self.cells;
        let [for_high, for_medium, for_low] = match impact {
            Level::High => high,
            Level::Medium => medium,
            Level::Low => low,
        };
        *match urgency {
            Level::High => for_high,
            Level::Medium => for_medium,
            Level::Low => for_low,
        }
    }
}

/// A label for a priority number. A number outside 1 to 5 (which no rule gives) is shown as it is,
/// never as another priority.
pub fn priority_label(p: i16) -> std::borrow::Cow<'static, str> {
    match p {
        1 => "1 - Critical".into(),
        2 => "2 - High".into(),
        3 => "3 - Moderate".into(),
        4 => "4 - Low".into(),
        5 => "5 - Planning".into(),
        other => format!("{other} - not a priority").into(),
    }
}

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

/// What a person gives to log an incident. References are checked by the application layer, which
/// can see whether they exist and belong together.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub organization_id: OrganizationId,
    pub title: String,
    pub description: String,
    pub impact: Level,
    pub urgency: Level,
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
}

fn ts(t: Timestamp) -> Value {
    Value::from(t.to_string())
}

/// Builds the fields of a new incident, or says which inputs are wrong.
pub fn new_incident(input: &NewIncident, matrix: &PriorityMatrix) -> Result<RecordFields, ValidationError> {
    let mut errors = ValidationError::new();
    let title = required_text(&mut errors, "title", &input.title, TITLE_MAX);
    let description = optional_text(&mut errors, "description", &input.description, DESCRIPTION_MAX);
    let category = input
        .category
        .as_deref()
        .map(|c| optional_text(&mut errors, "category", c, CATEGORY_MAX));
    if input.assignee_id.is_some() && input.assignment_group_id.is_none() {
        errors.add("assignee_id", "an assignee needs an assignment group");
    }
    if input.service_offering_id.is_some() && input.service_id.is_none() {
        errors.add("service_offering_id", "an offering needs its service");
    }
    errors.into_result()?;

    let mut details = Map::new();
    details.insert("impact".into(), input.impact.as_str().into());
    details.insert("urgency".into(), input.urgency.as_str().into());
    if let Some(c) = category.filter(|c| !c.is_empty()) {
        details.insert("category".into(), c.into());
    }
    if let Some(o) = input.service_offering_id {
        details.insert(SERVICE_OFFERING.into(), o.0.into());
    }
    Ok(RecordFields {
        organization_id: Some(input.organization_id),
        title,
        description,
        state: LIFECYCLE.initial.to_owned(),
        priority: Some(matrix.priority(input.impact, input.urgency)),
        assignment_group_id: input.assignment_group_id,
        assignee_id: input.assignee_id,
        service_id: input.service_id,
        configuration_item_id: input.configuration_item_id,
        requester_id: input.caller_id,
        details,
    })
}

fn level_of(record: &Record, name: &str) -> Level {
    record
        .detail_str(name)
        .and_then(Level::parse)
        .unwrap_or(Level::Medium)
}

/// Applies a change to an incident at instant `now`, enforcing the lifecycle and its rules:
/// going on hold needs a reason, resolving needs a resolution code and notes, reopening clears the
/// resolution, and the first response, resolution and closure instants are kept for SLA work.
pub fn apply_change(
    current: &Record,
    change: &IncidentChange,
    matrix: &PriorityMatrix,
    now: Timestamp,
) -> Result<RecordFields, ChangeError> {
    let mut f = current.fields();
    let mut errors = ValidationError::new();

    if let Some(t) = &change.title {
        f.title = required_text(&mut errors, "title", t, TITLE_MAX);
    }
    if let Some(d) = &change.description {
        f.description = optional_text(&mut errors, "description", d, DESCRIPTION_MAX);
    }
    if let Some(c) = &change.category {
        match c
            .as_deref()
            .map(|c| optional_text(&mut errors, "category", c, CATEGORY_MAX))
        {
            Some(c) if !c.is_empty() => f.details.insert("category".into(), c.into()),
            _ => f.details.remove("category"),
        };
    }
    if let Some(v) = change.service_id {
        f.service_id = v;
        // An offering belongs to one service: moving to another service leaves the old one's.
        if change.service_offering_id.is_none() && v != current.service_id {
            f.details.remove(SERVICE_OFFERING);
        }
    }
    match change.service_offering_id {
        Some(Some(o)) => {
            f.details.insert(SERVICE_OFFERING.into(), o.0.into());
        }
        Some(None) => {
            f.details.remove(SERVICE_OFFERING);
        }
        None => {}
    }
    if f.service_offering_id().is_some() && f.service_id.is_none() {
        errors.add("service_offering_id", "an offering needs its service");
    }
    if let Some(v) = change.configuration_item_id {
        f.configuration_item_id = v;
    }
    if let Some(v) = change.caller_id {
        f.requester_id = v;
    }
    if let Some(v) = change.assignment_group_id {
        f.assignment_group_id = v;
        // Moving to another group hands the incident over: the old assignee is not in the new group.
        if change.assignee_id.is_none() && v != current.assignment_group_id {
            f.assignee_id = None;
        }
    }
    if let Some(v) = change.assignee_id {
        f.assignee_id = v;
    }
    if f.assignee_id.is_some() && f.assignment_group_id.is_none() {
        errors.add("assignee_id", "an assignee needs an assignment group");
    }
    let impact = change.impact.unwrap_or_else(|| level_of(current, "impact"));
    let urgency = change.urgency.unwrap_or_else(|| level_of(current, "urgency"));
    f.details.insert("impact".into(), impact.as_str().into());
    f.details.insert("urgency".into(), urgency.as_str().into());
    f.priority = Some(matrix.priority(impact, urgency));

    let target = change.state.as_deref().unwrap_or(&current.state);
    let moving = target != current.state;
    if moving {
        if !LIFECYCLE.is_state(target) {
            errors.add("state", format!("`{target}` is not an incident state"));
            return Err(errors.into());
        }
        LIFECYCLE.check(&current.state, target)?;
    } else if LIFECYCLE.state(&current.state).is_some_and(|s| s.is_final()) && change_touches_fields(change) {
        errors.add(
            "state",
            format!("a {} incident can no longer be changed", current.state),
        );
    }
    if change.on_hold_reason.is_some() && target != "on_hold" {
        errors.add("on_hold_reason", "only an incident on hold has a reason to wait");
    }
    if (change.resolution_code.is_some() || change.resolution_notes.is_some()) && target != "resolved" {
        errors.add("resolution_code", "a resolution is given when resolving");
    }

    if moving {
        f.state = target.to_owned();
        if current.state == "on_hold" {
            f.details.remove("on_hold_reason");
        }
        match target {
            "on_hold" => {
                if let Some(r) = change.on_hold_reason {
                    f.details.insert(STATE_REASON.into(), r.as_str().into());
                }
            }
            "resolved" => {
                if let Some(c) = change.resolution_code {
                    f.details.insert("resolution_code".into(), c.as_str().into());
                }
                let notes = change.resolution_notes.as_deref().unwrap_or("");
                let notes = optional_text(&mut errors, "resolution_notes", notes, RESOLUTION_NOTES_MAX);
                f.details.insert("resolution_notes".into(), notes.into());
                f.details.insert("resolved_at".into(), ts(now));
            }
            "in_progress" if current.state == "resolved" => {
                for k in ["resolution_code", "resolution_notes", "resolved_at"] {
                    f.details.remove(k);
                }
                let reopened = current.detail_i64("reopen_count").unwrap_or(0) + 1;
                f.details.insert("reopen_count".into(), reopened.into());
            }
            "closed" | "cancelled" => {
                f.details.insert("closed_at".into(), ts(now));
            }
            _ => {}
        }
        if current.state == "new" && !f.details.contains_key("first_response_at") {
            f.details.insert("first_response_at".into(), ts(now));
        }
        // What the move requires (a reason, a resolution) is the lifecycle's data.
        LIFECYCLE.check_requirements(&current.state, target, &f.details, &mut errors);
    }
    errors.into_result()?;
    Ok(f)
}

fn change_touches_fields(c: &IncidentChange) -> bool {
    c.title.is_some()
        || c.description.is_some()
        || c.impact.is_some()
        || c.urgency.is_some()
        || c.category.is_some()
        || c.service_id.is_some()
        || c.service_offering_id.is_some()
        || c.configuration_item_id.is_some()
        || c.caller_id.is_some()
        || c.assignment_group_id.is_some()
        || c.assignee_id.is_some()
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
    use crate::kind::RecordKind;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn draft() -> NewIncident {
        NewIncident {
            organization_id: OrganizationId(2),
            title: "  Mail is down ".into(),
            description: "Nobody can send".into(),
            impact: Level::High,
            urgency: Level::Medium,
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
        Record {
            id: RecordId(1),
            kind: RecordKind::INCIDENT,
            number: 1,
            organization_id: fields.organization_id.unwrap(),
            title: fields.title,
            description: fields.description,
            state: fields.state,
            priority: fields.priority,
            assignment_group_id: fields.assignment_group_id,
            assignee_id: fields.assignee_id,
            service_id: fields.service_id,
            configuration_item_id: fields.configuration_item_id,
            requester_id: fields.requester_id,
            details: fields.details,
            version: 1,
            created_at: t("2026-01-05T09:00:00Z"),
            updated_at: t("2026-01-05T09:00:00Z"),
            created_by: None,
        }
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
