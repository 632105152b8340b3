//! Organizations, users, assignment groups, API tokens and sign-in sessions.

use itsm_domain::{GroupId, OrganizationId, Role, UserId};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{instant, micros, Result, StorageError};

/// An organization: the provider running the SMS, one of its customers, or a supplier.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub kind: String,
    pub created_at: jiff::Timestamp,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_organization(
    c: &mut AnyConnection,
    name: &str,
    kind: &str,
    now: jiff::Timestamp,
) -> Result<Organization> {
    let id: i64 =
        sqlx::query("INSERT INTO organizations (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(name)
            .bind(kind)
            .bind(micros(now))
            .fetch_one(&mut *c)
            .await?
            .try_get(0)?;
    Ok(Organization {
        id: OrganizationId(id),
        name: name.to_owned(),
        kind: kind.to_owned(),
        created_at: now,
    })
}

fn org_from_row(r: &AnyRow) -> Result<Organization> {
    Ok(Organization {
        id: OrganizationId(r.try_get(0)?),
        name: r.try_get(1)?,
        kind: r.try_get(2)?,
        created_at: instant(r.try_get(3)?)?,
    })
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn organizations(c: &mut AnyConnection) -> Result<Vec<Organization>> {
    let rows = sqlx::query("SELECT id, name, kind, created_at FROM organizations ORDER BY name LIMIT 1000")
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(org_from_row).collect()
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn organization_by_name(c: &mut AnyConnection, name: &str) -> Result<Option<Organization>> {
    let row = sqlx::query("SELECT id, name, kind, created_at FROM organizations WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(org_from_row).transpose()
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn organization(c: &mut AnyConnection, id: OrganizationId) -> Result<Option<Organization>> {
    let row = sqlx::query("SELECT id, name, kind, created_at FROM organizations WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(org_from_row).transpose()
}

/// The provider organization, once it exists.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn provider(c: &mut AnyConnection) -> Result<Option<Organization>> {
    let row = sqlx::query("SELECT id, name, kind, created_at FROM organizations WHERE kind = 'provider'")
        .fetch_optional(&mut *c)
        .await?;
    row.as_ref().map(org_from_row).transpose()
}

/// A user account.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub organization_id: OrganizationId,
    pub role: Role,
    pub disabled: bool,
    pub created_at: jiff::Timestamp,
}

/// A new user account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: &'a str,
    pub organization_id: OrganizationId,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.email, u.organization_id, u.role, u.disabled, u.created_at";

fn user_from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get(5)?;
    Ok(User {
        id: UserId(r.try_get(0)?),
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        email: r.try_get(3)?,
        organization_id: OrganizationId(r.try_get(4)?),
        role: Role::parse(&role).ok_or_else(|| StorageError::Corrupt(format!("unknown role {role}")))?,
        disabled: r.try_get::<i64, _>(6)? != 0,
        created_at: instant(r.try_get(7)?)?,
    })
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_user(c: &mut AnyConnection, u: &NewUser<'_>, now: jiff::Timestamp) -> Result<User> {
    let id: i64 = sqlx::query(
        "INSERT INTO users (username, display_name, email, organization_id, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(u.username)
    .bind(u.display_name)
    .bind(u.email)
    .bind(u.organization_id.0)
    .bind(u.role.as_str())
    .bind(u.password_hash)
    .bind(micros(now))
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    Ok(User {
        id: UserId(id),
        username: u.username.to_owned(),
        display_name: u.display_name.to_owned(),
        email: u.email.to_owned(),
        organization_id: u.organization_id,
        role: u.role,
        disabled: false,
        created_at: now,
    })
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn user(c: &mut AnyConnection, id: UserId) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *c).await?;
    row.as_ref().map(user_from_row).transpose()
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn user_by_username(c: &mut AnyConnection, username: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.username = $1");
    let row = sqlx::query(&sql).bind(username).fetch_optional(&mut *c).await?;
    row.as_ref().map(user_from_row).transpose()
}

/// A user and their password hash, for signing in.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn credentials(c: &mut AnyConnection, username: &str) -> Result<Option<(User, Option<String>)>> {
    let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1");
    let row = sqlx::query(&sql).bind(username).fetch_optional(&mut *c).await?;
    match row {
        Some(r) => Ok(Some((user_from_row(&r)?, r.try_get(8)?))),
        None => Ok(None),
    }
}

/// Users, by display name; optionally only one organization's.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn users(
    c: &mut AnyConnection,
    organization: Option<OrganizationId>,
    limit: u32,
) -> Result<Vec<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE ($1 IS NULL OR u.organization_id = $1) ORDER BY u.display_name, u.id LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(organization.map(|o| o.0))
        .bind(i64::from(limit.clamp(1, 5000)))
        .fetch_all(&mut *c)
        .await?;
    rows.iter().map(user_from_row).collect()
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_user_disabled(c: &mut AnyConnection, id: UserId, disabled: bool) -> Result<()> {
    let done = sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StorageError::NotFound);
    }
    Ok(())
}

/// An assignment group: a team that incidents and other work are assigned to.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentGroup {
    pub id: GroupId,
    pub name: String,
    pub description: String,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_group(
    c: &mut AnyConnection,
    name: &str,
    description: &str,
    now: jiff::Timestamp,
) -> Result<AssignmentGroup> {
    let id: i64 = sqlx::query(
        "INSERT INTO assignment_groups (name, description, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(description)
    .bind(micros(now))
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    Ok(AssignmentGroup {
        id: GroupId(id),
        name: name.to_owned(),
        description: description.to_owned(),
    })
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn groups(c: &mut AnyConnection) -> Result<Vec<AssignmentGroup>> {
    let rows = sqlx::query("SELECT id, name, description FROM assignment_groups ORDER BY name LIMIT 1000")
        .fetch_all(&mut *c)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AssignmentGroup {
                id: GroupId(r.try_get(0)?),
                name: r.try_get(1)?,
                description: r.try_get(2)?,
            })
        })
        .collect()
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn group(c: &mut AnyConnection, id: GroupId) -> Result<Option<AssignmentGroup>> {
    let row = sqlx::query("SELECT id, name, description FROM assignment_groups WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *c)
        .await?;
    row.map(|r| {
        Ok(AssignmentGroup {
            id: GroupId(r.try_get(0)?),
            name: r.try_get(1)?,
            description: r.try_get(2)?,
        })
    })
    .transpose()
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_member(c: &mut AnyConnection, group: GroupId, user: UserId) -> Result<()> {
    sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)")
        .bind(group.0)
        .bind(user.0)
        .execute(&mut *c)
        .await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn is_member(c: &mut AnyConnection, group: GroupId, user: UserId) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND user_id = $2")
            .bind(group.0)
            .bind(user.0)
            .fetch_one(&mut *c)
            .await?;
    Ok(n > 0)
}

/// Members of a group, by display name.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn members(c: &mut AnyConnection, group: GroupId) -> Result<Vec<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN group_members m ON m.user_id = u.id \
         WHERE m.group_id = $1 ORDER BY u.display_name LIMIT 1000"
    );
    let rows = sqlx::query(&sql).bind(group.0).fetch_all(&mut *c).await?;
    rows.iter().map(user_from_row).collect()
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_token(
    c: &mut AnyConnection,
    user: UserId,
    name: &str,
    token_hash: &str,
    now: jiff::Timestamp,
) -> Result<i64> {
    let id = sqlx::query(
        "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(user.0)
    .bind(name)
    .bind(token_hash)
    .bind(micros(now))
    .fetch_one(&mut *c)
    .await?
    .try_get(0)?;
    Ok(id)
}

/// The user an unrevoked API token belongs to.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn user_by_token(c: &mut AnyConnection, token_hash: &str) -> Result<Option<User>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
    );
    let row = sqlx::query(&sql).bind(token_hash).fetch_optional(&mut *c).await?;
    row.as_ref().map(user_from_row).transpose()
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn insert_session(
    c: &mut AnyConnection,
    id_hash: &str,
    user: UserId,
    csrf: &str,
    now: jiff::Timestamp,
    expires: jiff::Timestamp,
) -> Result<()> {
    sqlx::query("INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id_hash)
        .bind(user.0)
        .bind(csrf)
        .bind(micros(now))
        .bind(micros(expires))
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The user of an unexpired session and the session's CSRF token.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn session(
    c: &mut AnyConnection,
    id_hash: &str,
    now: jiff::Timestamp,
) -> Result<Option<(User, String)>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2"
    );
    let row = sqlx::query(&sql)
        .bind(id_hash)
        .bind(micros(now))
        .fetch_optional(&mut *c)
        .await?;
    match row {
        Some(r) => Ok(Some((user_from_row(&r)?, r.try_get(8)?))),
        None => Ok(None),
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_session(c: &mut AnyConnection, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *c)
        .await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_expired_sessions(c: &mut AnyConnection, now: jiff::Timestamp) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(micros(now))
        .execute(&mut *c)
        .await?;
    Ok(done.rows_affected())
}

/// Whether the database holds any user yet; `serve --demo` loads demo data into an empty one.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn any_user(c: &mut AnyConnection) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1) x")
        .fetch_one(&mut *c)
        .await?;
    Ok(n > 0)
}
