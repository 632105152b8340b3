//! The scratch database a benchmark runs on: opened, migrated, refused unless empty.

use std::sync::Arc;

use itsm_app::{App, Ctx, Settings, SystemClock};

use crate::error::CliError;

/// Opens and migrates a benchmark's database, which must be empty (no users, no organizations),
/// with the provider organization every benchmark needs.
pub async fn open_empty(database_url: &str, max_connections: u32) -> Result<App, CliError> {
    let app = App::connect(
        database_url,
        max_connections,
        Arc::new(SystemClock),
        Settings::default(),
    )
    .await
    .map_err(CliError::Open)?;
    app.migrate().await.map_err(CliError::Migrate)?;
    let sys = Ctx::system();
    if app.has_users().await? || !app.organizations(&sys).await?.is_empty() {
        return Err(CliError::Refused(
            "the bench database must be empty; give a fresh database URL".into(),
        ));
    }
    app.add_organization(&sys, "Bench provider", "provider").await?;
    Ok(app)
}
