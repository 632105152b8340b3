//! Service level management (ISO/IEC 20000-1, 8.3.3): agreements with customers, with internal groups
//! and with suppliers, the service level targets in them, and the rule that picks, for a record, the
//! one target per agreement type and metric that its clock runs against.
//!
//! Agreements and calendars are records (kinds `agreement` and `calendar`), so they get numbers,
//! versions, history and organization scoping from the shared mechanism; this module checks their
//! `details` and does the matching.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::calendar::{BusinessCalendar, CalendarDefinition};
use crate::field::{Choice, FieldSpec, FieldType, Form};
use crate::ids::{GroupId, OrganizationId, RecordId};
use crate::kind::{Capabilities, KindAccess, KindSpec, RecordKind, SharedFields, Writes, NO_RULES};
use crate::lifecycle::{Additions, Lifecycle, Phase, State, Transition};
use crate::permission::Permission;
use crate::record::Record;
use crate::sla::{ClockRules, Metric};
use crate::validation::ValidationError;

const SERVICE_LEVEL_ACCESS: KindAccess = KindAccess {
    create: Permission::ManageServiceLevels,
    change: Permission::ManageServiceLevels,
};

/// Calendars and agreements have a name and a description of the shared columns.
const NAMED: SharedFields = SharedFields {
    title: "name",
    ..SharedFields::PROVIDER_RECORD
};

static CALENDAR_SPEC: KindSpec = KindSpec {
    name: "calendar",
    prefix: "CAL",
    collection: "calendars",
    label: "Business calendar",
    lifecycle: &CALENDAR_LIFECYCLE,
    capabilities: Capabilities {
        // Customers read the hours their targets are counted in.
        published_to_customers: true,
        service_level_configuration: true,
        ..Capabilities::NONE
    },
    access: SERVICE_LEVEL_ACCESS,
    shared: NAMED,
    // Weekly hours and holidays are checked by the calendar's own rules.
    writes: Writes::Own,
    fields: &[
        FieldSpec::new("time_zone", "Time zone", FieldType::Text { max: 64 }).required(),
        FieldSpec::new(
            "working_hours",
            "Working hours",
            FieldType::Structured {
                shape: "\"24x7\", or an object from weekday to a list of [\"HH:MM\", \"HH:MM\"] periods",
                form: Form::Named("WorkingHours"),
            },
        ),
        FieldSpec::new(
            "holidays",
            "Holidays",
            FieldType::Structured {
                shape:
                    "a list of dates (2026-12-25), closures (2026-12-24/2026-12-31) and yearly dates (12-25)",
                form: Form::Texts,
            },
        ),
        FieldSpec::new(CALENDAR_IS_DEFAULT, "Default calendar", FieldType::Flag),
    ],
    rules: &NO_RULES,
};

static AGREEMENT_SPEC: KindSpec = KindSpec {
    name: "agreement",
    prefix: "AGR",
    collection: "agreements",
    label: "Agreement",
    lifecycle: &AGREEMENT_LIFECYCLE,
    capabilities: Capabilities {
        service_level_configuration: true,
        ..Capabilities::NONE
    },
    access: SERVICE_LEVEL_ACCESS,
    shared: SharedFields {
        title: "title",
        ..NAMED
    },
    // Its targets are checked by the agreement's own rules.
    writes: Writes::Own,
    fields: &[
        FieldSpec::new(
            "agreement_type",
            "Type",
            FieldType::Choice {
                choices: &[
                    Choice {
                        value: "service_level_agreement",
                        label: "Service level agreement",
                    },
                    Choice {
                        value: "operational_level_agreement",
                        label: "Operational level agreement",
                    },
                    Choice {
                        value: "underpinning_contract",
                        label: "Underpinning contract",
                    },
                ],
            },
        )
        .required(),
        FieldSpec::new(
            "service_ids",
            "Services",
            FieldType::Structured {
                shape: "a list of service ids; empty for all services of the other party",
                form: Form::Ids,
            },
        ),
        FieldSpec::new("valid_from", "Valid from", FieldType::Date).required(),
        FieldSpec::new("valid_until", "Valid until", FieldType::Date),
        FieldSpec::new("review_date", "Review date", FieldType::Date),
        FieldSpec::new("calendar_id", "Business calendar", FieldType::reference("calendar")),
        FieldSpec::new(
            "targets",
            "Service level targets",
            FieldType::Structured {
                shape: "a list of service level targets: key, name, metric, minutes, priorities, calendar, warnings and clock rules",
                form: Form::ListOf("ServiceLevelTarget"),
            },
        ),
    ],
    rules: &NO_RULES,
};

