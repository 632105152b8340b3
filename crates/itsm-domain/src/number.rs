//! A record's readable number (`INC-1042`: its kind's prefix and a number per kind) and the ways
//! people name a record: by that number or by its id.

use std::fmt;
use std::str::FromStr;

use crate::ids::RecordId;
use crate::kind::RecordKind;

/// The readable number of a record, such as `INC-1042`: the kind's prefix and a number per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordNumber {
    pub kind: RecordKind,
    pub number: i64,
}

impl fmt::Display for RecordNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.kind.prefix(), self.number)
    }
}

/// Why a readable number could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a record number such as INC-1042")]
pub struct RecordNumberError(pub String);

impl FromStr for RecordNumber {
    type Err = RecordNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || RecordNumberError(s.to_owned());
        let (prefix, digits) = s.split_once('-').ok_or_else(err)?;
        let kind = RecordKind::from_prefix(prefix).ok_or_else(err)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let number = digits.parse::<i64>().map_err(|_| err())?;
        Ok(RecordNumber { kind, number })
    }
}

/// How a record is named in a URL: by its readable number or by its internal id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordRef {
    Number(RecordNumber),
    Id(RecordId),
}

impl FromStr for RecordRef {
    type Err = RecordNumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            return s
                .parse::<i64>()
                .map(|id| RecordRef::Id(RecordId(id)))
                .map_err(|_| RecordNumberError(s.to_owned()));
        }
        s.to_ascii_uppercase().parse().map(RecordRef::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        let n: RecordNumber = "INC-1042".parse().unwrap();
        assert_eq!(n.kind, RecordKind::INCIDENT);
        assert_eq!(n.number, 1042);
        assert_eq!(n.to_string(), "INC-1042");
    }

    #[test]
    fn refs_accept_numbers_ids_and_lowercase() {
        assert_eq!("17".parse::<RecordRef>().unwrap(), RecordRef::Id(RecordId(17)));
        assert_eq!(
            "inc-5".parse::<RecordRef>().unwrap(),
            RecordRef::Number(RecordNumber {
                kind: RecordKind::INCIDENT,
                number: 5
            })
        );
        for bad in [
            "",
            "INC-",
            "INC-x",
            "XYZ-1",
            "INC--1",
            "INC-1-2",
            "99999999999999999999",
        ] {
            assert!(bad.parse::<RecordRef>().is_err(), "{bad} should be rejected");
        }
    }
}
