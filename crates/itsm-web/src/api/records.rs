//! Endpoints every kind of record shares, registered once per kind under its collection name:
//! list, read, history, comments, links and attachments.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use itsm_app::model::{Cursor, PageRequest, RecordFilter, SortField};
use itsm_domain::{GroupId, OrganizationId, RecordId, RecordKind, UserId};

use super::dto::{self, record_json};
use super::respond::record_response;
use super::ApiJson;
use crate::caller::ApiCaller;
use crate::error::ApiError;
use crate::AppState;

/// Registers the shared endpoints of one kind. A route that takes a body names the permission its
/// use case asks for, which the guard checks before the body is read.
pub fn routes_for(r: Router<AppState>, kind: RecordKind, state: &AppState) -> Router<AppState> {
    use crate::guard::api;
    use itsm_domain::access::Permission as P;
    let base = format!("/api/v1/{}", kind.collection());
    let mut r = r
        .route(&base, get(move |s, c, q| list_records(kind, s, c, q)))
        .route(
            &format!("{base}/{{id}}"),
            get(move |s, c, p| get_record(kind, s, c, p)),
        )
        .route(
            &format!("{base}/{{id}}/history"),
            get(move |s, c, p, q| history(kind, s, c, p, q)),
        )
        .route(
            &format!("{base}/{{id}}/comments"),
            get(move |s, c, p| list_comments(kind, s, c, p)).merge(api(
                state,
                // An internal note also needs CommentInternal, which the use case checks once the
                // body says which it is.
                P::CommentPublic,
                post(move |s, c, p, b| add_comment(kind, s, c, p, b)),
            )),
        )
        .route(
            &format!("{base}/{{id}}/links"),
            get(move |s, c, p| list_links(kind, s, c, p)).merge(api(
                state,
                P::LinkRecords,
                post(move |s, c, p, b| add_link(kind, s, c, p, b)),
            )),
        )
        .route(
            &format!("{base}/{{id}}/links/{{link_id}}"),
            api(
                state,
                P::LinkRecords,
                delete(move |s, c, p| remove_link(kind, s, c, p)),
            ),
        )
        .route(
            &format!("{base}/{{id}}/attachments"),
            get(move |s, c, p| list_attachments(kind, s, c, p)).merge(api(
                state,
                P::Attach,
                post(move |s, c, p, m| add_attachment(kind, s, c, p, m))
                    .layer(DefaultBodyLimit::max(12 * 1024 * 1024)),
            )),
        );
    if has_sla(kind) {
        r = r.route(
            &format!("{base}/{{id}}/sla"),
            get(move |s, c, p| super::service_levels::record_sla(kind, s, c, p)),
        );
    }
    if declared_writes(kind) {
        use super::declared::{change_record, create_record};
        r = r.route(
            &base,
            api(
                state,
                kind.access().create,
                post(move |s, c, b| create_record(kind, s, c, b)),
            ),
        );
        r = r.route(
            &format!("{base}/{{id}}"),
            api(
                state,
                crate::guard::Needs::WriteOn(kind),
                axum::routing::patch(move |s, c, p, h, b| change_record(kind, s, c, p, h, b)),
            ),
        );
    }
    r
}

/// Whether a kind has the sub-resource `/sla`: the same test registers the route and documents it.
pub(crate) fn has_sla(kind: RecordKind) -> bool {
    kind.has_service_levels()
}

/// Whether a kind is created and changed through the generic endpoints, from its declaration.
pub(crate) fn declared_writes(kind: RecordKind) -> bool {
    kind.writes() == itsm_domain::kind::Writes::Declared
}

fn id_or_none(field: &str, v: &Option<String>) -> Result<Option<Option<i64>>, ApiError> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some("none") => Ok(Some(None)),
        Some(s) => s
            .parse::<i64>()
            .map(|n| Some(Some(n)))
            .map_err(|_| ApiError::invalid_field(field, "must be an id or `none`")),
    }
}

/// Splits a list's query into the parameters every kind has and filters on the kind's own indexed
/// fields (`?category=network`), each checked against its declaration.
fn split_list_query(kind: RecordKind, raw: &str) -> Result<(dto::ListQuery, OwnFilters), ApiError> {
    let mut own = Vec::new();
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        match kind.field(&name).filter(|f| f.indexed) {
            Some(f) => {
                let v = f
                    .filter_value(&value)
                    .map_err(|m| ApiError::invalid_field(&name, m))?;
                own.push((f, v));
            }
            None => {
                rest.append_pair(&name, &value);
            }
        }
    }
    let uri: axum::http::Uri = format!("/?{}", rest.finish())
        .parse()
        .map_err(|_| ApiError::bad_request("the query string cannot be read"))?;
    let q = axum::extract::Query::<dto::ListQuery>::try_from_uri(&uri).map_err(super::query_problem)?;
    Ok((q.0, own))
}

