//! The text index of SQLite, kept up to date apart from the creations that feed it. (PostgreSQL
//! derives its search column from the row.)

use sqlx::AnyConnection;

use crate::backend::{backend_of, Backend};
use crate::Result;

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
        "INSERT INTO records_fts (rowid, title, description) \
         SELECT r.id, r.title, r.description FROM records_fts_pending p CROSS JOIN records r ON r.id = p.record_id",
    )
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM records_fts_pending")
        .execute(&mut *c)
        .await?;
    Ok(pending as u64)
}
