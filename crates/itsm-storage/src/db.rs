//! Connecting, migrating and handing out connections and transactions.

use std::str::FromStr;
use std::time::Duration;

use itsm_domain::RecordKind;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Transaction};

use crate::backend::Backend;
use crate::Result;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How a store is best written to. The figures behind each choice were measured with `itsm bench`
/// (16 clients creating incidents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteShape {
    /// Write transactions that may usefully run at once: one on SQLite, which has one writer
    /// anyway; several on PostgreSQL, where a transaction spends most of its time waiting for the
    /// server's answers and others can run meanwhile.
    pub turns: usize,
    /// Whether a creation's references are best read before it joins the writer's queue. On
    /// SQLite the one writer is the bottleneck and reads run beside it (checking in the writer:
    /// 3,510-3,660 creations/s against 4,080-4,340/s). On PostgreSQL each statement costs the
    /// server about as much as the rows it reads, so one query for the whole group in the
    /// writer's transaction beats a statement per creation (2,570-2,710/s against 3,120-3,320/s).
    pub check_references_first: bool,
}

/// Pool sizes and time-outs.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// The database handle the application holds. Cheap to clone.
///
/// SQLite allows one writer at a time, so for SQLite writes go through a pool of exactly one
/// connection (writers queue in the pool instead of spinning on `SQLITE_BUSY`) and reads through a
/// separate read-only pool; on PostgreSQL both are the same pool.
#[derive(Debug, Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    /// SQLite: the connection that copies most of the write-ahead log back into the database file
    /// between two runs of `upkeep`, waiting for nobody (`checkpoint`).
    checkpointer: Option<AnyPool>,
    backend: Backend,
    /// How to open more PostgreSQL connections (see `for_own_runtime`).
    postgres: Option<(AnyConnectOptions, Duration)>,
}

/// What one run of `Store::upkeep` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Upkeep {
    /// Records whose text it indexed for search.
    pub indexed: u64,
    /// Pages the write-ahead log still holds that are not in the database file: a reader still
    /// using them keeps them there until a later run.
    pub log_left: i64,
}

/// A connection borrowed for reads outside a transaction.
pub type Conn = PoolConnection<Any>;

