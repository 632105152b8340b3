//! The scratch database a benchmark runs on: opened, migrated, refused unless empty.

use std::sync::Arc;

use itsm_app::{App, Ctx, Settings, Store, StoreOptions, SystemClock};

use crate::error::CliError;

/// Opens and migrates a benchmark's database, which must be empty (no users, no organizations),
/// with the provider organization every benchmark needs.
pub async fn open_empty(database_url: &str, max_connections: u32) -> Result<App, CliError> {
    let store = Store::connect(
        database_url,
        &StoreOptions {
            max_connections,
            ..Default::default()
        },
    )
    .await?;
    store.migrate().await?;
    let app = App::new(store, Arc::new(SystemClock), Settings::default());
    let sys = Ctx::system();
    let mut c = app.store().read().await?;
    let users = itsm_app::has_users(&mut c).await?;
    drop(c);
    if users || !app.organizations(&sys).await?.is_empty() {
        return Err(CliError::Refused(
            "the bench database must be empty; give a fresh database URL".into(),
        ));
    }
    app.add_organization(&sys, "Bench provider", "provider").await?;
    Ok(app)
}
