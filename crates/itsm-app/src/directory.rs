//! The directory: organizations and assignment groups, and the lists the UI offers in its pickers.

use itsm_domain::access::Permission;
use itsm_domain::{GroupId, UserId, ValidationError};
use itsm_storage::audit::Subject;
use itsm_storage::people::{self, AssignmentGroup, Organization, User};
use itsm_storage::AnyConnection;

use crate::records::write_event;
use crate::{App, AppError, Ctx, Result};

const ORGANIZATION_KINDS: [&str; 3] = ["provider", "customer", "supplier"];

impl App {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_organization(&self, ctx: &Ctx, name: &str, kind: &str) -> Result<Organization> {
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let org = self.add_organization_in(&mut tx, ctx, name, kind, now).await?;
        tx.commit().await?;
        Ok(org)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn add_organization_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        name: &str,
        kind: &str,
        now: jiff::Timestamp,
    ) -> Result<Organization> {
        ctx.require(Permission::ManageUsers)?;
        let mut errors = ValidationError::new();
        let name = itsm_domain::validation::required_text(&mut errors, "name", name, 200);
        if !ORGANIZATION_KINDS.contains(&kind) {
            errors.add("kind", "must be provider, customer or supplier");
        }
        errors.into_result()?;
        let org = people::insert_organization(c, &name, kind, now)
            .await
            .map_err(|e| match e {
                itsm_storage::StorageError::Duplicate(_) if kind == "provider" => AppError::Conflict(
                    "there is already a provider organization, or one with this name".into(),
                ),
                other => other.into(),
            })?;
        let changes = [
            itsm_domain::FieldChange {
                field: "name".into(),
                old: serde_json::Value::Null,
                new: name.clone().into(),
            },
            itsm_domain::FieldChange {
                field: "kind".into(),
                old: serde_json::Value::Null,
                new: kind.into(),
            },
        ];
        write_event(
            c,
            ctx,
            Subject::Organization(org.id.0),
            "created",
            now,
            String::new(),
            &changes,
        )
        .await?;
        Ok(org)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub(crate) async fn add_group_in(
        &self,
        c: &mut AnyConnection,
        ctx: &Ctx,
        name: &str,
        description: &str,
        members: &[UserId],
        now: jiff::Timestamp,
    ) -> Result<AssignmentGroup> {
        ctx.require(Permission::ManageUsers)?;
        let mut errors = ValidationError::new();
        let name = itsm_domain::validation::required_text(&mut errors, "name", name, 200);
        errors.into_result()?;
        let group = people::insert_group(c, &name, description, now).await?;
        for m in members {
            people::add_member(c, group.id, *m).await?;
        }
        let ids: Vec<i64> = members.iter().map(|m| m.0).collect();
        let changes = [
            itsm_domain::FieldChange {
                field: "name".into(),
                old: serde_json::Value::Null,
                new: name.into(),
            },
            itsm_domain::FieldChange {
                field: "members".into(),
                old: serde_json::Value::Null,
                new: ids.into(),
            },
        ];
        write_event(
            c,
            ctx,
            Subject::AssignmentGroup(group.id.0),
            "created",
            now,
            String::new(),
            &changes,
        )
        .await?;
        Ok(group)
    }

    /// Creates an assignment group with members named by user name; members must be staff.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_group(
        &self,
        ctx: &Ctx,
        name: &str,
        description: &str,
        members: &[String],
    ) -> Result<AssignmentGroup> {
        ctx.require(Permission::ManageUsers)?;
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let mut ids = Vec::new();
        for m in members {
            match people::user_by_username(&mut tx, m).await? {
                Some(u) if u.role.is_staff() => ids.push(u.id),
                Some(_) => {
                    return Err(ValidationError::field(
                        "members",
                        format!("`{m}` is not staff of the provider"),
                    )
                    .into())
                }
                None => return Err(ValidationError::field("members", format!("no user `{m}`")).into()),
            }
        }
        let group = self
            .add_group_in(&mut tx, ctx, name, description, &ids, now)
            .await
            .map_err(|e| match e {
                AppError::Conflict(_) => AppError::Invalid(ValidationError::field(
                    "name",
                    format!("a group named `{name}` exists"),
                )),
                other => other,
            })?;
        tx.commit().await?;
        Ok(group)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn organizations(&self, ctx: &Ctx) -> Result<Vec<Organization>> {
        ctx.require(Permission::ReadDirectory)?;
        let mut c = self.store().read().await?;
        Ok(people::organizations(&mut c).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn groups(&self, ctx: &Ctx) -> Result<Vec<AssignmentGroup>> {
        ctx.require(Permission::ReadDirectory)?;
        let mut c = self.store().read().await?;
        Ok(people::groups(&mut c).await?)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn group_members(&self, ctx: &Ctx, group: GroupId) -> Result<Vec<User>> {
        ctx.require(Permission::ReadDirectory)?;
        let mut c = self.store().read().await?;
        Ok(people::members(&mut c, group).await?)
    }

    /// Users, optionally of one organization. Customers see the people of their own organization.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn users(
        &self,
        ctx: &Ctx,
        organization: Option<itsm_domain::OrganizationId>,
    ) -> Result<Vec<User>> {
        let org = match ctx.actor() {
            Some(a) if !a.role.is_staff() => Some(a.organization_id),
            _ => {
                ctx.require(Permission::ReadDirectory)?;
                organization
            }
        };
        let mut c = self.store().read().await?;
        Ok(people::users(&mut c, org, 2000).await?)
    }

    /// The signed-in user's own account.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn me(&self, ctx: &Ctx) -> Result<User> {
        let id = ctx.user_id().ok_or(AppError::Unauthenticated)?;
        let mut c = self.store().read().await?;
        people::user(&mut c, id).await?.ok_or(AppError::Unauthenticated)
    }
}
