//! Fresh databases for tests: an SQLite file in the temporary folder, or a new PostgreSQL database
//! on the server named by `ITSM_TEST_POSTGRES_URL` (default: the local server as user `postgres`).
//! Each test gets its own, so tests run in parallel without seeing each other's rows.

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, Connection, Executor};

use crate::{Backend, Result, Store, StoreOptions};

/// The PostgreSQL server tests use when `ITSM_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_TEST_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("itsm_test_{}_{}_{}", std::process::id(), nanos, n)
}

/// A migrated, empty database of the given backend, dropped by [`TestDb::cleanup`].
pub struct TestDb {
    pub store: Store,
    pub url: String,
    backend: Backend,
    name: String,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Result<TestDb> {
        sqlx::any::install_default_drivers();
        let name = unique_name();
        let url = match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                format!("sqlite://{}", path.display())
            }
            Backend::Postgres => {
                let admin = std::env::var("ITSM_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES.to_owned());
                let mut c = AnyConnection::connect(&admin).await?;
                c.execute(format!("CREATE DATABASE {name}").as_str()).await?;
                c.close().await?;
                match admin.rsplit_once('/') {
                    Some((server, _)) => format!("{server}/{name}"),
                    None => admin,
                }
            }
        };
        let store = Store::connect(
            &url,
            &StoreOptions {
                max_connections: 8,
                ..Default::default()
            },
        )
        .await?;
        store.migrate().await?;
        Ok(TestDb {
            store,
            url,
            backend,
            name,
        })
    }

    /// Closes the pools and removes the database.
    pub async fn cleanup(self) {
        self.store.close().await;
        match self.backend {
            Backend::Sqlite => {
                let base = std::env::temp_dir().join(format!("{}.db", self.name));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", base.display()));
                }
            }
            Backend::Postgres => {
                let admin = std::env::var("ITSM_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_TEST_POSTGRES.to_owned());
                if let Ok(mut c) = AnyConnection::connect(&admin).await {
                    let _ = c
                        .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                        .await;
                }
            }
        }
    }
}
