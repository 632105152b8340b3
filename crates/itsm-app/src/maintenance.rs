//! Opening the database and looking after it: what the binary and the health checks ask of the
//! store, through the application layer, so that nothing above it holds a connection.

use std::sync::Arc;
use std::time::Duration;

use itsm_storage::{StorageError, Store, StoreOptions, Upkeep};

use crate::{App, Clock, Result, Settings};

impl App {
    /// Opens the database at `url` (`sqlite://...` or `postgres://...`) with at most
    /// `max_connections`. An unreachable server is said at once, with its address.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> std::result::Result<App, StorageError> {
        let store = Store::connect(
            url,
            &StoreOptions {
                max_connections,
                ..StoreOptions::default()
            },
        )
        .await?;
        Ok(App::new(store, clock, settings))
    }

    /// Brings the schema up to date; safe on every start and from several nodes at once.
    pub async fn migrate(&self) -> std::result::Result<(), StorageError> {
        self.store().migrate().await
    }

    /// Whether anyone was added yet (`serve --demo` loads the demo only into an empty database).
    pub async fn has_users(&self) -> Result<bool> {
        let mut c = self.store().read().await?;
        Ok(itsm_storage::people::any_user(&mut c).await?)
    }

    /// Whether the database answers, for the readiness check.
    pub async fn ready(&self) -> Result<()> {
        Ok(self.store().ping().await?)
    }

    /// The name of the database behind the app, for reports: `SQLite` or `PostgreSQL`.
    pub fn database_name(&self) -> &'static str {
        self.store().backend().name()
    }

    /// SQLite's regular upkeep (new records' text into the search index, the log checkpointed
    /// while nobody writes); nothing on PostgreSQL.
    pub async fn upkeep(&self) -> Result<Upkeep> {
        Ok(self.store().upkeep().await?)
    }

    /// Copies what it can of SQLite's write-ahead log into the database from a connection of its
    /// own; answers the pages left. Nothing on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<i64> {
        Ok(self.store().checkpoint().await?)
    }

    /// After a bulk load: the planner's statistics, as autovacuum would have them by the time
    /// such a database is in use (`vacuum`: also reclaim and mark pages all-visible).
    pub async fn refresh_statistics(&self, vacuum: bool) -> Result<Duration> {
        let started = std::time::Instant::now();
        if vacuum {
            self.store().vacuum_analyze().await?;
        } else {
            self.store().analyze().await?;
        }
        Ok(started.elapsed())
    }

    /// Closes the connections (a second app over the same database in a test, a clean stop).
    pub async fn close(&self) {
        self.store().close().await;
    }
}