/// Filters on a kind's own fields, as the storage takes them.
type OwnFilters = Vec<(&'static itsm_domain::field::FieldSpec, serde_json::Value)>;

/// Turns list parameters into a filter and a page request, naming the parameter that is wrong.
pub fn parse_list(q: &dto::ListQuery, kind: RecordKind) -> Result<(RecordFilter, PageRequest), ApiError> {
    let lifecycle = kind.lifecycle();
    let states: Vec<String> = q
        .state
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = states.iter().find(|s| !lifecycle.is_state(s)) {
        return Err(ApiError::invalid_field(
            "state",
            format!("`{bad}` is not a state of this kind"),
        ));
    }
    if q.priority.is_some_and(|p| !(1..=5).contains(&p)) {
        return Err(ApiError::invalid_field("priority", "must be 1 to 5"));
    }
    let sort = q.sort.as_deref().unwrap_or("-updated_at");
    let (descending, name) = match sort.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, sort),
    };
    let sort = SortField::parse_for(kind, name).ok_or_else(|| {
        let own: String = kind
            .fields()
            .iter()
            .filter(|f| f.sortable())
            .map(|f| format!(", {}", f.name))
            .collect();
        ApiError::invalid_field(
            "sort",
            format!("must be updated_at, created_at, priority, number, due{own}, optionally prefixed by -"),
        )
    })?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            Cursor::decode(c)
                .ok_or_else(|| ApiError::invalid_field("cursor", "is not a cursor from a previous page"))?,
        ),
        None => None,
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=itsm_app::model::MAX_PAGE).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "must be 1 to 200"));
    }
    let text =
        q.q.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
    if text.as_ref().is_some_and(|t| t.len() > 200) {
        return Err(ApiError::invalid_field("q", "must be at most 200 characters"));
    }
    let filter = RecordFilter {
        visible_organizations: None,
        states,
        priority: q.priority,
        organization_id: q.organization_id.map(OrganizationId),
        assignment_group_id: id_or_none("assignment_group_id", &q.assignment_group_id)?
            .map(|o| o.map(GroupId)),
        assignee_id: id_or_none("assignee_id", &q.assignee_id)?.map(|o| o.map(UserId)),
        service_id: q.service_id.map(RecordId),
        requester_id: q.caller_id.map(UserId),
        fields: Vec::new(),
        text,
    };
    Ok((
        filter,
        PageRequest {
            sort,
            descending,
            after,
            limit,
        },
    ))
}

/// List records of a kind, filtered, sorted and paged by cursor.
#[utoipa::path(get, path = "/api/v1/{collection}", tag = "records",
    params(("collection" = String, Path), dto::ListQuery),
    responses((status = 200, body = dto::RecordPage), (status = 422, body = crate::error::Problem)))]
pub async fn list_records(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Json<dto::RecordPage>, ApiError> {
    let (q, own) = split_list_query(kind, raw.as_deref().unwrap_or(""))?;
    let (mut filter, page) = parse_list(&q, kind)?;
    filter.fields = own;
    let page = s.app.list_records(&ctx, kind, filter, page).await?;
    Ok(Json(dto::RecordPage {
        items: page.items.iter().map(|v| record_json(v, &ctx)).collect(),
        next_cursor: page.next.map(Cursor::encode),
    }))
}

/// Read one record by number (`INC-1042`) or id.
#[utoipa::path(get, path = "/api/v1/{collection}/{id}", tag = "records",
    params(("collection" = String, Path), ("id" = String, Path, description = "number or id")),
    responses((status = 200, body = dto::RecordJson, headers(("ETag" = String))), (status = 404, body = crate::error::Problem)))]
pub async fn get_record(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let v = s.app.get_record(&ctx, kind, &id).await?;
    Ok(record_response(StatusCode::OK, &v, &ctx))
}

/// The audit history of a record: who changed what, when, from what to what.
#[utoipa::path(get, path = "/api/v1/{collection}/{id}/history", tag = "records",
    params(("collection" = String, Path), ("id" = String, Path), dto::HistoryQuery),
    responses((status = 200, body = Vec<dto::HistoryEvent>), (status = 404, body = crate::error::Problem)))]
pub async fn history(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    super::ApiQuery(q): super::ApiQuery<dto::HistoryQuery>,
) -> Result<Json<Vec<dto::HistoryEvent>>, ApiError> {
    let limit = super::in_range("limit", q.limit.unwrap_or(500), 1..=1000)?;
    let after = super::in_range("after", q.after.unwrap_or(0), 0..=i64::MAX)?;
    let events = s.app.record_history(&ctx, kind, &id, after, limit).await?;
    Ok(Json(events.into_iter().map(Into::into).collect()))
}

/// Comments of a record; internal notes only for staff.
#[utoipa::path(get, path = "/api/v1/{collection}/{id}/comments", tag = "records",
    params(("collection" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Vec<dto::Comment>), (status = 404, body = crate::error::Problem)))]