/// A write transaction. Everything done through it commits or rolls back together.
pub type Tx = Transaction<'static, Any>;

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://...`). An SQLite file is created if missing.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| {
            crate::StorageError::Database(sqlx::Error::Configuration(
                format!("unsupported database URL `{url}`: use sqlite://... or postgres://...").into(),
            ))
        })?;
        match backend {
            Backend::Sqlite => {
                let url = if url.contains('?') {
                    url.to_owned()
                } else {
                    format!("{url}?mode=rwc")
                };
                let connect = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
                // An SQLite connection lives in this process and cannot drop away, so the pools
                // skip the ping that tests a connection before lending it (a thread round trip).
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .acquire_timeout(options.acquire_timeout)
                    .after_connect(|c, _| Box::pin(async move { sqlite_pragmas(c, false).await }))
                    .connect_with(connect.clone())
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .test_before_acquire(false)
                    .acquire_timeout(options.acquire_timeout)
                    .after_connect(|c, _| Box::pin(async move { sqlite_pragmas(c, true).await }))
                    .connect_lazy_with(connect.clone());
                let checkpointer = AnyPoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .acquire_timeout(options.acquire_timeout)
                    .after_connect(|c, _| Box::pin(async move { sqlite_pragmas(c, false).await }))
                    .connect_lazy_with(connect);
                Ok(Store {
                    read,
                    write,
                    checkpointer: Some(checkpointer),
                    backend,
                    postgres: None,
                })
            }
            Backend::Postgres => {
                let connect = AnyConnectOptions::from_str(url)?.disable_statement_logging();
                // One connection first: the pool retries a refused connection until its acquire
                // time-out, so an unreachable server would be reported as a time-out, late.
                match connect.connect().await {
                    Ok(c) => c.close().await?,
                    Err(source @ sqlx::Error::Io(_)) => {
                        return Err(crate::StorageError::Unreachable {
                            address: server_address(url).to_owned(),
                            source,
                        })
                    }
                    Err(e) => return Err(e.into()),
                }
                let pool = postgres_pool(options.max_connections, options.acquire_timeout, Plans::Chosen)
                    .connect_with(connect.clone())
                    .await?;
                Ok(Store {
                    read: pool.clone(),
                    write: pool,
                    checkpointer: None,
                    backend,
                    postgres: Some((connect, options.acquire_timeout)),
                })
            }
        }
    }

    /// The store for a thread that runs a runtime of its own (the group-commit writer); call it
    /// on that runtime. On PostgreSQL it is a pool of its own with up to `connections`, whose
    /// sockets that runtime drives: a socket registered with the request runtime is polled only
    /// when that runtime's busy workers get to it, which under load left each of the writer's
    /// transactions idle most of its time. On SQLite it is this store, as all writers must share
    /// the one write connection.
    pub fn for_own_runtime(&self, connections: u32) -> Store {
        match &self.postgres {
            Some((connect, acquire_timeout)) => {
                let pool = postgres_pool(connections, *acquire_timeout, Plans::Generic)
                    .connect_lazy_with(connect.clone());
                Store {
                    read: pool.clone(),
                    write: pool,
                    checkpointer: None,
                    backend: self.backend,
                    postgres: self.postgres.clone(),
                }
            }
            None => self.clone(),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// How this store is best written to, for the write path's choices.
    pub fn write_shape(&self) -> WriteShape {
        match self.backend {
            // One writer: more turns only queue for it, and reads run beside it.
            Backend::Sqlite => WriteShape {
                turns: 1,
                check_references_first: true,
            },
            Backend::Postgres => WriteShape {
                turns: 4,
                check_references_first: false,
            },
        }
    }

    /// Brings the schema up to date. Safe to run on every start and from several nodes at once
    /// (sqlx takes an advisory lock on PostgreSQL).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => {
                let applied = || async {
                    let mut c = self.write.acquire().await?;
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM sqlite_master WHERE name = '_sqlx_migrations'",
                    )
                    .fetch_one(&mut *c)
                    .await?;
                    if n == 0 {
                        return Ok::<i64, sqlx::Error>(0);
                    }
                    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
                        .fetch_one(&mut *c)
                        .await
                };
                let before = applied().await?;
                SQLITE_MIGRATIONS.run(&self.write).await?;
                // SQLite's planner knows an index's selectivity only from `ANALYZE`; a new index
                // without statistics looked so selective that searches chose it over the sort
                // index and took 0.8 s instead of 50 ms at 1,000,000 records.
                let mut c = self.write.acquire().await?;
                let created = crate::records::ensure_indexes(&mut c, Backend::Sqlite).await?;
                crate::search::ensure_search_text(&mut c, Backend::Sqlite).await?;
                drop(c);
                // Not on a new database: there is nothing to measure yet.
                if before > 0 && (applied().await? > before || created > 0) {
                    self.analyze().await?;
                }
            }
            Backend::Postgres => {
                POSTGRES_MIGRATIONS.run(&self.write).await?;
                let mut c = self.write.acquire().await?;
                for kind in RecordKind::all() {
                    let sql = format!("CREATE SEQUENCE IF NOT EXISTS record_number_{}", kind.as_str());
                    c.execute(sql.as_str()).await?;
                }
                crate::search::ensure_search_text(&mut c, Backend::Postgres).await?;
                if crate::records::ensure_indexes(&mut c, Backend::Postgres).await? > 0 {
                    c.execute("ANALYZE records").await?;
                }
            }
        }
        Ok(())
    }

    /// Refreshes the planner's statistics; run after a bulk load, before autovacuum (PostgreSQL) or
    /// `PRAGMA optimize` (SQLite) would get to it, so the first queries get good plans.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn analyze(&self) -> Result<()> {
        let mut c = self.write.acquire().await?;
        match self.backend {
            Backend::Sqlite => sqlite_analyze(&mut c).await?,
            Backend::Postgres => {
                c.execute("ANALYZE").await?;
            }
        }
        Ok(())
    }

    /// After a bulk load: what autovacuum does by the time such a database is in use. Statistics
    /// on both databases and, on PostgreSQL, the visibility map, without which every index-only
    /// scan also reads the table (a list walking 5,000 index entries read 5,000 table rows).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn vacuum_analyze(&self) -> Result<()> {
        let mut c = self.write.acquire().await?;
        match self.backend {
            Backend::Sqlite => sqlite_analyze(&mut c).await?,
            Backend::Postgres => {
                c.execute("VACUUM (ANALYZE)").await?;
            }
        };
        Ok(())
    }

    /// A connection for reading.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn read(&self) -> Result<Conn> {
        Ok(self.read.acquire().await?)
    }

    /// Starts a write transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.backend {
            // IMMEDIATE takes the write lock up front, so a transaction that reads and then writes
            // cannot fail half-way because another writer slipped in between.
            Backend::Sqlite => self.write.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.write.begin().await?,
        })
    }

    /// SQLite: copies what the write-ahead log holds back into the database file, as far as
    /// readers allow, from a connection of its own and without waiting for anyone (`PASSIVE`).
    /// A server runs it half-way between two runs of `upkeep`, so that the upkeep's checkpoint,
    /// which creations wait for, has only half a second of log left to copy. It cannot start the
    /// log over itself: the writer keeps adding to it meanwhile. PostgreSQL: nothing to do.
    ///
    /// Answers how many pages the log still holds that are not in the database file.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn checkpoint(&self) -> Result<i64> {
        let Some(pool) = &self.checkpointer else {
            return Ok(0);
        };
        let mut c = pool.acquire().await?;
        checkpoint_on(&mut c).await
    }

    /// SQLite's upkeep, which a server runs every second: indexes the text of the records created
    /// since the last run for search (see `search::index_pending_search`), then checkpoints the
    /// write-ahead log, both on the write connection, so that creations wait for them once, together.
    ///
    /// The checkpoint is here because only one that runs while nobody writes can copy the whole
    /// log back, and only then does the next write start the log over. Checkpoints from a
    /// connection of their own, waiting for nobody, never caught up with a steady stream of
    /// creations, so the writer's automatic checkpoint (past `WRITER_CHECKPOINT_PAGES`) ran inside
    /// a group commit twice a second, and the side checkpoint's own disk syncs held the writer up
    /// 50 ms each at 1,000,000 incidents. PostgreSQL needs neither.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn upkeep(&self) -> Result<Upkeep> {
        if self.backend != Backend::Sqlite {
            return Ok(Upkeep::default());
        }
        let mut c = self.write.acquire().await?;
        let started = std::time::Instant::now();
        let mut tx = sqlx::Connection::begin_with(&mut *c, "BEGIN IMMEDIATE").await?;
        let indexed = crate::search::index_pending_search(&mut tx).await?;
        tx.commit().await?;
        let indexing = started.elapsed();
        let log_left = checkpoint_on(&mut c).await?;
        tracing::debug!(
            indexed,
            log_left,
            indexing_micros = indexing.as_micros() as u64,
            checkpoint_micros = (started.elapsed() - indexing).as_micros() as u64,
            "upkeep"
        );
        Ok(Upkeep { indexed, log_left })
    }

    /// Whether the database answers; used by `/readyz`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.read.acquire().await?;
        sqlx::query("SELECT 1").execute(&mut *c).await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// How a PostgreSQL pool's connections plan their prepared statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plans {
    /// PostgreSQL's own choice between a plan per call and one generic plan.
    Chosen,
    /// Always the generic plan: for the group-commit writer, which runs a fixed set of statements
    /// whose best plan does not depend on their parameters. Left to choose, PostgreSQL planned the
    /// id reservation anew for every group (its row estimate follows the group's size), a
    /// twentieth of the server's time under 16 creating clients.
    Generic,
}

