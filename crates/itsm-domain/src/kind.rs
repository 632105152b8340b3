//! What a kind of record is. Every kind shares the record mechanism (identity, lifecycle, audit,
//! comments, attachments, links, lists, search, concurrency, organization scoping); its
//! [`KindSpec`] says what differs: its readable prefix, its name in URLs, its label, its lifecycle,
//! what it is capable of and which permissions creating and changing it take.
//!
//! A kind is declared once, in its own module, as a `static` spec and a [`RecordKind`] constant
//! on it (`RecordKind::INCIDENT` is declared in `incident.rs`), and registered with one line in
//! [`crate::registry`]. Code outside the registry asks a kind what it can do (its capabilities)
//! rather than which kind it is.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use serde::{Serialize, Serializer};

use serde_json::{Map, Value};

use crate::field::FieldSpec;
use crate::lifecycle::Lifecycle;
use crate::permission::Permission;
use crate::priority::PriorityMatrix;
use crate::record_fields::RecordFields;
use crate::role::Role;
use crate::validation::ValidationError;
use crate::Timestamp;

/// The declaration of one kind of record.
#[derive(Debug)]
pub struct KindSpec {
    /// The stable name stored in the database and used in JSON, such as `incident`.
    pub name: &'static str,
    /// The prefix of readable numbers, such as `INC` in `INC-1042`.
    pub prefix: &'static str,
    /// The plural, kebab-case collection name under `/api/v1`.
    pub collection: &'static str,
    /// A label for people.
    pub label: &'static str,
    pub lifecycle: &'static Lifecycle,
    pub capabilities: Capabilities,
    pub access: KindAccess,
    /// Which of the columns every record has this kind takes from people.
    pub shared: SharedFields,
    /// Whether the generic create and change write it from its declaration, or use cases of its
    /// own do.
    pub writes: Writes,
    /// The kind's own fields, kept in the record's `details`.
    pub fields: &'static [FieldSpec],
    /// What the kind derives and refuses beyond its declaration (an incident's priority through
    /// the matrix, its resolution instant); [`NO_RULES`] for a kind whose declaration says it all.
    pub rules: &'static dyn KindRules,
}

/// A kind's rules beyond its declaration, run by the generic create and change (`crate::draft`)
/// after what people gave was read against the declaration, and before what a move requires is
/// checked. Each method has a default that does nothing.
pub trait KindRules: Sync + std::fmt::Debug {
    /// A new record's fields, as read from `input`: derive what the kind derives, refuse what it
    /// refuses.
    fn created(
        &self,
        _f: &mut RecordFields,
        _input: &Map<String, Value>,
        _cx: &RuleContext,
        _errors: &mut ValidationError,
    ) {
    }

    /// A change of a record whose fields were `before` to `f`, as read from `input` (a move along
    /// the lifecycle already checked against it).
    fn changed(
        &self,
        _before: &RecordFields,
        _f: &mut RecordFields,
        _input: &Map<String, Value>,
        _cx: &RuleContext,
        _errors: &mut ValidationError,
    ) {
    }
}

/// What rules may read besides the record: the instant of the write, the provider's settings
/// that rules apply and who is making the change.
#[derive(Debug, Clone, Copy)]
pub struct RuleContext<'a> {
    pub now: Timestamp,
    pub priority_matrix: &'a PriorityMatrix,
    /// How long after its resolution the person a record is for may still reopen it.
    pub reopen_window: jiff::SignedDuration,
    /// The role of who makes the change; `None` for the system. Set by the generic change.
    pub mover: Option<Role>,
}

/// How long the person a record is for may reopen it after its resolution, unless configured.
pub const DEFAULT_REOPEN_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(14 * 24);

impl<'a> RuleContext<'a> {
    /// The context of a write at `now` under `priority_matrix`, with the other settings at their
    /// defaults and no mover (the system).
    pub fn new(now: Timestamp, priority_matrix: &'a PriorityMatrix) -> RuleContext<'a> {
        RuleContext {
            now,
            priority_matrix,
            reopen_window: DEFAULT_REOPEN_WINDOW,
            mover: None,
        }
    }
}

/// The rules of a kind whose declaration says it all.
#[derive(Debug)]
pub struct NoRules;

impl KindRules for NoRules {}

/// See [`NoRules`].
pub static NO_RULES: NoRules = NoRules;

/// Which of the columns every record has (see [`crate::Record`]) a kind uses, and how people name
/// them. The generic create and change (`crate::draft`) take these and refuse the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedFields {
    /// The name people give the title by, in forms and the API: `title`, or `name` for a
    /// catalogue item.
    pub title: &'static str,
    /// Whose records these are.
    pub owner: Owner,
    /// The service the record concerns.
    pub service: Use,
    /// The configuration item the record concerns.
    pub configuration_item: Use,
    /// An assignment group and, within it, an assignee.
    pub assignment: Use,
    /// The person the record is for, under the name people give it (`caller_id` for an
    /// incident); `None` when the kind has none.
    pub requester: Option<&'static str>,
}

impl SharedFields {
    /// A title and a description, and nothing else: the provider's own records.
    pub const PROVIDER_RECORD: SharedFields = SharedFields {
        title: "title",
        owner: Owner::Provider,
        service: Use::No,
        configuration_item: Use::No,
        assignment: Use::No,
        requester: None,
    };
}