impl RecordKind {
    /// When the provider works: time zone, working hours, holidays.
    pub const CALENDAR: RecordKind = RecordKind::declare(&CALENDAR_SPEC);
    /// A service level agreement, operational level agreement or underpinning contract.
    pub const AGREEMENT: RecordKind = RecordKind::declare(&AGREEMENT_SPEC);
}

/// A business calendar is in use until it is retired; a retired one can be brought back.
pub static CALENDAR_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "active",
    states: &[
        State::new("active", "Active", Phase::Active),
        State::new("retired", "Retired", Phase::Done),
    ],
    transitions: &[
        Transition::new("active", "retired", "Retire"),
        Transition::new("retired", "active", "Reactivate"),
    ],
    // A retired calendar or an ended agreement stays as the record of what applied: notes,
    // documents (a signed termination) and links still come.
    after_end: Additions::ALL,
};

/// An agreement is drafted, agreed (active), possibly suspended, and finally retired. Only active
/// agreements give records their targets.
pub static AGREEMENT_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "draft",
    states: &[
        State::new("draft", "Draft", Phase::Active),
        State::new("active", "Active", Phase::Active),
        State::new("suspended", "Suspended", Phase::Waiting),
        State::new("retired", "Retired", Phase::Closed),
    ],
    transitions: &[
        Transition::new("draft", "active", "Put in force"),
        Transition::new("draft", "retired", "Withdraw").confirmed(),
        Transition::new("active", "suspended", "Suspend"),
        Transition::new("suspended", "active", "Resume"),
        Transition::new("active", "retired", "Retire").confirmed(),
        Transition::new("suspended", "retired", "Retire").confirmed(),
    ],
    // A retired calendar or an ended agreement stays as the record of what applied: notes,
    // documents (a signed termination) and links still come.
    after_end: Additions::ALL,
};

/// Whom an agreement is with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementType {
    /// With a customer, for one or more services.
    ServiceLevelAgreement,
    /// With an internal assignment group that supports the services.
    OperationalLevelAgreement,
    /// With a supplier that supports the services (supplier tickets arrive with supplier management).
    UnderpinningContract,
}

impl AgreementType {
    pub const ALL: [AgreementType; 3] = [
        AgreementType::ServiceLevelAgreement,
        AgreementType::OperationalLevelAgreement,
        AgreementType::UnderpinningContract,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgreementType::ServiceLevelAgreement => "service_level_agreement",
            AgreementType::OperationalLevelAgreement => "operational_level_agreement",
            AgreementType::UnderpinningContract => "underpinning_contract",
        }
    }

    pub fn abbreviation(self) -> &'static str {
        match self {
            AgreementType::ServiceLevelAgreement => "SLA",
            AgreementType::OperationalLevelAgreement => "OLA",
            AgreementType::UnderpinningContract => "UC",
        }
    }

    pub fn parse(s: &str) -> Option<AgreementType> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The default warning thresholds, in percent of the target.
pub const DEFAULT_WARNINGS: [u32; 2] = [75, 90];