pub async fn list_comments(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<dto::Comment>>, ApiError> {
    Ok(Json(
        s.app
            .comments(&ctx, kind, &id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Add a public reply or an internal note.
#[utoipa::path(post, path = "/api/v1/{collection}/{id}/comments", tag = "records", request_body = dto::CreateComment,
    params(("collection" = String, Path), ("id" = String, Path)),
    responses((status = 201, body = dto::Comment), (status = 409, description = "the record's life has ended and its lifecycle takes no more of these", body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_comment(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<dto::CreateComment>,
) -> Result<(StatusCode, Json<dto::Comment>), ApiError> {
    let internal = match body.visibility.as_deref() {
        None | Some("public") => false,
        Some("internal") => true,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "visibility",
                "must be public or internal",
            ))
        }
    };
    let c = s.app.add_comment(&ctx, kind, &id, &body.body, internal).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

/// Links of a record, in both directions.
#[utoipa::path(get, path = "/api/v1/{collection}/{id}/links", tag = "records",
    params(("collection" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Vec<dto::Link>)))]
pub async fn list_links(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<dto::Link>>, ApiError> {
    Ok(Json(
        s.app
            .links(&ctx, kind, &id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Link this record to another.
#[utoipa::path(post, path = "/api/v1/{collection}/{id}/links", tag = "records", request_body = dto::CreateLink,
    params(("collection" = String, Path), ("id" = String, Path)),
    responses((status = 201, body = dto::Link), (status = 409, description = "the link exists already, or the record's life has ended and its lifecycle takes no more links", body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_link(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<dto::CreateLink>,
) -> Result<(StatusCode, Json<dto::Link>), ApiError> {
    let l = s
        .app
        .add_link(&ctx, kind, &id, &body.target, body.link_type)
        .await?;
    Ok((StatusCode::CREATED, Json(l.into())))
}

/// Remove a link.
#[utoipa::path(delete, path = "/api/v1/{collection}/{id}/links/{link_id}", tag = "records",
    params(("collection" = String, Path), ("id" = String, Path), ("link_id" = i64, Path)),
    responses((status = 204), (status = 404, body = crate::error::Problem), (status = 409, description = "the record's life has ended and its lifecycle takes no more of these", body = crate::error::Problem)))]
pub async fn remove_link(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path((id, link_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let link_id: i64 = link_id
        .parse()
        .map_err(|_| ApiError::from(itsm_app::AppError::NotFound(format!("link {link_id}"))))?;
    s.app.remove_link(&ctx, kind, &id, link_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Attachments of a record.
#[utoipa::path(get, path = "/api/v1/{collection}/{id}/attachments", tag = "records",
    params(("collection" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Vec<dto::Attachment>)))]
pub async fn list_attachments(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<dto::Attachment>>, ApiError> {
    Ok(Json(
        s.app
            .attachments(&ctx, kind, &id)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Attach a file (multipart form, field `file`).
#[utoipa::path(post, path = "/api/v1/{collection}/{id}/attachments", tag = "records",
    params(("collection" = String, Path), ("id" = String, Path)),
    request_body(content_type = "multipart/form-data", content = Object),
    responses((status = 201, body = dto::Attachment), (status = 409, description = "the record's life has ended and its lifecycle takes no more of these", body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_attachment(
    kind: RecordKind,
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<dto::Attachment>), ApiError> {
    let mut multipart = multipart.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (name, ctype, bytes) = read_file_field(&mut multipart).await?;
    let a = s
        .app
        .add_attachment(&ctx, kind, &id, &name, &ctype, &bytes)
        .await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// Reads the `file` field of a multipart body; other fields are skipped.
pub async fn read_file_field(m: &mut Multipart) -> Result<(String, String, Vec<u8>), ApiError> {
    loop {
        let field = m
            .next_field()
            .await
            .map_err(|e| ApiError::invalid_field("file", e.body_text()))?;
        let Some(field) = field else {
            return Err(ApiError::invalid_field(
                "file",
                "a multipart field named `file` is required",
            ));
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_owned();
        let ctype = field
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::invalid_field("file", e.body_text()))?;
        return Ok((name, ctype, bytes.to_vec()));
    }
}

/// Download an attachment. It is always sent as a download, never shown inline.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "records", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = crate::error::Problem)))]
pub async fn download_attachment(
    State(s): State<AppState>,
    ApiCaller(ctx): ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    attachment_response(&s, &ctx, &id).await
}

pub async fn attachment_response(s: &AppState, ctx: &itsm_app::Ctx, id: &str) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::from(itsm_app::AppError::NotFound(format!("attachment {id}"))))?;
    let (a, content) = s.app.attachment(ctx, id).await?;
    let safe_name: String = a
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut resp = Response::new(Body::from(content));
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// The account the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "people", responses((status = 200, body = dto::Me), (status = 401, body = crate::error::Problem)))]
pub async fn me(State(s): State<AppState>, ApiCaller(ctx): ApiCaller) -> Result<Json<dto::Me>, ApiError> {
    let u = s.app.me(&ctx).await?;
    Ok(Json(dto::Me {
        id: u.id.0,
        username: u.username,
        display_name: u.display_name,
        role: u.role.as_str().into(),
        organization_id: u.organization_id.0,
    }))
}
