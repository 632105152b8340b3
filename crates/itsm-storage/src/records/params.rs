//! Statements built at run time: their bound values, and whether a plan is made per call.

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};

use crate::backend::{backend_of, Backend};

/// Marks a query whose best plan depends on its parameters (a list page, a report, a replay
/// batch): PostgreSQL plans it afresh for each call as an unnamed statement, because a cached
/// generic plan of such a query can be many times slower (a replay batch took a second). Every
/// other statement keeps its prepared, cached plan: re-planning the token lookup and the view join
/// on every call cost more than running them. SQLite plans do not depend on parameters that way,
/// so there it stays prepared.
pub(crate) fn planned_per_call<'q>(
    c: &AnyConnection,
    q: Query<'q, Any, AnyArguments<'q>>,
) -> Query<'q, Any, AnyArguments<'q>> {
    q.persistent(backend_of(c) == Backend::Sqlite)
}

/// Placeholders for statements built at run time: `$1, $2, ...` on PostgreSQL and plain `?` on
/// SQLite. Numbered names cost SQLite a walk of its name list per parameter when sqlx binds them, which
/// makes a statement with thousands of parameters quadratic; anonymous ones bind in order for free.
/// Every placeholder must come from the same `Params`, in the order the values are bound.
pub(crate) struct Params {
    sqlite: bool,
    n: usize,
}

impl Params {
    pub(crate) fn new(c: &AnyConnection) -> Params {
        Params {
            sqlite: backend_of(c) == Backend::Sqlite,
            n: 0,
        }
    }

    pub(crate) fn next(&mut self) -> String {
        self.n += 1;
        if self.sqlite {
            "?".to_owned()
        } else {
            format!("${}", self.n)
        }
    }

    /// `k` placeholders separated by commas.
    pub(crate) fn list(&mut self, k: usize) -> String {
        (0..k).map(|_| self.next()).collect::<Vec<_>>().join(", ")
    }
}
