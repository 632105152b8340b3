//! What the incident forms offer to choose from: groups, people, organizations, services,
//! offerings and configuration items, loaded once per page, and the levels and categories.

use itsm_app::model::{PageRequest, RecordFilter, SortField};
use itsm_app::AppError;
use itsm_domain::access::Permission;
use itsm_domain::incident::{Level, CATEGORIES};
use itsm_domain::RecordKind;

use super::frame::{humane, opt, Opt};
use crate::caller::UiUser;
use crate::AppState;

/// Pickers' contents, loaded once per page.
pub(super) struct Directory {
    pub(super) groups: Vec<(i64, String)>,
    pub(super) staff: Vec<(i64, String)>,
    pub(super) people: Vec<(i64, String, i64)>,
    pub(super) organizations: Vec<(i64, String, String)>,
    pub(super) services: Vec<(i64, String)>,
    /// Offerings labelled "service: offering".
    pub(super) offerings: Vec<(i64, String)>,
    pub(super) cis: Vec<(i64, String)>,
}

impl Directory {
    pub(super) async fn load(s: &AppState, u: &UiUser) -> Result<Directory, AppError> {
        let staff_view = u.ctx.can(Permission::ReadDirectory);
        let (groups, organizations) = if staff_view {
            (s.app.groups(&u.ctx).await?, s.app.organizations(&u.ctx).await?)
        } else {
            (vec![], vec![])
        };
        let users = s.app.users(&u.ctx, None).await?;
        let page = PageRequest {
            sort: SortField::Number,
            descending: false,
            after: None,
            limit: 200,
        };
        let services = s
            .app
            .list_records(&u.ctx, RecordKind::SERVICE, RecordFilter::default(), page)
            .await?;
        let offerings = s
            .app
            .list_records(
                &u.ctx,
                RecordKind::SERVICE_OFFERING,
                RecordFilter::default(),
                page,
            )
            .await?;
        let cis = if staff_view {
            s.app
                .list_records(
                    &u.ctx,
                    RecordKind::CONFIGURATION_ITEM,
                    RecordFilter::default(),
                    page,
                )
                .await?
                .items
        } else {
            vec![]
        };
        Ok(Directory {
            groups: groups.into_iter().map(|g| (g.id.0, g.name)).collect(),
            staff: users
                .iter()
                .filter(|u| u.role.is_staff() && u.role != itsm_domain::Role::Auditor)
                .map(|u| (u.id.0, u.display_name.clone()))
                .collect(),
            people: users
                .iter()
                .map(|u| (u.id.0, u.display_name.clone(), u.organization_id.0))
                .collect(),
            organizations: organizations
                .into_iter()
                .map(|o| (o.id.0, o.name, o.kind))
                .collect(),
            services: services
                .items
                .into_iter()
                .map(|v| (v.record.id.0, v.record.title))
                .collect(),
            offerings: offerings
                .items
                .into_iter()
                .map(|v| {
                    let service = v.names.service.unwrap_or_default();
                    (v.record.id.0, format!("{service}: {}", v.record.title))
                })
                .collect(),
            cis: cis.into_iter().map(|v| (v.record.id.0, v.record.title)).collect(),
        })
    }

    pub(super) fn options(list: &[(i64, String)], current: &str, empty: &str) -> Vec<Opt> {
        let mut v = vec![opt("", empty, current)];
        v.extend(
            list.iter()
                .map(|(id, name)| opt(id.to_string(), name.clone(), current)),
        );
        v
    }
}

pub(super) fn level_options(current: &str) -> Vec<Opt> {
    Level::ALL
        .iter()
        .map(|l| opt(l.as_str(), humane(l.as_str()), current))
        .collect()
}

pub(super) fn category_options(current: &str) -> Vec<Opt> {
    let mut v = vec![opt("", "—", current)];
    v.extend(CATEGORIES.iter().map(|c| opt(*c, humane(c), current)));
    if !current.is_empty() && !CATEGORIES.contains(&current) {
        v.push(opt(current, current, current));
    }
    v
}

// ---------------------------------------------------------------- the queue
