//! Reading records by id, by readable number, or all of some kinds.

use std::fmt::Write as _;

use itsm_domain::{RecordId, RecordKind, RecordNumber};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use super::params::Params;
use super::view::{view_from_row, RecordView, SELECT_VIEW};
use crate::batch::{bind_all, Bind};
use crate::Result;

/// Reads one record with its names.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(c: &mut AnyConnection, id: RecordId) -> Result<Option<RecordView>> {
    let sql = format!("{SELECT_VIEW} WHERE r.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *c).await?;
    row.as_ref().map(view_from_row).transpose()
}

/// Reads several records by id, in id order; ids that do not exist are left out.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_many(c: &mut AnyConnection, ids: &[RecordId]) -> Result<Vec<RecordView>> {
    select_by_ids(
        c,
        ids,
        |list| format!("{SELECT_VIEW} WHERE r.id IN ({list}) ORDER BY r.id"),
        view_from_row,
    )
    .await
}

/// Runs the query `sql` builds around an `IN` list of `ids` (512 at a time, so no statement meets
/// a placeholder limit) and parses every row it answers.
pub(crate) async fn select_by_ids<T>(
    c: &mut AnyConnection,
    ids: &[RecordId],
    sql: impl Fn(&str) -> String,
    parse: impl Fn(&AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(512) {
        // The list is padded to a power of two with the last id again, so a handful of statement
        // texts serve every size and each is prepared (and on PostgreSQL planned) once.
        let len = chunk.len().next_power_of_two();
        let mut p = Params::new(c);
        let sql = sql(&p.list(len));
        let last = chunk.last().map_or(0, |id| id.0);
        let binds: Vec<Bind> = chunk
            .iter()
            .map(|id| id.0)
            .chain(std::iter::repeat(last))
            .take(len)
            .map(|id| Bind::Int(Some(id)))
            .collect();
        let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(&mut *c).await?;
        for row in &rows {
            out.push(parse(row)?);
        }
    }
    Ok(out)
}

/// Every record of some kinds, up to `limit`, by id: for small reference sets such as agreements and
/// calendars, which are read whole.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn all_of_kinds(
    c: &mut AnyConnection,
    kinds: &[RecordKind],
    limit: u32,
) -> Result<Vec<RecordView>> {
    if kinds.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = format!("{SELECT_VIEW} WHERE r.kind IN (");
    for (i, _) in kinds.iter().enumerate() {
        let _ = write!(sql, "{}${}", if i > 0 { ", " } else { "" }, i + 1);
    }
    let _ = write!(sql, ") ORDER BY r.id LIMIT {limit}");
    let binds: Vec<Bind> = kinds
        .iter()
        .map(|k| Bind::Text(Some(k.as_str().to_owned())))
        .collect();
    let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(&mut *c).await?;
    rows.iter().map(view_from_row).collect()
}

/// Reads one record by its readable number.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_by_number(c: &mut AnyConnection, number: RecordNumber) -> Result<Option<RecordView>> {
    let sql = format!("{SELECT_VIEW} WHERE r.kind = $1 AND r.number = $2");
    let row = sqlx::query(&sql)
        .bind(number.kind.as_str())
        .bind(number.number)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(view_from_row).transpose()
}
