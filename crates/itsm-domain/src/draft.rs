//! The generic create and change: what people give for a record of a kind whose writes are
//! declared ([`Writes::Declared`]), checked against that declaration alone. The input is a JSON
//! object as the API and the forms send it: the shared columns the kind uses under the names its
//! [`SharedFields`] give them, and its own fields by name. Unknown names, names of columns the
//! kind does not use, values of the wrong type and moves the lifecycle does not have are refused,
//! each naming its field; what was given is never half applied.
//!
//! Whether what a record refers to exists is a question for storage; [`references`] says what a
//! record refers to, so the use case can ask it in one round trip.

use serde_json::{Map, Value};

use crate::access::{Actor, Role};
use crate::field::FieldType;
use crate::ids::{GroupId, OrganizationId, RecordId, UserId};
use crate::kind::{Owner, RecordKind, RuleContext, SharedFields, Use, Writes};
use crate::lifecycle::TransitionError;
use crate::permission::Permission;
use crate::record::{Record, RecordFields};
use crate::validation::{optional_text, required_text, ValidationError};

/// The longest title of any record.
pub const TITLE_MAX: usize = 200;
/// The longest description of any record.
pub const DESCRIPTION_MAX: usize = 20_000;

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// Something the one who asked may not do with this record, though they may write on it: a
    /// move the lifecycle keeps for others, a field of a record they may only move (see
    /// [`crate::lifecycle::Transition::also_by`]).
    #[error("{0}")]
    NotYours(String),
}

/// The names of the shared columns in an input, for a kind.
struct Names {
    shared: SharedFields,
}

impl Names {
    /// Each shared column the kind may take, with its name in the input and whether it is used.
    fn columns(&self) -> [(&'static str, Use); 4] {
        [
            ("service_id", self.shared.service),
            ("configuration_item_id", self.shared.configuration_item),
            ("assignment_group_id", self.shared.assignment),
            ("assignee_id", self.shared.assignment),
        ]
    }

    /// Whether `name` is a name the input may hold for this kind at all.
    fn knows(&self, kind: RecordKind, name: &str) -> bool {
        name == self.shared.title
            || name == "description"
            || name == "state"
            || (name == "organization_id" && self.shared.owner == Owner::Customer)
            || self.shared.requester == Some(name)
            || self.columns().iter().any(|(n, u)| *n == name && u.is_used())
            || kind.field(name).is_some()
    }
}

/// Reads an id the input gives for a shared column: `Some(None)` when it clears it.
fn id_of(input: &Map<String, Value>, name: &str, errors: &mut ValidationError) -> Option<Option<i64>> {
    match input.get(name)? {
        Value::Null => Some(None),
        Value::Number(n) => match n.as_i64() {
            Some(id) if id > 0 => Some(Some(id)),
            _ => {
                errors.add(name, "must be a positive id");
                None
            }
        },
        _ => {
            errors.add(name, "must be an id (a number) or null");
            None
        }
    }
}

/// The permissions an input takes beyond the kind's own: those of the fields it sets that are
/// guarded (see [`crate::field::FieldSpec::guarded_by`]). Asked before anything is read, so that
/// who may act is settled first.
pub fn guards(kind: RecordKind, input: &Map<String, Value>) -> Vec<Permission> {
    kind.fields()
        .iter()
        .filter(|f| input.contains_key(f.name))
        .filter_map(|f| f.guard)
        .collect()
}

/// What an input is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Create,
    Change,
    /// Its names and values alone, before the record it changes is read.
    Shape,
}