/// The host and port of a database URL, without the user name, password or database, for
/// messages.
/// `ANALYZE` on SQLite, then a change of the schema, so that every open connection reads the new
/// statistics. A connection reads them with the schema and keeps them until the schema changes,
/// which a first `ANALYZE` (creating `sqlite_stat1`) does and a later one does not: read
/// connections opened before a bulk load went on planning lists as if the table were empty (p95
/// 1.2 s for a list an index serves, at 1,000,000 incidents).
async fn sqlite_analyze(c: &mut AnyConnection) -> Result<(), sqlx::Error> {
    c.execute("ANALYZE").await?;
    c.execute("CREATE TABLE IF NOT EXISTS statistics_epoch (x INTEGER)")
        .await?;
    c.execute("DROP TABLE statistics_epoch").await?;
    Ok(())
}

fn server_address(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, host)| host)
}

fn postgres_pool(max_connections: u32, acquire_timeout: Duration, plans: Plans) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        // JIT compilation pays off for long analytical queries, not for these: a batch query whose
        // estimate crossed the threshold spent 140 ms compiling to run for 40 ms. (Which statements
        // keep cached plans: `planned_per_call`.)
        .after_connect(move |c, _| {
            Box::pin(async move {
                c.execute("SET jit = off").await?;
                if plans == Plans::Generic {
                    c.execute("SET plan_cache_mode = force_generic_plan").await?;
                }
                Ok(())
            })
        })
}