/// One service level target of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceLevelTarget {
    /// Stable within its agreement, so clocks and reports keep referring to the same target when
    /// other targets are added or removed. Assigned when left out.
    #[serde(default)]
    pub key: String,
    pub name: String,
    pub metric: Metric,
    /// The kind of record measured.
    #[serde(default = "incident")]
    pub record_kind: RecordKind,
    /// The priorities it covers; empty for all.
    #[serde(default)]
    pub priorities: Vec<i16>,
    /// The services it covers, narrowing the agreement's; empty for all of the agreement's.
    #[serde(default)]
    pub service_ids: Vec<i64>,
    /// The service offerings it covers, narrowing its services to records of those offerings; empty
    /// for records of any offering or none.
    #[serde(default)]
    pub service_offering_ids: Vec<i64>,
    /// The target, in business minutes of its calendar.
    pub minutes: i64,
    /// The calendar it runs on; when left out, the agreement's, then the default calendar.
    #[serde(default)]
    pub calendar_id: Option<i64>,
    /// Warnings, in percent of the target.
    #[serde(default = "default_warnings")]
    pub warnings: Vec<u32>,
    /// When the clock starts, pauses and stops; when left out, the defaults for the kind and metric.
    #[serde(default)]
    pub clock_rules: Option<ClockRules>,
}

impl ServiceLevelTarget {
    /// A target on incidents of some priorities (all when empty) with the default warnings, clock
    /// rules and calendar; its key is assigned when the agreement is stored.
    pub fn for_incidents(name: &str, metric: Metric, priorities: &[i16], minutes: i64) -> ServiceLevelTarget {
        ServiceLevelTarget {
            key: String::new(),
            name: name.into(),
            metric,
            record_kind: RecordKind::INCIDENT,
            priorities: priorities.to_vec(),
            service_ids: vec![],
            service_offering_ids: vec![],
            minutes,
            calendar_id: None,
            warnings: DEFAULT_WARNINGS.to_vec(),
            clock_rules: None,
        }
    }
}

fn incident() -> RecordKind {
    RecordKind::INCIDENT
}

fn default_warnings() -> Vec<u32> {
    DEFAULT_WARNINGS.to_vec()
}

impl ServiceLevelTarget {
    /// The clock rules in force: the target's own or the defaults.
    pub fn rules(&self) -> ClockRules {
        self.clock_rules
            .clone()
            .unwrap_or_else(|| ClockRules::default_for(self.record_kind, self.metric))
    }
}

/// An agreement's own fields, kept in its record's `details`. The other party is the record's
/// organization (the customer for an SLA, the provider for an OLA, the supplier for a UC); an OLA's
/// group is the record's assignment group; its owner is the record's assignee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementTerms {
    pub agreement_type: AgreementType,
    /// The services it covers; empty for all services of the other party.
    #[serde(default)]
    pub service_ids: Vec<i64>,
    pub valid_from: Date,
    #[serde(default)]
    pub valid_until: Option<Date>,
    #[serde(default)]
    pub review_date: Option<Date>,
    /// The calendar its targets run on unless a target names its own.
    #[serde(default)]
    pub calendar_id: Option<i64>,
    #[serde(default)]
    pub targets: Vec<ServiceLevelTarget>,
}

const MAX_TARGETS: usize = 100;
const MAX_TARGET_MINUTES: i64 = 366 * 24 * 60;

