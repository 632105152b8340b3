//! Accounts and credentials: users, API tokens, browser sessions and sign-in throttling.
//!
//! An API token is a random 256-bit secret stored only as its SHA-256 digest: it is unguessable, so a
//! fast hash is enough and every request stays cheap. Passwords are low-entropy and get argon2.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use itsm_domain::access::Permission;
use itsm_domain::{Actor, OrganizationId, Role, ValidationError};
use itsm_storage::audit::Subject;
use itsm_storage::people::{self, NewUser, Organization, User};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::records::write_event;
use crate::{App, AppError, Ctx, Result};

/// Every API token starts with this, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "itsm_";

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Setup(format!("cannot hash password: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

fn actor_of(u: &User) -> Actor {
    Actor {
        user_id: u.id,
        organization_id: u.organization_id,
        role: u.role,
    }
}

/// API tokens recently found valid, by digest, with when each was checked. A busy client sends many
/// requests a second with one token; without this each read the token table. An entry serves for
/// [`TOKEN_CACHE_TTL`] at most, so a token revoked or a user disabled elsewhere (another node, the
/// CLI) stops working within that time on every node; on this node disabling a user clears the
/// cache at once.
#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<String, (Actor, std::time::Instant)>>,
}

/// How long a token check is trusted.
pub(crate) const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// Entries kept at most; a full cache starts again empty rather than tracking use.
const TOKEN_CACHE_MAX: usize = 10_000;

impl TokenCache {
    fn get(&self, digest: &str) -> Option<Actor> {
        let entries = self.entries.lock().ok()?;
        let (actor, checked) = entries.get(digest)?;
        (checked.elapsed() < TOKEN_CACHE_TTL).then(|| actor.clone())
    }

    fn put(&self, digest: String, actor: Actor) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= TOKEN_CACHE_MAX {
                entries.clear();
            }
            entries.insert(digest, (actor, std::time::Instant::now()));
        }
    }

    pub(crate) fn clear(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// A new browser session: the cookie value and the CSRF token forms must carry.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub session_token: String,
    pub csrf_token: String,
    pub actor: Actor,
}

/// An open browser session: who it belongs to, the token its forms carry, the name to show.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub csrf_token: String,
    pub display_name: String,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Role,
    /// The organization by name; the provider when left out.
    pub organization: Option<String>,
    pub password: Option<String>,
}

