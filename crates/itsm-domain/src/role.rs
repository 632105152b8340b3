//! The roles people hold. A role grants permissions (`crate::access`) and may be named in a
//! lifecycle as one that may take a move (`crate::lifecycle`).

use serde::{Deserialize, Serialize};

/// A role held by a user. Provider staff hold administrator, agent or auditor; people of customer
/// organizations hold customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Agent,
    Customer,
    Auditor,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Administrator, Role::Agent, Role::Customer, Role::Auditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Agent => "agent",
            Role::Customer => "customer",
            Role::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff of the provider see every organization's records; customers only their own.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Customer)
    }
}