impl AgreementTerms {
    /// Checks the terms and assigns keys to new targets. Reference checks (that services and
    /// calendars exist) are the use case's, as they need storage.
    pub fn validate(&mut self) -> Result<(), ValidationError> {
        let mut errors = ValidationError::new();
        if let Some(until) = self.valid_until {
            if until < self.valid_from {
                errors.add("valid_until", "is before valid_from");
            }
        }
        if self.targets.len() > MAX_TARGETS {
            errors.add("targets", format!("has more than {MAX_TARGETS} targets"));
        }
        let mut next = self
            .targets
            .iter()
            .filter_map(|t| t.key.strip_prefix('t').and_then(|n| n.parse::<u32>().ok()))
            .max()
            .unwrap_or(0);
        let mut seen = Vec::new();
        for (i, t) in self.targets.iter_mut().enumerate() {
            let field = |name: &str| format!("targets[{i}].{name}");
            t.name = t.name.trim().to_owned();
            if t.name.is_empty() || t.name.chars().count() > 200 {
                errors.add(field("name"), "must be 1 to 200 characters");
            }
            if t.minutes <= 0 {
                errors.add(field("minutes"), "must be a positive number of business minutes");
            } else if t.minutes > MAX_TARGET_MINUTES {
                errors.add(field("minutes"), format!("must be at most {MAX_TARGET_MINUTES}"));
            }
            if let Some(p) = t.priorities.iter().find(|p| !(1..=5).contains(*p)) {
                errors.add(field("priorities"), format!("{p} is not a priority from 1 to 5"));
            }
            t.priorities.sort_unstable();
            t.priorities.dedup();
            t.service_ids.sort_unstable();
            t.service_ids.dedup();
            t.service_offering_ids.sort_unstable();
            t.service_offering_ids.dedup();
            if t.warnings.iter().any(|w| *w == 0 || *w >= 100) {
                errors.add(
                    field("warnings"),
                    "each warning must be a percentage from 1 to 99",
                );
            }
            t.warnings.sort_unstable();
            t.warnings.dedup();
            if !t.service_ids.is_empty()
                && !self.service_ids.is_empty()
                && t.service_ids.iter().any(|s| !self.service_ids.contains(s))
            {
                errors.add(
                    field("service_ids"),
                    "names a service the agreement does not cover",
                );
            }
            if let Some(rules) = &t.clock_rules {
                let lifecycle = t.record_kind.lifecycle();
                let all = rules
                    .start_states
                    .iter()
                    .chain(&rules.pause_states)
                    .chain(&rules.stop_states)
                    .chain(&rules.cancel_states);
                for s in all {
                    if !lifecycle.is_state(s) {
                        errors.add(
                            field("clock_rules"),
                            format!("`{s}` is not a state of {}", t.record_kind.as_str()),
                        );
                    }
                }
                if rules.stop_states.is_empty() && !rules.stop_on_first_response {
                    errors.add(field("clock_rules"), "the clock must stop somewhere");
                }
            }
            if t.key.trim().is_empty() {
                next += 1;
                t.key = format!("t{next}");
            }
            if seen.contains(&t.key) {
                errors.add(field("key"), format!("`{}` is used by another target", t.key));
            }
            seen.push(t.key.clone());
        }
        self.service_ids.sort_unstable();
        self.service_ids.dedup();
        errors.into_result()
    }

    pub fn from_details(details: &Map<String, Value>) -> Option<AgreementTerms> {
        serde_json::from_value(Value::Object(details.clone())).ok()
    }

