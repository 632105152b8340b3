//! The service catalogue and the configuration items behind it, as the provider keeps them until the
//! catalogue (8.2.4) and configuration management (8.5.2) give them fields of their own: services,
//! the offerings of a service (which service level targets can single out), and configuration
//! items. They are plain named records the provider owns.

use crate::field::{FieldSpec, FieldType};
use crate::kind::{Capabilities, KindAccess, KindSpec, RecordKind, SharedFields, Use, Writes, NO_RULES};
use crate::lifecycle::{Additions, Lifecycle, Phase, State, Transition};
use crate::permission::Permission;

/// Catalogue items have a name and a description of the shared columns.
const NAMED: SharedFields = SharedFields {
    title: "name",
    ..SharedFields::PROVIDER_RECORD
};

/// The `details` key of a service's calendar: the business calendar its targets run on unless a
/// target names its own.
pub const SERVICE_CALENDAR: &str = "calendar_id";

const CATALOGUE_ACCESS: KindAccess = KindAccess {
    create: Permission::ManageCatalogue,
    change: Permission::ManageCatalogue,
};

static SERVICE_SPEC: KindSpec = KindSpec {
    name: "service",
    prefix: "SVC",
    collection: "services",
    label: "Service",
    lifecycle: &SERVICE_LIFECYCLE,
    capabilities: Capabilities {
        published_to_customers: true,
        catalogue_item: true,
        // A service names the calendar its targets run on.
        service_level_configuration: true,
        ..Capabilities::NONE
    },
    access: CATALOGUE_ACCESS,
    shared: NAMED,
    writes: Writes::Declared,
    fields: &[
        // It moves SLA figures: the same permission as changing a calendar.
        FieldSpec::new(
            SERVICE_CALENDAR,
            "Business calendar",
            FieldType::reference("calendar"),
        )
        .guarded_by(Permission::ManageServiceLevels),
    ],
    rules: &NO_RULES,
};

static SERVICE_OFFERING_SPEC: KindSpec = KindSpec {
    name: "service_offering",
    prefix: "OFR",
    collection: "service-offerings",
    label: "Service offering",
    lifecycle: &SERVICE_LIFECYCLE,
    capabilities: Capabilities {
        published_to_customers: true,
        catalogue_item: true,
        ..Capabilities::NONE
    },
    access: CATALOGUE_ACCESS,
    shared: SharedFields {
        // The service it is an offering of.
        service: Use::Required,
        ..NAMED
    },
    writes: Writes::Declared,
    fields: &[],
    rules: &NO_RULES,
};

static CONFIGURATION_ITEM_SPEC: KindSpec = KindSpec {
    name: "configuration_item",
    prefix: "CI",
    collection: "configuration-items",
    label: "Configuration item",
    lifecycle: &CONFIGURATION_ITEM_LIFECYCLE,
    capabilities: Capabilities {
        catalogue_item: true,
        ..Capabilities::NONE
    },
    access: CATALOGUE_ACCESS,
    shared: NAMED,
    writes: Writes::Declared,
    fields: &[],
    rules: &NO_RULES,
};

impl RecordKind {
    pub const SERVICE: RecordKind = RecordKind::declare(&SERVICE_SPEC);
    /// A variant of a service as the catalogue offers it (such as "Email, Gold support").
    pub const SERVICE_OFFERING: RecordKind = RecordKind::declare(&SERVICE_OFFERING_SPEC);
    pub const CONFIGURATION_ITEM: RecordKind = RecordKind::declare(&CONFIGURATION_ITEM_SPEC);
}

/// Services move from being designed to live to retired.
pub static SERVICE_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "live",
    states: &[
        State::new("pipeline", "In pipeline", Phase::Active),
        State::new("live", "Live", Phase::Active),
        State::new("retired", "Retired", Phase::Closed),
    ],
    transitions: &[
        Transition::new("pipeline", "live", "Go live"),
        Transition::new("pipeline", "retired", "Abandon").confirmed(),
        Transition::new("live", "retired", "Retire").confirmed(),
    ],
    // A retired item stays as a reference: a note on why, a disposal certificate, a link from
    // what it affected still come.
    after_end: Additions::ALL,
};

/// Configuration items are planned, in use, under maintenance and finally disposed of.
pub static CONFIGURATION_ITEM_LIFECYCLE: Lifecycle = Lifecycle {
    initial: "in_use",
    states: &[
        State::new("planned", "Planned", Phase::Active),
        State::new("in_use", "In use", Phase::Active),
        State::new("maintenance", "Under maintenance", Phase::Active),
        State::new("retired", "Retired", Phase::Closed),
    ],
    transitions: &[
        Transition::new("planned", "in_use", "Put in use"),
        Transition::new("in_use", "maintenance", "Start maintenance"),
        Transition::new("maintenance", "in_use", "End maintenance"),
        Transition::new("in_use", "retired", "Retire").confirmed(),
        Transition::new("planned", "retired", "Abandon").confirmed(),
    ],
    // A retired item stays as a reference: a note on why, a disposal certificate, a link from
    // what it affected still come.
    after_end: Additions::ALL,
};
