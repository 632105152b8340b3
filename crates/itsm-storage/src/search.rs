//! What a text search reads: a record's title, description and the text of its own fields that
//! its kind declares `searched`, kept in `search_text` by every write and rewritten here when the
//! declarations change; and the text index of SQLite, kept up to date apart from the creations
//! that feed it. (PostgreSQL derives its search column from the row.)

use sqlx::AnyConnection;

use itsm_domain::RecordKind;

use crate::backend::{backend_of, Backend};
use crate::records::fields::expression;
use crate::Result;

/// Rewrites the searched text of the records of each kind whose searched fields are not those
/// their text was made of (a field declared `searched` since, or no more), and notes the fields
/// each kind's text is now made of. Answers how many kinds it rewrote. A kind's first run with
/// no searched field writes nothing: the column's default is already its text.
pub(crate) async fn ensure_search_text(c: &mut AnyConnection, backend: Backend) -> Result<usize> {
    let stored: Vec<(String, String)> = sqlx::query_as("SELECT kind, fields FROM declared_search")
        .fetch_all(&mut *c)
        .await?;
    let mut rewritten = 0;
    for kind in RecordKind::all() {
        let searched: Vec<_> = kind.fields().iter().filter(|f| f.searched).collect();
        let names = searched.iter().map(|f| f.name).collect::<Vec<_>>().join(",");
        let was = stored.iter().find(|(k, _)| k == kind.as_str()).map(|(_, f)| f);
        if was == Some(&names) {
            continue;
        }
        if was.is_some() || !searched.is_empty() {
            // The same text as `RecordKind::search_text` writes, give or take a separator: a
            // search reads words. Kind names are identifiers the registry declares, never input.
            let text = searched
                .iter()
                .map(|f| format!("COALESCE({}, '')", expression(backend, "", f)))
                .chain(std::iter::once("''".to_owned()))
                .collect::<Vec<_>>()
                .join(" || ' ' || ");
            tracing::info!(kind = %kind, fields = %names, "rewriting the searched text of a kind");
            sqlx::query(&format!(
                "UPDATE records SET search_text = TRIM({text}) WHERE kind = '{}'",
                kind.as_str()
            ))
            .execute(&mut *c)
            .await?;
            rewritten += 1;
        }
        sqlx::query(
            "INSERT INTO declared_search (kind, fields) VALUES ($1, $2) \
             ON CONFLICT (kind) DO UPDATE SET fields = excluded.fields",
        )
        .bind(kind.as_str())
        .bind(&names)
        .execute(&mut *c)
        .await?;
    }
    Ok(rewritten)
}

/// SQLite: indexes the text of the records created since the last call, answering how many.
/// Creations only note a new record as pending: indexing it inside the creation's transaction
/// made one creation in a hundred wait 20-30 ms (migration `sqlite/0006`). Call it in a write
/// transaction of its own about once a second (`Store::upkeep`), and after a bulk
/// import. PostgreSQL derives its search column from the row; nothing to do.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn index_pending_search(c: &mut AnyConnection) -> Result<u64> {
    if backend_of(c) != Backend::Sqlite {
        return Ok(0);
    }
    let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM records_fts_pending")
        .fetch_one(&mut *c)
        .await?;
    if pending == 0 {
        return Ok(0);
    }
    // `CROSS JOIN` reads the pending records first (see `sqlite_text_condition`): left to choose,
    // SQLite read all 1,000,000 records to find 3,000 pending ones (250-370 ms).
    sqlx::query(
        "INSERT INTO records_fts (rowid, title, description, search_text) \
         SELECT r.id, r.title, r.description, r.search_text \
         FROM records_fts_pending p CROSS JOIN records r ON r.id = p.record_id",
    )
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM records_fts_pending")
        .execute(&mut *c)
        .await?;
    Ok(pending as u64)
}
