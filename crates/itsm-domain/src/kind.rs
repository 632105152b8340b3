//! The registry of record kinds. Every kind shares the record mechanism (identity, lifecycle, audit,
//! comments, attachments, links, lists, search, concurrency, organization scoping); this table says what
//! differs: its readable prefix, its name in URLs and its lifecycle.

use serde::{Deserialize, Serialize};

use crate::lifecycle::Lifecycle;

/// A kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    Incident,
    Service,
    /// A variant of a service as the catalogue offers it (such as "Email, Gold support"), which
    /// service level targets can single out.
    ServiceOffering,
    ConfigurationItem,
    /// When the provider works: time zone, working hours, holidays.
    Calendar,
    /// A service level agreement, operational level agreement or underpinning contract.
    Agreement,
}

impl RecordKind {
    pub const ALL: [RecordKind; 6] = [
        RecordKind::Incident,
        RecordKind::Service,
        RecordKind::ServiceOffering,
        RecordKind::ConfigurationItem,
        RecordKind::Calendar,
        RecordKind::Agreement,
    ];

    /// The stable name stored in the database and used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Incident => "incident",
            RecordKind::Service => "service",
            RecordKind::ServiceOffering => "service_offering",
            RecordKind::ConfigurationItem => "configuration_item",
            RecordKind::Calendar => "calendar",
            RecordKind::Agreement => "agreement",
        }
    }

    pub fn parse(s: &str) -> Option<RecordKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The prefix of readable numbers, such as `INC` in `INC-1042`.
    pub fn prefix(self) -> &'static str {
        match self {
            RecordKind::Incident => "INC",
            RecordKind::Service => "SVC",
            RecordKind::ServiceOffering => "OFR",
            RecordKind::ConfigurationItem => "CI",
            RecordKind::Calendar => "CAL",
            RecordKind::Agreement => "AGR",
        }
    }

    pub fn from_prefix(prefix: &str) -> Option<RecordKind> {
        Self::ALL.into_iter().find(|k| k.prefix() == prefix)
    }

    /// The plural, kebab-case collection name under `/api/v1`.
    pub fn collection(self) -> &'static str {
        match self {
            RecordKind::Incident => "incidents",
            RecordKind::Service => "services",
            RecordKind::ServiceOffering => "service-offerings",
            RecordKind::ConfigurationItem => "configuration-items",
            RecordKind::Calendar => "calendars",
            RecordKind::Agreement => "agreements",
        }
    }

    pub fn from_collection(s: &str) -> Option<RecordKind> {
        Self::ALL.into_iter().find(|k| k.collection() == s)
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            RecordKind::Incident => "Incident",
            RecordKind::Service => "Service",
            RecordKind::ServiceOffering => "Service offering",
            RecordKind::ConfigurationItem => "Configuration item",
            RecordKind::Calendar => "Business calendar",
            RecordKind::Agreement => "Agreement",
        }
    }

    pub fn lifecycle(self) -> &'static Lifecycle {
        match self {
            RecordKind::Incident => &crate::incident::LIFECYCLE,
            RecordKind::Service | RecordKind::ServiceOffering => &crate::lifecycle::SERVICE_LIFECYCLE,
            RecordKind::ConfigurationItem => &crate::lifecycle::CONFIGURATION_ITEM_LIFECYCLE,
            RecordKind::Calendar => &crate::lifecycle::CALENDAR_LIFECYCLE,
            RecordKind::Agreement => &crate::lifecycle::AGREEMENT_LIFECYCLE,
        }
    }

    /// Whether records of this kind are measured against service level targets.
    pub fn has_service_levels(self) -> bool {
        matches!(self, RecordKind::Incident)
    }

    /// Whether customers may read records of this kind that belong to the provider, such as the
    /// services they consume.
    pub fn published_to_customers(self) -> bool {
        matches!(
            self,
            RecordKind::Service | RecordKind::ServiceOffering | RecordKind::Calendar
        )
    }

    /// Whether customers may add to (comment on, attach files to) their own organization's records
    /// of this kind. Only the records customers raise themselves: an agreement the provider keeps
    /// with a customer, or a service the provider publishes, is read-only to the customer.
    pub fn customers_contribute(self) -> bool {
        matches!(self, RecordKind::Incident)
    }

    /// Whether records of this kind are catalogue items (services, their offerings, configuration
    /// items): plain named records the provider keeps, until the catalogue and the CMDB give them
    /// fields of their own.
    pub fn is_catalogue_item(self) -> bool {
        matches!(
            self,
            RecordKind::Service | RecordKind::ServiceOffering | RecordKind::ConfigurationItem
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for k in RecordKind::ALL {
            assert_eq!(RecordKind::parse(k.as_str()), Some(k));
            assert_eq!(RecordKind::from_prefix(k.prefix()), Some(k));
            assert_eq!(RecordKind::from_collection(k.collection()), Some(k));
            assert!(k.lifecycle().is_state(k.lifecycle().initial));
        }
    }
}