    pub fn to_details(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

/// The `details` key that marks the default calendar; the rest of a calendar record's details is its
/// definition.
pub const CALENDAR_IS_DEFAULT: &str = "is_default";

/// Reads a calendar record: its definition, and whether it is the default.
pub fn calendar_of(record: &Record) -> Option<(BusinessCalendar, bool)> {
    let mut details = record.details.clone();
    let is_default = details
        .remove(CALENDAR_IS_DEFAULT)
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let def: CalendarDefinition = serde_json::from_value(Value::Object(details)).ok()?;
    Some((BusinessCalendar::new(&def).ok()?, is_default))
}

/// Whether a calendar record is the default calendar.
pub fn is_default_calendar(record: &Record) -> bool {
    record.details.get(CALENDAR_IS_DEFAULT) == Some(&Value::Bool(true))
}

/// A calendar record's details: its normalized definition and whether it is the default.
pub fn calendar_details(calendar: &BusinessCalendar, is_default: bool) -> Map<String, Value> {
    let mut m = match serde_json::to_value(calendar.definition()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    m.insert(CALENDAR_IS_DEFAULT.into(), Value::Bool(is_default));
    m
}

/// An agreement as the matcher sees it.
#[derive(Debug, Clone)]
pub struct Agreement {
    pub id: RecordId,
    /// Its readable number, such as `AGR-3`, for explanations.
    pub number: String,
    pub title: String,
    pub state: String,
    pub organization_id: OrganizationId,
    pub assignment_group_id: Option<GroupId>,
    pub terms: AgreementTerms,
}

impl Agreement {
    pub fn from_record(r: &Record) -> Option<Agreement> {
        Some(Agreement {
            id: r.id,
            number: r.readable_number().to_string(),
            title: r.title.clone(),
            state: r.state.clone(),
            organization_id: r.organization_id,
            assignment_group_id: r.assignment_group_id,
            terms: AgreementTerms::from_details(&r.details)?,
        })
    }
}

/// The facts about a record that decide which targets apply to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFacts {
    pub kind: RecordKind,
    pub organization_id: OrganizationId,
    pub service_id: Option<RecordId>,
    pub service_offering_id: Option<RecordId>,
    pub priority: Option<i16>,
    pub assignment_group_id: Option<GroupId>,
    /// The day it was logged (UTC); agreements apply to records logged while they are valid.
    pub logged_on: Date,
}

/// The target chosen for one agreement type and metric, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub agreement_id: RecordId,
    pub agreement_type: AgreementType,
    pub target_key: String,
    pub metric: Metric,
    /// Why this target applies, and what it was preferred over.
    pub reason: String,
}

fn why_not(a: &Agreement, facts: &RecordFacts) -> Option<String> {
    if a.state != "active" {
        return Some(format!("{} is {}", a.number, a.state));
    }
    if facts.logged_on < a.terms.valid_from || a.terms.valid_until.is_some_and(|u| facts.logged_on > u) {
        return Some(format!("{} was not valid on {}", a.number, facts.logged_on));
    }
    match a.terms.agreement_type {
        AgreementType::ServiceLevelAgreement => {
            if a.organization_id != facts.organization_id {
                return Some(format!("{} is with another customer", a.number));
            }
        }
        AgreementType::OperationalLevelAgreement => {
            if a.assignment_group_id.is_none() || a.assignment_group_id != facts.assignment_group_id {
                return Some(format!("{} is with another assignment group", a.number));
            }
        }
        // Supplier tickets come with supplier management; until then no record is routed to one.
        AgreementType::UnderpinningContract => {
            return Some(format!("{} is with a supplier", a.number));
        }
    }
    if !a.terms.service_ids.is_empty()
        && !facts
            .service_id
            .is_some_and(|s| a.terms.service_ids.contains(&s.0))
    {
        return Some(format!("{} does not cover the record's service", a.number));
    }
    None
}

fn target_fits(t: &ServiceLevelTarget, facts: &RecordFacts) -> bool {
    t.record_kind == facts.kind
        && (t.priorities.is_empty() || facts.priority.is_some_and(|p| t.priorities.contains(&p)))
        && (t.service_ids.is_empty() || facts.service_id.is_some_and(|s| t.service_ids.contains(&s.0)))
        && (t.service_offering_ids.is_empty()
            || facts
                .service_offering_id
                .is_some_and(|o| t.service_offering_ids.contains(&o.0)))
}

/// How specific a match is: a target naming offerings beats one naming services, which beats a
/// general one; then an agreement for named services beats one for all services; then a target
/// naming priorities beats one for every priority.
fn specificity(a: &Agreement, t: &ServiceLevelTarget) -> (u8, u8, u8, u8) {
    (
        u8::from(!t.service_offering_ids.is_empty()),
        u8::from(!t.service_ids.is_empty()),
        u8::from(!a.terms.service_ids.is_empty()),
        u8::from(!t.priorities.is_empty()),
    )
}

/// Picks, for each agreement type and metric, the one target that applies to a record. The choice is
/// deterministic: the most specific target wins, then the agreement valid since the latest date, then
/// the lowest agreement number, then the target's order in its agreement.
pub fn select_targets(agreements: &[Agreement], facts: &RecordFacts) -> Vec<Selection> {
    let mut candidates: Vec<(&Agreement, usize, &ServiceLevelTarget)> = Vec::new();
    for a in agreements {
        if why_not(a, facts).is_some() {
            continue;
        }
        for (i, t) in a.terms.targets.iter().enumerate() {
            if target_fits(t, facts) {
                candidates.push((a, i, t));
            }
        }
    }
    candidates.sort_by(|(a1, i1, t1), (a2, i2, t2)| {
        (a1.terms.agreement_type, t1.metric.as_str())
            .cmp(&(a2.terms.agreement_type, t2.metric.as_str()))
            .then_with(|| specificity(a2, t2).cmp(&specificity(a1, t1)))
            .then_with(|| a2.terms.valid_from.cmp(&a1.terms.valid_from))
            .then_with(|| a1.id.0.cmp(&a2.id.0))
            .then_with(|| i1.cmp(i2))
    });
    let mut out: Vec<Selection> = Vec::new();
    let mut passed_over: Vec<String> = Vec::new();
    for (a, _, t) in &candidates {
        let ty = a.terms.agreement_type;
        if let Some(last) = out
            .last_mut()
            .filter(|s| s.agreement_type == ty && s.metric == t.metric)
        {
            passed_over.push(format!("{} \"{}\"", a.number, t.name));
            last.reason = explain(&candidates, last, &passed_over);
            continue;
        }
        passed_over.clear();
        let mut s = Selection {
            agreement_id: a.id,
            agreement_type: ty,
            target_key: t.key.clone(),
            metric: t.metric,
            reason: String::new(),
        };
        s.reason = explain(&candidates, &s, &passed_over);
        out.push(s);
    }
    out
}

fn explain(
    candidates: &[(&Agreement, usize, &ServiceLevelTarget)],
    s: &Selection,
    passed_over: &[String],
) -> String {
    let Some((a, _, t)) = candidates
        .iter()
        .find(|(a, _, t)| a.id == s.agreement_id && t.key == s.target_key)
    else {
        return String::new();
    };
    let mut why = format!(
        "{} \"{}\" ({}, valid from {}) applies: ",
        a.number,
        a.title,
        a.terms.agreement_type.abbreviation(),
        a.terms.valid_from
    );
    why.push_str(match a.terms.agreement_type {
        AgreementType::ServiceLevelAgreement => "the record's customer",
        AgreementType::OperationalLevelAgreement => "the record's assignment group",
        AgreementType::UnderpinningContract => "the record's supplier",
    });
    why.push_str(if a.terms.service_ids.is_empty() {
        ", all services"
    } else {
        ", a covered service"
    });
    why.push_str(&format!("; target \"{}\" covers ", t.name));
    if !t.service_offering_ids.is_empty() {
        why.push_str("the record's service offering, ");
    }
    why.push_str(&if t.priorities.is_empty() {
        "every priority".to_owned()
    } else {
        format!(
            "priority {}",
            t.priorities
                .iter()
                .map(i16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    if !passed_over.is_empty() {
        why.push_str(&format!(
            ". Preferred over {} (less specific, older or higher numbered)",
            passed_over.join(", ")
        ));
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(
        key: &str,
        metric: Metric,
        priorities: &[i16],
        services: &[i64],
        minutes: i64,
    ) -> ServiceLevelTarget {
        ServiceLevelTarget {
            key: key.into(),
            name: format!("{} {key}", metric.as_str()),
            metric,
            record_kind: RecordKind::INCIDENT,
            priorities: priorities.to_vec(),
            service_ids: services.to_vec(),
            service_offering_ids: vec![],
            minutes,
            calendar_id: None,
            warnings: DEFAULT_WARNINGS.to_vec(),
            clock_rules: None,
        }
    }

    fn agreement(
        id: i64,
        ty: AgreementType,
        org: i64,
        services: &[i64],
        targets: Vec<ServiceLevelTarget>,
    ) -> Agreement {
        Agreement {
            id: RecordId(id),
            number: format!("AGR-{id}"),
            title: format!("Agreement {id}"),
            state: "active".into(),
            organization_id: OrganizationId(org),
            assignment_group_id: (ty == AgreementType::OperationalLevelAgreement).then_some(GroupId(7)),
            terms: AgreementTerms {
                agreement_type: ty,
                service_ids: services.to_vec(),
                valid_from: "2026-01-01".parse().unwrap(),
                valid_until: None,
                review_date: None,
                calendar_id: None,
                targets,
            },
        }
    }

    fn facts(priority: i16, service: i64) -> RecordFacts {
        RecordFacts {
            kind: RecordKind::INCIDENT,
            organization_id: OrganizationId(2),
            service_id: Some(RecordId(service)),
            service_offering_id: None,
            priority: Some(priority),
            assignment_group_id: Some(GroupId(7)),
            logged_on: "2026-06-01".parse().unwrap(),
        }
    }

    #[test]
    fn the_most_specific_target_wins_and_the_reason_says_why() {
        let general = agreement(
            1,
            AgreementType::ServiceLevelAgreement,
            2,
            &[],
            vec![
                target("t1", Metric::Resolution, &[], &[], 2400),
                target("t2", Metric::FirstResponse, &[], &[], 240),
            ],
        );
        let email = agreement(
            2,
            AgreementType::ServiceLevelAgreement,
            2,
            &[10],
            vec![target("t1", Metric::Resolution, &[1, 2], &[], 240)],
        );
        let ola = agreement(
            3,
            AgreementType::OperationalLevelAgreement,
            1,
            &[],
            vec![target("t1", Metric::Resolution, &[], &[], 120)],
        );
        let other_customer = agreement(
            4,
            AgreementType::ServiceLevelAgreement,
            3,
            &[],
            vec![target("t1", Metric::Resolution, &[], &[], 60)],
        );
        let all = [general, email, ola, other_customer];
        let chosen = select_targets(&all, &facts(1, 10));
        let picked: Vec<(i64, &str, Metric)> = chosen
            .iter()
            .map(|s| (s.agreement_id.0, s.target_key.as_str(), s.metric))
            .collect();
        assert_eq!(
            picked,
            [
                (1, "t2", Metric::FirstResponse),
                (2, "t1", Metric::Resolution),
                (3, "t1", Metric::Resolution),
            ]
        );
        assert!(
            chosen[1].reason.contains("Preferred over AGR-1"),
            "{}",
            chosen[1].reason
        );
        // A priority-4 incident on another service only gets the general targets.
        let chosen = select_targets(&all, &facts(4, 11));
        assert_eq!(chosen.iter().filter(|s| s.agreement_id.0 == 1).count(), 2);
        assert!(chosen.iter().all(|s| s.agreement_id.0 != 2));
    }

    #[test]
    fn a_target_for_an_offering_beats_one_for_its_service_and_fits_only_that_offering() {
        let mut gold = target("t2", Metric::Resolution, &[], &[10], 120);
        gold.service_offering_ids = vec![21];
        let sla = agreement(
            1,
            AgreementType::ServiceLevelAgreement,
            2,
            &[],
            vec![
                target("t1", Metric::Resolution, &[1, 2, 3, 4, 5], &[10], 480),
                gold,
            ],
        );
        let all = [sla];
        let key_for = |offering: Option<i64>| {
            let mut f = facts(3, 10);
            f.service_offering_id = offering.map(RecordId);
            let chosen = select_targets(&all, &f);
            assert_eq!(chosen.len(), 1);
            (chosen[0].target_key.clone(), chosen[0].reason.clone())
        };
        let (key, reason) = key_for(Some(21));
        assert_eq!(key, "t2");
        assert!(reason.contains("service offering"), "{reason}");
        assert!(reason.contains("Preferred over AGR-1"), "{reason}");
        // Another offering of the service, or none, gets the service's target.
        assert_eq!(key_for(Some(22)).0, "t1");
        assert_eq!(key_for(None).0, "t1");
    }
}
