//! A kind's own fields in lists. A field declared `indexed` is kept in the record's `details`
//! like any other; lists filter on it and, when its values have an order (a date, a count, a
//! reference), sort on it, through indexes on an expression over `details` that are created from
//! the declarations when the schema is brought up to date: one serves a filter on the field in the
//! order of last update (the queue's default), the other the order of the field itself.
//!
//! Each field has one SQL expression, the same in its indexes and in every query, or the database
//! would not use the index: text as it is stored, a number as a number, a date as the number
//! `yyyymmdd` (so its order is an integer's, like every other sort key), and a missing value as 0.

use itsm_domain::field::{FieldSpec, ListOrder};
use itsm_domain::RecordKind;
use sqlx::{AnyConnection, Executor};

use crate::backend::Backend;
use crate::batch::Bind;
use crate::Result;

/// The expression of a field over the table alias `table` (`r.` or nothing).
pub(crate) fn expression(backend: Backend, table: &str, field: &FieldSpec) -> String {
    let name = field.name;
    let raw = match backend {
        Backend::Sqlite => format!("json_extract({table}details, '$.{name}')"),
        Backend::Postgres => format!("(CAST({table}details AS jsonb) ->> '{name}')"),
    };
    let int = match backend {
        Backend::Sqlite => "INTEGER",
        Backend::Postgres => "BIGINT",
    };
    match field.ty.list_order() {
        Some(ListOrder::Text) | None => raw,
        Some(ListOrder::Number) => format!("COALESCE(CAST({raw} AS {int}), 0)"),
        Some(ListOrder::Date) => format!("COALESCE(CAST(REPLACE({raw}, '-', '') AS {int}), 0)"),
    }
}

/// The value to compare a field's expression with: its text, or its number (a date's `yyyymmdd`).
/// `None` for a value of the wrong type, which matches no record.
pub(crate) fn bind(field: &FieldSpec, value: &serde_json::Value) -> Option<Bind> {
    match (field.ty.list_order()?, value) {
        (ListOrder::Text, serde_json::Value::String(s)) => Some(Bind::Text(Some(s.clone()))),
        (ListOrder::Number, v) => v.as_i64().map(|n| Bind::Int(Some(n))),
        (ListOrder::Date, serde_json::Value::String(s)) => {
            s.replace('-', "").parse().ok().map(|n| Bind::Int(Some(n)))
        }
        _ => None,
    }
}

/// A field's value as its sort key: the number its expression gives.
pub(crate) fn sort_value(field: &FieldSpec, details: &serde_json::Map<String, serde_json::Value>) -> i64 {
    match details.get(field.name).and_then(|v| bind(field, v)) {
        Some(Bind::Int(Some(n))) => n,
        _ => 0,
    }
}

/// The prefix of the names of the indexes made from declarations, so that those no declaration
/// asks for any more can be told apart from the migrations' and dropped.
const PREFIX: &str = "fidx_";

/// The names of a field's two indexes.
fn index_names(kind: RecordKind, field: &FieldSpec) -> [String; 2] {
    [
        format!("{PREFIX}{}_{}_updated", kind.as_str(), field.name),
        format!("{PREFIX}{}_{}_sorted", kind.as_str(), field.name),
    ]
}

/// Creates the indexes of every indexed field of every registered kind that are not there yet,
/// and drops those no declaration asks for any more or that were made by another statement than
/// today's: (field, updated_at, id) for a filter in the queue's order, and for a field lists sort
/// by, (field, id) for its own order. The columns queues filter on ride along in the first, as in
/// the shared walk indexes (migrations `sqlite/0008`, `postgres/0007`), so a walk checks the other
/// conditions without reading the table. Each holds only the rows of its kind (lists name the
/// kind as a literal, see `kind_condition`), so that a kind's indexes cost nothing to the writes
/// of the others.
///
/// On SQLite the kind leads them all the same: SQLite weighs an index by the conditions it
/// serves, and without the kind it walked the shared (kind, updated_at) index instead, reading
/// each row's details (17 ms for open incidents of one category at 1,000,000, against 0.5 ms
/// along the field's index). On PostgreSQL it must not: the planner drops `kind = 'incident'`
/// as implied by the partial index's own condition, leaving the leading column without one, and
/// a filter on the field then read the whole index (18,879 pages, 124 ms for one category at
/// 1,000,000, against 4-5 ms without the kind).
///
/// Each index keeps the statement that made it (SQLite's schema holds it; on PostgreSQL, the
/// index's comment), so that a changed layout replaces the indexes of an existing database.
/// Answers how many it created or dropped, so that the caller refreshes the planner's statistics.
pub(crate) async fn ensure_indexes(c: &mut AnyConnection, backend: Backend) -> Result<usize> {
    let existing: Vec<(String, Option<String>)> = match backend {
        Backend::Sqlite => sqlx::query_as(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'fidx\\_%' ESCAPE '\\'",
        ),
        // `name` is a type the Any driver cannot read: as text.
        Backend::Postgres => sqlx::query_as(
            "SELECT CAST(indexname AS TEXT), obj_description(CAST(CAST(indexname AS TEXT) AS regclass), 'pg_class') \
             FROM pg_indexes WHERE tablename = 'records' AND indexname LIKE 'fidx\\_%' ESCAPE '\\'",
        ),
    }
    .fetch_all(&mut *c)
    .await?;
    let mut wanted = Vec::new();
    for kind in RecordKind::all() {
        for field in kind.fields().iter().filter(|f| f.indexed) {
            let expr = expression(backend, "", field);
            let [updated, sorted] = index_names(kind, field);
            let queue = "state, assignment_group_id, assignee_id, organization_id";
            // Kind names are identifiers the registry declares, never input.
            let only = format!("WHERE kind = '{}'", kind.as_str());
            wanted.push((
                updated.clone(),
                match backend {
                    Backend::Sqlite => format!(
                        "CREATE INDEX {updated} ON records (kind, {expr}, updated_at, id, {queue}) {only}"
                    ),
                    Backend::Postgres => format!(
                        "CREATE INDEX {updated} ON records (({expr}), updated_at, id) INCLUDE ({queue}) {only}"
                    ),
                },
            ));
            if field.sortable() {
                wanted.push((
                    sorted.clone(),
                    match backend {
                        Backend::Sqlite => {
                            format!("CREATE INDEX {sorted} ON records (kind, ({expr}), id) {only}")
                        }
                        Backend::Postgres => {
                            format!("CREATE INDEX {sorted} ON records (({expr}), id) {only}")
                        }
                    },
                ));
            }
        }
    }
    let same = |name: &str, made_by: &Option<String>| {
        wanted
            .iter()
            .any(|(w, sql)| w == name && made_by.as_deref() == Some(sql.as_str()))
    };
    let mut changed = 0;
    for (name, _) in existing.iter().filter(|(n, sql)| !same(n, sql)) {
        c.execute(format!("DROP INDEX {name}").as_str()).await?;
        changed += 1;
    }
    let kept = |name: &str| existing.iter().any(|(n, sql)| n == name && same(n, sql));
    for (name, sql) in wanted.iter().filter(|(w, _)| !kept(w)) {
        tracing::info!(index = %name, "creating the index of a declared field");
        c.execute(sql.as_str()).await?;
        if backend == Backend::Postgres {
            // The statement itself, quoted as a literal: it holds single quotes.
            let comment = format!("COMMENT ON INDEX {name} IS '{}'", sql.replace('\'', "''"));
            c.execute(comment.as_str()).await?;
        }
        changed += 1;
    }
    Ok(changed)
}
