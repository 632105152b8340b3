//! Typed identifiers, so a user id can never be passed where a record id is expected. A record's
//! readable number, which names its kind, is in `number.rs`.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// Internal id of any record (incident, service, configuration item, ...).
    RecordId
);
id_type!(
    /// Id of a user account.
    UserId
);
id_type!(
    /// Id of an organization: the provider itself, a customer or a supplier.
    OrganizationId
);
id_type!(
    /// Id of an assignment group.
    GroupId
);