fn valid_username(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

impl App {
    /// The actor an API token stands for.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn authenticate_token(&self, token: &str) -> Result<Actor> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Err(AppError::Unauthenticated);
        }
        let digest = digest(token);
        if let Some(actor) = self.inner.tokens.get(&digest) {
            return Ok(actor);
        }
        let mut c = self.store().read().await?;
        match people::user_by_token(&mut c, &digest).await? {
            Some(u) if !u.disabled => {
                let actor = actor_of(&u);
                self.inner.tokens.put(digest, actor.clone());
                Ok(actor)
            }
            _ => Err(AppError::Unauthenticated),
        }
    }

    /// Checks a password and opens a session. Every attempt is counted before its password is
    /// verified, per user name and per source address (see [`crate::throttle`]).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sign_in(&self, username: &str, password: &str, source: IpAddr) -> Result<SignIn> {
        let now = self.now();
        let s = self.settings();
        let attempt = self
            .inner
            .throttle
            .begin(username, source, now.as_second(), s.sign_in_limits())
            .map_err(|retry_after_secs| AppError::Throttled { retry_after_secs })?;
        let found = {
            let mut c = self.store().read().await?;
            people::credentials(&mut c, username).await?
        };
        let password = password.to_owned();
        let ok_user = match found {
            Some((user, Some(hash))) if !user.disabled => {
                let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                    .await
                    .unwrap_or(false);
                ok.then_some(user)
            }
            _ => {
                // Spend the same time on unknown names so timing does not reveal which exist.
                let _ = tokio::task::spawn_blocking(move || hash_password(&password)).await;
                None
            }
        };
        // A wrong password drops the attempt, which stays counted as the failure it is.
        let Some(user) = ok_user else {
            return Err(AppError::Unauthenticated);
        };
        self.inner.throttle.succeeded(attempt);
        let session_token = random_hex(32);
        let csrf_token = random_hex(16);
        let expires = now
            .checked_add(jiff::SignedDuration::from_hours(s.session_hours))
            .map_err(|e| AppError::Setup(e.to_string()))?;
        let mut tx = self.store().begin().await?;
        people::insert_session(
            &mut tx,
            &digest(&session_token),
            user.id,
            &csrf_token,
            now,
            expires,
        )
        .await?;
        tx.commit().await?;
        Ok(SignIn {
            session_token,
            csrf_token,
            actor: actor_of(&user),
        })
    }

    /// The actor of a browser session and its CSRF token.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn session(&self, session_token: &str) -> Result<Session> {
        if session_token.len() != 64 {
            return Err(AppError::Unauthenticated);
        }
        let mut c = self.store().read().await?;
        match people::session(&mut c, &digest(session_token), self.now()).await? {
            Some((u, csrf_token)) if !u.disabled => Ok(Session {
                actor: actor_of(&u),
                csrf_token,
                display_name: u.display_name,
            }),
            _ => Err(AppError::Unauthenticated),
        }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sign_out(&self, session_token: &str) -> Result<()> {
        let mut tx = self.store().begin().await?;
        people::delete_session(&mut tx, &digest(session_token)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a user. Staff belong to the provider organization, customers to a customer one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_user(&self, ctx: &Ctx, input: &NewUserInput) -> Result<User> {
        Ok(self.add_user_with_provider(ctx, input, None).await?.0)
    }

    /// Creates a user as [`App::add_user`] does; on a new installation without a provider
    /// organization, first creates it under `provider`, in the same transaction, so that a user
    /// refused leaves no organization behind. Answers the organization when it created one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_user_with_provider(
        &self,
        ctx: &Ctx,
        input: &NewUserInput,
        provider: Option<&str>,
    ) -> Result<(User, Option<Organization>)> {
        ctx.require(Permission::ManageUsers)?;
        let mut errors = ValidationError::new();
        if !valid_username(&input.username) {
            errors.add("username", "2 to 64 letters, digits or . _ - @");
        }
        let display = input
            .display_name
            .clone()
            .unwrap_or_else(|| input.username.clone());
        if display.trim().is_empty() || display.len() > 200 {
            errors.add("display_name", "must be 1 to 200 characters");
        }
        if let Some(p) = &input.password {
            if p.chars().count() < 8 {
                errors.add("password", "must be at least 8 characters");
            }
        }
        errors.into_result()?;
        let hash = match &input.password {
            Some(p) => {
                let p = p.clone();
                Some(
                    tokio::task::spawn_blocking(move || hash_password(&p))
                        .await
                        .map_err(|e| AppError::Setup(e.to_string()))??,
                )
            }
            None => None,
        };
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut founded = None;
        if let Some(name) = provider {
            let orgs = people::organizations(&mut tx).await?;
            if !orgs.iter().any(|o| o.kind == "provider") {
                founded = Some(
                    self.add_organization_in(&mut tx, ctx, name, "provider", now)
                        .await?,
                );
            }
        }
        let user = match self.add_user_in(&mut tx, ctx, input, hash.as_deref(), now).await {
            Ok(u) => u,
            Err(e) => {
                if founded.is_some() {
                    // It was read inside the transaction that is now rolled back.
                    self.forget_provider();
                }
                return Err(e);
            }
        };
        tx.commit().await?;
        Ok((user, founded))
    }

    /// Inserts a user with an already hashed password inside the caller's transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn add_user_in(
        &self,
        c: &mut itsm_storage::AnyConnection,
        ctx: &Ctx,
        input: &NewUserInput,
        password_hash: Option<&str>,
        now: jiff::Timestamp,
    ) -> Result<User> {
        ctx.require(Permission::ManageUsers)?;
        let display = input
            .display_name
            .clone()
            .unwrap_or_else(|| input.username.clone());
        let org = self
            .organization_for_role(c, input.role, input.organization.as_deref())
            .await?;
        let user = people::insert_user(
            c,
            &NewUser {
                username: &input.username,
                display_name: display.trim(),
                email: input.email.as_deref().unwrap_or(""),
                organization_id: org,
                role: input.role,
                password_hash,
            },
            now,
        )
        .await
        .map_err(|e| match e {
            itsm_storage::StorageError::Duplicate(_) => AppError::Invalid(ValidationError::field(
                "username",
                format!("`{}` is taken", input.username),
            )),
            other => other.into(),
        })?;
        let changes = [
            change("username", &user.username),
            change("display_name", &user.display_name),
            change("role", user.role.as_str()),
            itsm_domain::FieldChange {
                field: "organization_id".into(),
                old: serde_json::Value::Null,
                new: org.0.into(),
            },
        ];
        write_event(
            c,
            ctx,
            Subject::User(user.id.0),
            "created",
            now,
            String::new(),
            &changes,
        )
        .await?;
        Ok(user)
    }

    async fn organization_for_role(
        &self,
        c: &mut itsm_storage::AnyConnection,
        role: Role,
        name: Option<&str>,
    ) -> Result<OrganizationId> {
        match (role.is_staff(), name) {
            (true, None) => self.provider_id(c).await,
            (_, Some(name)) => {
                let org = people::organization_by_name(c, name).await?.ok_or_else(|| {
                    AppError::Invalid(ValidationError::field(
                        "organization",
                        format!("no organization named `{name}`"),
                    ))
                })?;
                if role.is_staff() != (org.kind == "provider") {
                    let msg = if role.is_staff() {
                        "staff roles belong to the provider organization"
                    } else {
                        "customers belong to a customer organization"
                    };
                    return Err(ValidationError::field("organization", msg).into());
                }
                Ok(org.id)
            }
            (false, None) => Err(ValidationError::field("organization", "required for customers").into()),
        }
    }

    /// Disables a user: their sessions stop working at once, their API tokens at once on this node
    /// and within [`TOKEN_CACHE_TTL`] on others.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn disable_user(&self, ctx: &Ctx, username: &str) -> Result<()> {
        ctx.require(Permission::ManageUsers)?;
        let mut tx = self.store().begin().await?;
        let user = people::user_by_username(&mut tx, username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("user `{username}`")))?;
        if user.disabled {
            return Ok(());
        }
        people::set_user_disabled(&mut tx, user.id, true).await?;
        self.inner.tokens.clear();
        let changes = [itsm_domain::FieldChange {
            field: "disabled".into(),
            old: false.into(),
            new: true.into(),
        }];
        write_event(
            &mut tx,
            ctx,
            Subject::User(user.id.0),
            "disabled",
            self.now(),
            String::new(),
            &changes,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Issues an API token for a user and returns it; only its digest is stored.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_token(&self, ctx: &Ctx, username: &str, name: &str) -> Result<String> {
        let mut tx = self.store().begin().await?;
        let user = people::user_by_username(&mut tx, username)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("user `{username}`")))?;
        if ctx.user_id() != Some(user.id) {
            ctx.require(Permission::ManageUsers)?;
        }
        if user.disabled {
            return Err(ValidationError::field("user", "the user is disabled").into());
        }
        let token = format!("{TOKEN_PREFIX}{}", random_hex(32));
        let now = self.now();
        let id = people::insert_token(&mut tx, user.id, name, &digest(&token), now).await?;
        write_event(
            &mut tx,
            ctx,
            Subject::ApiToken(id),
            "created",
            now,
            format!("API token `{name}` for {username}"),
            &[],
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }
}