/// Pages the SQLite write-ahead log may hold before the writer checkpoints it itself (4 KiB each:
/// 1 GiB): a safety net for when nothing runs `Store::upkeep`, which starts the log over every
/// second. At 1,000,000 incidents a second of creations wrote more than 64 MiB of log, and a limit
/// of 64 MiB had the writer checkpoint inside a group commit mid-second.
const WRITER_CHECKPOINT_PAGES: u32 = 262_144;

async fn sqlite_pragmas(c: &mut AnyConnection, read_only: bool) -> Result<(), sqlx::Error> {
    // WAL lets readers run beside the writer; NORMAL syncs at checkpoints, which in WAL mode still
    // never loses a committed transaction when the process is killed.
    c.execute("PRAGMA journal_mode = WAL").await?;
    c.execute("PRAGMA synchronous = NORMAL").await?;
    c.execute("PRAGMA foreign_keys = ON").await?;
    c.execute("PRAGMA busy_timeout = 10000").await?;
    // Memory-mapped reads keep the hot pages of a large database out of read() system calls;
    // temporary b-trees for sorting stay in memory. The writer keeps a large page cache of its
    // own. A reader's cache is emptied whenever its next transaction finds the database changed,
    // which under a stream of creations is every time: emptying 64 MiB caches that often held
    // up the writer (one creation in a hundred took 23-33 ms instead of 7-9 at 200,000
    // incidents, together with `Store::upkeep`), so readers keep SQLite's default 2 MiB.
    if read_only {
        c.execute("PRAGMA cache_size = -2000").await?;
    } else {
        c.execute("PRAGMA cache_size = -65536").await?;
    }
    c.execute("PRAGMA mmap_size = 268435456").await?;
    c.execute("PRAGMA temp_store = MEMORY").await?;
    if read_only {
        c.execute("PRAGMA query_only = ON").await?;
    } else {
        // See `Store::upkeep`; the log is cut back to this size when it starts over.
        c.execute(format!("PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}").as_str())
            .await?;
        // Large enough that a second's log is written over in place rather than regrown.
        c.execute("PRAGMA journal_size_limit = 268435456").await?;
    }
    Ok(())
}

/// A `PASSIVE` checkpoint on `c`: answers how many pages the log still holds that are not in the
/// database file.
async fn checkpoint_on(c: &mut AnyConnection) -> Result<i64> {
    // (busy, pages in the log, pages copied back); -1 when the database is not in WAL mode.
    let (_, in_log, copied): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(&mut *c)
        .await?;
    Ok((in_log - copied).max(0))
}

#[cfg(test)]
mod tests {
    use super::server_address;

    #[test]
    fn the_address_in_messages_leaves_out_credentials_and_database() {
        for (url, address) in [
            ("postgres://postgres@127.0.0.1:5432/itsm", "127.0.0.1:5432"),
            (
                "postgres://u:secret@db.example:6543/x?sslmode=require",
                "db.example:6543",
            ),
            ("postgres://db.example/itsm", "db.example"),
            ("postgres://u:p%40ss@h:1", "h:1"),
        ] {
            assert_eq!(server_address(url), address, "{url}");
        }
    }
}