/// How records of a kind are created and changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// By the generic create and change: the shared columns it uses and its own fields, checked
    /// against the declaration, moved along its lifecycle; the API's create and change for it
    /// and their schemas are drawn from the declaration.
    Declared,
    /// By use cases of its own, for a kind whose fields are more than the declaration can say
    /// (an incident's priority derived through a matrix, a calendar's weekly hours, an
    /// agreement's targets). They still write through the one pipeline.
    Own,
}

/// Whose records a kind's are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The provider keeps them (services, calendars, policies): a new one belongs to the provider.
    Provider,
    /// They are raised for a customer organization (incidents, requests): a new one names it, or
    /// is the customer's own when a customer raises it.
    Customer,
}

/// Whether a kind takes one of the shared columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    No,
    Optional,
    Required,
}

impl Use {
    pub fn is_used(self) -> bool {
        self != Use::No
    }
}

/// What records of a kind take part in, beyond what every record does. Each concern that acts on
/// some kinds only (service level clocks, the portal, the catalogue) asks for its capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Measured against service level targets: SLA clocks run on its records.
    pub service_levels: bool,
    /// Customers may read the provider's records of this kind, such as the services they consume.
    pub published_to_customers: bool,
    /// Customers may add to (comment on, attach files to, link) their own organization's records of
    /// this kind. Only records customers raise themselves: what the provider keeps with or
    /// publishes to a customer is read-only to them.
    pub customers_contribute: bool,
    /// A catalogue item (services, their offerings, configuration items): a plain named record the
    /// provider keeps, created and changed through the catalogue's use cases.
    pub catalogue_item: bool,
    /// Its records decide how SLA clocks run (calendars, agreements, a service's calendar): a
    /// change to one makes every node read the service level configuration again.
    pub service_level_configuration: bool,
}

impl Capabilities {
    /// None at all; a declaration names the ones its kind has and takes the rest from here.
    pub const NONE: Capabilities = Capabilities {
        service_levels: false,
        published_to_customers: false,
        customers_contribute: false,
        catalogue_item: false,
        service_level_configuration: false,
    };
}

/// The permissions that creating and changing records of a kind take. Reading is scoped by
/// organization for every kind alike ([`crate::access::Actor::can_see`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindAccess {
    pub create: Permission,
    /// Changing fields and moving along the lifecycle.
    pub change: Permission,
}

/// A kind of record: a handle on its declaration. Copied freely; two handles are equal when they
/// name the same kind.
#[derive(Clone, Copy)]
pub struct RecordKind(&'static KindSpec);

impl RecordKind {
    /// The handle of a declared kind, for the constant its module declares.
    pub const fn declare(spec: &'static KindSpec) -> RecordKind {
        RecordKind(spec)
    }

    pub fn spec(self) -> &'static KindSpec {
        self.0
    }

    /// The stable name stored in the database and used in JSON.
    pub fn as_str(self) -> &'static str {
        self.0.name
    }

    /// The prefix of readable numbers, such as `INC` in `INC-1042`.
    pub fn prefix(self) -> &'static str {
        self.0.prefix
    }

    /// The plural, kebab-case collection name under `/api/v1`.
    pub fn collection(self) -> &'static str {
        self.0.collection
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        self.0.label
    }

    pub fn lifecycle(self) -> &'static Lifecycle {
        self.0.lifecycle
    }

    pub fn writes(self) -> Writes {
        self.0.writes
    }

    pub fn rules(self) -> &'static dyn KindRules {
        self.0.rules
    }

    /// The shared columns the kind takes from people.
    pub fn shared(self) -> SharedFields {
        self.0.shared
    }

    /// The kind's own fields.
    pub fn fields(self) -> &'static [FieldSpec] {
        self.0.fields
    }

    /// The text of a record's own fields that a search covers besides its title and description
    /// (the fields declared `searched`), one line per field that holds text.
    pub fn search_text(self, details: &Map<String, Value>) -> String {
        let mut text = String::new();
        for f in self.0.fields.iter().filter(|f| f.searched) {
            if let Some(s) = details.get(f.name).and_then(Value::as_str) {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(s);
            }
        }
        text
    }

    /// One of the kind's own fields, by name.
    pub fn field(self, name: &str) -> Option<&'static FieldSpec> {
        self.0.fields.iter().find(|f| f.name == name)
    }

    pub fn capabilities(self) -> Capabilities {
        self.0.capabilities
    }

    pub fn access(self) -> KindAccess {
        self.0.access
    }

    /// Whether records of this kind are measured against service level targets.
    pub fn has_service_levels(self) -> bool {
        self.0.capabilities.service_levels
    }

    /// Whether customers may read records of this kind that belong to the provider.
    pub fn published_to_customers(self) -> bool {
        self.0.capabilities.published_to_customers
    }

    /// Whether customers may add to their own organization's records of this kind.
    pub fn customers_contribute(self) -> bool {
        self.0.capabilities.customers_contribute
    }

    /// Whether records of this kind are catalogue items.
    pub fn is_catalogue_item(self) -> bool {
        self.0.capabilities.catalogue_item
    }
}

impl PartialEq for RecordKind {
    fn eq(&self, other: &Self) -> bool {
        // The same declaration, or (a constant's copy of the address aside) the same name.
        std::ptr::eq(self.0, other.0) || self.0.name == other.0.name
    }
}

impl Eq for RecordKind {}

impl Hash for RecordKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl PartialOrd for RecordKind {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for RecordKind {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.name.cmp(other.0.name)
    }
}

impl std::fmt::Debug for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

impl Serialize for RecordKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name)
    }
}