fn change(field: &str, new: &str) -> itsm_domain::FieldChange {
    itsm_domain::FieldChange {
        field: field.into(),
        old: serde_json::Value::Null,
        new: new.into(),
    }
}

#[cfg(test)]
mod tests {
    // A panic is how a test fails.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::{Settings, SystemClock};
    use itsm_domain::access::Role;
    use itsm_storage::testing::TestDb;
    use itsm_storage::Backend;
    use std::sync::Arc;

    /// A token checked once is trusted for a second: disabling its user stops it at once on the
    /// node that disabled it, and within that second on another node that had checked it.
    #[tokio::test]
    async fn a_disabled_users_token_stops_at_once_here_and_within_a_second_elsewhere() {
        let db = TestDb::new(Backend::Sqlite).await.expect("test database");
        let here = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
        let elsewhere = App::new(db.store.clone(), Arc::new(SystemClock), Settings::default());
        let sys = Ctx::system();
        here.add_organization(&sys, "Acme", "provider").await.unwrap();
        let input = NewUserInput {
            username: "ann".into(),
            display_name: None,
            email: None,
            role: Role::Agent,
            organization: None,
            password: None,
        };
        here.add_user(&sys, &input).await.unwrap();
        let token = here.create_token(&sys, "ann", "test").await.unwrap();
        let ann = here.authenticate_token(&token).await.unwrap();
        assert_eq!(ann, elsewhere.authenticate_token(&token).await.unwrap());

        here.disable_user(&sys, "ann").await.unwrap();
        assert!(matches!(
            here.authenticate_token(&token).await,
            Err(AppError::Unauthenticated)
        ));
        // The other node still trusts its recent check, but not for longer than the cache's life.
        assert!(elsewhere.authenticate_token(&token).await.is_ok());
        tokio::time::sleep(TOKEN_CACHE_TTL + std::time::Duration::from_millis(50)).await;
        assert!(matches!(
            elsewhere.authenticate_token(&token).await,
            Err(AppError::Unauthenticated)
        ));
        db.cleanup().await;
    }
}
