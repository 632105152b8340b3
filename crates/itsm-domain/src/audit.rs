//! Field-level change sets: what the audit trail records for every change of every record.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// A record's fields by name, as the audit trail sees them. Values are JSON so that every kind's
/// fields fit one shape; `Null` means "not set".
pub type FieldMap = BTreeMap<String, Value>;

/// One field that changed, from what to what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// The fields whose values differ between `old` and `new`, in field-name order. A field missing from
/// one side counts as `Null`, so a creation is a diff from the empty map.
pub fn diff_fields(old: &FieldMap, new: &FieldMap) -> Vec<FieldChange> {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| {
            let o = old.get(name).unwrap_or(&Value::Null);
            let n = new.get(name).unwrap_or(&Value::Null);
            (o != n).then(|| FieldChange {
                field: name.clone(),
                old: o.clone(),
                new: n.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(pairs: &[(&str, Value)]) -> FieldMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn diff_reports_changed_added_and_removed_fields() {
        let old = map(&[("a", json!(1)), ("b", json!("x")), ("c", json!(true))]);
        let new = map(&[("a", json!(1)), ("b", json!("y")), ("d", json!(2))]);
        let changes = diff_fields(&old, &new);
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    field: "b".into(),
                    old: json!("x"),
                    new: json!("y")
                },
                FieldChange {
                    field: "c".into(),
                    old: json!(true),
                    new: Value::Null
                },
                FieldChange {
                    field: "d".into(),
                    old: Value::Null,
                    new: json!(2)
                },
            ]
        );
        assert!(diff_fields(&new, &new).is_empty());
    }

    #[test]
    fn null_and_missing_are_the_same() {
        let old = map(&[("a", Value::Null)]);
        assert!(diff_fields(&old, &FieldMap::new()).is_empty());
    }
}