/// Checks the names of an input and the shared columns' rules common to creating and changing,
/// and applies the input to `f`.
fn apply(
    kind: RecordKind,
    input: &Map<String, Value>,
    actor: Option<&Actor>,
    mode: Mode,
    f: &mut RecordFields,
    errors: &mut ValidationError,
) {
    let creating = mode == Mode::Create;
    let names = Names {
        shared: kind.shared(),
    };
    let shared = kind.shared();
    for name in input.keys() {
        if !names.knows(kind, name) {
            errors.add(
                name.as_str(),
                format!("a {} has no such field", kind.label().to_lowercase()),
            );
        }
    }
    if let Some(v) = input.get(shared.title) {
        match v.as_str() {
            Some(t) => f.title = required_text(errors, shared.title, t, TITLE_MAX),
            None => errors.add(shared.title, "must be text"),
        }
    } else if creating {
        errors.add(shared.title, "is required");
    }
    if let Some(v) = input.get("description") {
        match v {
            Value::String(d) => f.description = optional_text(errors, "description", d, DESCRIPTION_MAX),
            Value::Null => f.description.clear(),
            _ => errors.add("description", "must be text"),
        }
    }
    let customer = actor.is_some_and(|a| a.role == Role::Customer);
    for (name, used) in names.columns() {
        if !used.is_used() {
            continue;
        }
        if customer && shared.assignment.is_used() && name.starts_with("assign") && input.contains_key(name) {
            errors.add(
                name,
                format!("customers cannot assign a {}", kind.label().to_lowercase()),
            );
            continue;
        }
        if let Some(id) = id_of(input, name, errors) {
            match name {
                "service_id" => f.service_id = id.map(RecordId),
                "configuration_item_id" => f.configuration_item_id = id.map(RecordId),
                "assignment_group_id" => f.assignment_group_id = id.map(GroupId),
                _ => f.assignee_id = id.map(UserId),
            }
        }
    }
    if let Some(name) = shared.requester {
        if let Some(id) = id_of(input, name, errors) {
            f.requester_id = id.map(UserId);
        }
    }
    for spec in kind.fields() {
        let Some(value) = input.get(spec.name) else {
            continue;
        };
        if !spec.is_input() {
            errors.add(spec.name, "is set by the system, not given");
            continue;
        }
        let checked = spec.check(value, errors);
        if let (
            FieldType::Reference {
                same_service: true, ..
            },
            false,
        ) = (spec.ty, mode == Mode::Shape)
        {
            if !checked.is_null() && f.service_id.is_none() {
                errors.add(
                    spec.name,
                    format!("{} needs its service", spec.label.to_lowercase()),
                );
            }
        }
        if checked.is_null() {
            f.details.remove(spec.name);
        } else {
            f.details.insert(spec.name.to_owned(), checked);
        }
    }
    if mode == Mode::Shape {
        return;
    }
    // What must hold whatever was given.
    for (name, used) in names.columns() {
        let missing = match name {
            "service_id" => f.service_id.is_none(),
            "configuration_item_id" => f.configuration_item_id.is_none(),
            _ => false,
        };
        if used == Use::Required && missing && !errors.errors.iter().any(|e| e.field == name) {
            errors.add(name, "is required");
        }
    }
    if creating {
        for spec in kind.fields().iter().filter(|s| s.required) {
            if !f.details.contains_key(spec.name) && !errors.errors.iter().any(|e| e.field == spec.name) {
                errors.add(spec.name, "is required");
            }
        }
    }
    if f.assignee_id.is_some() && f.assignment_group_id.is_none() {
        errors.add("assignee_id", "an assignee needs an assignment group");
    }
}

/// The fields of a new record of `kind` from what people gave: its organization (the provider's
/// for the provider's records; a customer's own when a customer raises it), the shared columns it
/// uses and its own fields, in its lifecycle's initial state.
pub fn new_record(
    kind: RecordKind,
    input: &Map<String, Value>,
    actor: Option<&Actor>,
    provider: OrganizationId,
    cx: &RuleContext,
) -> Result<RecordFields, ValidationError> {
    let mut errors = ValidationError::new();
    if kind.writes() != Writes::Declared {
        errors.add(
            "kind",
            format!("a {} is created by its own use case", kind.label().to_lowercase()),
        );
        return Err(errors);
    }
    let mut f = RecordFields {
        state: kind.lifecycle().initial.to_owned(),
        ..Default::default()
    };
    if input.contains_key("state") {
        errors.add(
            "state",
            format!(
                "a new {} starts as {}",
                kind.label().to_lowercase(),
                kind.lifecycle().initial
            ),
        );
    }
    f.organization_id = match kind.shared().owner {
        Owner::Provider => Some(provider),
        Owner::Customer => {
            let given = id_of(input, "organization_id", &mut errors)
                .flatten()
                .map(OrganizationId);
            match actor.filter(|a| a.role == Role::Customer) {
                Some(a) if given.is_some_and(|g| g != a.organization_id) => {
                    errors.add(
                        "organization_id",
                        "customers raise records for their own organization",
                    );
                    None
                }
                Some(a) => Some(a.organization_id),
                None if given.is_none() => {
                    errors.add("organization_id", "is required");
                    None
                }
                None => given,
            }
        }
    };
    apply(kind, input, actor, Mode::Create, &mut f, &mut errors);
    kind.rules().created(&mut f, input, cx, &mut errors);
    if let (Some(a), Some(requester)) = (actor, kind.shared().requester) {
        // A customer raises their own records unless they name a colleague.
        if a.role == Role::Customer && f.requester_id.is_none() && !input.contains_key(requester) {
            f.requester_id = Some(a.user_id);
        }
    }
    errors.into_result()?;
    Ok(f)
}

/// Checks what people gave for a change of a record of `kind` as far as it can be without the
/// record: its names and the type and form of each value. Run before the record is read, so that
/// a malformed change is refused as such whatever version it names.
pub fn check_change_shape(
    kind: RecordKind,
    input: &Map<String, Value>,
    actor: Option<&Actor>,
) -> Result<(), ChangeError> {
    let mut errors = ValidationError::new();
    if let Some(v) = input.get("state") {
        if !v.as_str().is_some_and(|s| kind.lifecycle().is_state(s)) {
            errors.add("state", "must be the name of a state of this kind");
        }
    }
    only_moves(kind, input, actor)?;
    if input.contains_key("organization_id") {
        errors.add("organization_id", "a record stays with its organization");
    }
    apply(
        kind,
        input,
        actor,
        Mode::Shape,
        &mut RecordFields::default(),
        &mut errors,
    );
    Ok(errors.into_result()?)
}

/// What someone who may not change records of `kind` may still send, for the moves the lifecycle
/// opens to their role: the state and the fields such a move requires. Anything else is refused
/// as not theirs to change, naming it.
fn only_moves(
    kind: RecordKind,
    input: &Map<String, Value>,
    actor: Option<&Actor>,
) -> Result<(), ChangeError> {
    let Some(a) = actor.filter(|a| !a.can(kind.access().change)) else {
        return Ok(());
    };
    let theirs: Vec<_> = kind
        .lifecycle()
        .transitions
        .iter()
        .filter(|t| t.also_by.contains(&a.role))
        .collect();
    let refused = input
        .keys()
        .find(|name| *name != "state" && !theirs.iter().any(|t| t.requires.contains(&name.as_str())));
    match refused {
        Some(name) => Err(ChangeError::NotYours(format!(
            "a {} may not change `{name}`; they may only move the record along its lifecycle",
            a.role.as_str()
        ))),
        None => Ok(()),
    }
}

/// The fields `current` is left with by a change people gave: the same rules as creating, a
/// state moved only as the lifecycle allows and by whom it allows, and what the move requires
/// present once it is made. The organization a record belongs to does not change.
pub fn changed_record(
    current: &Record,
    input: &Map<String, Value>,
    actor: Option<&Actor>,
    cx: &RuleContext,
) -> Result<RecordFields, ChangeError> {
    let kind = current.kind;
    let mut errors = ValidationError::new();
    if kind.writes() != Writes::Declared {
        errors.add(
            "kind",
            format!("a {} is changed by its own use case", kind.label().to_lowercase()),
        );
        return Err(errors.into());
    }
    let before = current.fields();
    let mut f = before.clone();
    if input.contains_key("organization_id") {
        errors.add("organization_id", "a record stays with its organization");
    }
    if let Some(v) = input.get("state") {
        match v.as_str() {
            Some(to) if !kind.lifecycle().is_state(to) => {
                errors.add("state", format!("`{to}` is not a state of this kind"));
                return Err(errors.into());
            }
            Some(to) if to != current.state => {
                kind.lifecycle().check(&current.state, to)?;
                if let Some(a) = actor {
                    let t = kind.lifecycle().transition(&current.state, to);
                    if let Some(t) = t.filter(|t| !a.may_take(kind, t)) {
                        return Err(ChangeError::NotYours(format!(
                            "`{}` is not open to a {}",
                            t.action,
                            a.role.as_str()
                        )));
                    }
                }
                f.state = to.to_owned();
            }
            Some(_) => {}
            None => errors.add("state", "must be the name of a state"),
        }
    }
    only_moves(kind, input, actor)?;
    apply(kind, input, actor, Mode::Change, &mut f, &mut errors);
    let cx = RuleContext {
        mover: actor.map(|a| a.role),
        ..*cx
    };
    kind.rules().changed(&before, &mut f, input, &cx, &mut errors);
    if f.state != current.state {
        kind.lifecycle()
            .check_requirements(&current.state, &f.state, &f.details, &mut errors);
    }
    errors.into_result()?;
    Ok(f)
}

/// What a record refers to, by the column or field that names it. A reference is only listed
/// when it is new (not in `before`), so a change does not fail on what changed elsewhere since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// The customer organization a new record of a customer kind is for.
    pub organization: Option<OrganizationId>,
    pub group: Option<GroupId>,
    /// A group and a user who must be its member.
    pub member: Option<(GroupId, UserId)>,
    /// The person the record is for, who must belong to its organization; with the name of the
    /// field that names them.
    pub requester: Option<(&'static str, UserId)>,
    /// Records, each with the field that names it, the kind it must be and, for a reference
    /// declared `same_service`, the service it must belong to.
    pub records: Vec<RecordReference>,
}

/// One reference from a record to another record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordReference {
    pub field: &'static str,
    pub id: RecordId,
    pub kind: &'static str,
    /// For a reference declared `same_service`: the service the referenced record must belong
    /// to, the one the referring record names (`Some(None)` when it names none, which no record
    /// belongs to).
    pub service: Option<Option<RecordId>>,
}

impl References {
    pub fn is_empty(&self) -> bool {
        self.organization.is_none()
            && self.group.is_none()
            && self.member.is_none()
            && self.requester.is_none()
            && self.records.is_empty()
    }
}

/// What the fields `f` of a record of `kind` refer to that `before` (the record's fields before a
/// change; `None` for a new record) did not: the shared columns it uses and its own fields
/// declared as references.
pub fn references(kind: RecordKind, f: &RecordFields, before: Option<&RecordFields>) -> References {
    let changed = |get: &dyn Fn(&RecordFields) -> Option<i64>| {
        get(f).is_some() && before.is_none_or(|b| get(b) != get(f))
    };
    let shared = kind.shared();
    let mut r = References {
        organization: f
            .organization_id
            .filter(|_| before.is_none() && shared.owner == Owner::Customer),
        ..Default::default()
    };
    let group_changed = changed(&|x| x.assignment_group_id.map(|g| g.0));
    if shared.assignment.is_used() {
        r.group = f.assignment_group_id.filter(|_| group_changed);
        if let (Some(g), Some(u)) = (f.assignment_group_id, f.assignee_id) {
            if group_changed || changed(&|x| x.assignee_id.map(|u| u.0)) {
                r.member = Some((g, u));
            }
        }
    }
    if let Some(name) = shared.requester {
        if changed(&|x| x.requester_id.map(|u| u.0)) {
            r.requester = f.requester_id.map(|u| (name, u));
        }
    }
    let service_changed = changed(&|x| x.service_id.map(|s| s.0));
    if shared.service.is_used() && service_changed {
        if let Some(id) = f.service_id {
            r.records.push(RecordReference {
                field: "service_id",
                id,
                kind: RecordKind::SERVICE.as_str(),
                service: None,
            });
        }
    }
    if shared.configuration_item.is_used() && changed(&|x| x.configuration_item_id.map(|c| c.0)) {
        if let Some(id) = f.configuration_item_id {
            r.records.push(RecordReference {
                field: "configuration_item_id",
                id,
                kind: RecordKind::CONFIGURATION_ITEM.as_str(),
                service: None,
            });
        }
    }
    for spec in kind.fields() {
        let FieldType::Reference {
            kind: target,
            same_service,
        } = spec.ty
        else {
            continue;
        };
        let Some(id) = f.details.get(spec.name).and_then(Value::as_i64) else {
            continue;
        };
        let was = before
            .and_then(|b| b.details.get(spec.name))
            .and_then(Value::as_i64);
        // Checked again when the service changes: it must still be that service's.
        if was != Some(id) || (same_service && service_changed) {
            r.records.push(RecordReference {
                field: spec.name,
                id: RecordId(id),
                kind: target,
                service: same_service.then_some(f.service_id),
            });
        }
    }
    r
}

#[cfg(test)]
mod tests;
