//! Wire types of the API, kept apart from the domain so the API can stay stable while the domain
//! grows. Every request type refuses unknown fields.

use itsm_app::model::RecordView;
use itsm_app::Ctx;
use itsm_domain::{LinkType, RecordKind};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Schema of link types.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum LinkTypeValue {
    RelatesTo,
    DuplicateOf,
    CausedBy,
    ParentOf,
}

/// Tells "absent" (leave alone) from `null` (clear) in a PATCH body.
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn rfc3339(t: jiff::Timestamp) -> String {
    t.to_string()
}

/// An incident as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Incident {
    pub id: i64,
    /// The readable number, such as `INC-1042`; accepted wherever an id is.
    pub number: String,
    pub organization_id: i64,
    pub organization: String,
    pub title: String,
    pub description: String,
    /// new, in_progress, on_hold, resolved, closed or cancelled.
    pub state: String,
    /// States this incident may move to next, by moves open to the caller.
    pub allowed_states: Vec<String>,
    /// The moves this incident may make next that are open to the caller (a customer withdraws,
    /// confirms or reopens), with what each requires.
    pub transitions: Vec<TransitionOption>,
    /// 1 (critical) to 5 (planning), from impact and urgency.
    pub priority: Option<i16>,
    pub impact: Option<String>,
    pub urgency: Option<String>,
    pub category: Option<String>,
    pub service_id: Option<i64>,
    pub service: Option<String>,
    /// An offering of the service, which service level targets may single out.
    pub service_offering_id: Option<i64>,
    pub configuration_item_id: Option<i64>,
    pub configuration_item: Option<String>,
    pub caller_id: Option<i64>,
    pub caller: Option<String>,
    pub assignment_group_id: Option<i64>,
    pub assignment_group: Option<String>,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub on_hold_reason: Option<String>,
    pub resolution_code: Option<String>,
    pub resolution_notes: Option<String>,
    /// Why it was cancelled or withdrawn.
    pub cancel_reason: Option<String>,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub reopen_count: i64,
    /// The SLA clock the queue shows (the one due soonest): `running`, `paused`, `breached` or
    /// `met`; absent when no target applies. The record's `/sla` has every clock.
    pub sla_status: Option<String>,
    pub sla_due_at: Option<String>,
    pub sla_warning_at: Option<String>,
    /// Send it back as `If-Match` to change the incident.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// Any record, with the fields every kind shares; incidents carry theirs in `details`.
#[derive(Debug, Serialize, ToSchema)]
// Documents `additionalProperties: false`, so that an incident (which has more) is not also a
// record to a client that tells the shapes apart by the schema.
#[serde(deny_unknown_fields)]
pub struct Record {
    pub id: i64,
    pub number: String,
    pub kind: String,
    pub organization_id: i64,
    pub organization: String,
    pub title: String,
    pub description: String,
    pub state: String,
    pub allowed_states: Vec<String>,
    /// The moves this record may make next that are open to the caller, with what each requires.
    pub transitions: Vec<TransitionOption>,
    pub priority: Option<i16>,
    pub assignment_group: Option<String>,
    pub assignee: Option<String>,
    /// The service a service offering belongs to, or a record concerns.
    pub service_id: Option<i64>,
    pub service: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// One move a record may make next, as its lifecycle declares it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionOption {
    /// The state it moves to: send it as `state` in a change.
    pub to: String,
    /// What people call the move, such as "Resolve".
    pub action: String,
    /// Fields the change must give with it (a reason to wait, a resolution).
    pub requires: Vec<String>,
    /// Whether people confirm it before it is made: it ends the record's life.
    pub confirm: bool,
}

/// The moves `v` may make next that are open to the caller.
fn transitions(v: &RecordView, ctx: &Ctx) -> Vec<TransitionOption> {
    let kind = v.record.kind;
    kind.lifecycle()
        .transitions_from(&v.record.state)
        .filter(|t| ctx.may_take(kind, t))
        .map(|t| TransitionOption {
            to: t.to.to_owned(),
            action: t.action.to_owned(),
            requires: t.requires.iter().map(|f| (*f).to_owned()).collect(),
            confirm: t.confirm,
        })
        .collect()
}

fn allowed(v: &RecordView, ctx: &Ctx) -> Vec<String> {
    transitions(v, ctx).into_iter().map(|t| t.to).collect()
}

impl Record {
    /// `v` as `ctx`'s caller reads it.
    pub fn new(v: &RecordView, ctx: &Ctx) -> Self {
        let r = &v.record;
        Record {
            id: r.id.0,
            number: r.readable_number().to_string(),
            kind: r.kind.as_str().to_owned(),
            organization_id: r.organization_id.0,
            organization: v.names.organization.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            state: r.state.clone(),
            allowed_states: allowed(v, ctx),
            transitions: transitions(v, ctx),
            priority: r.priority,
            service_id: r.service_id.map(|x| x.0),
            assignment_group: v.names.assignment_group.clone(),
            assignee: v.names.assignee.clone(),
            service: v.names.service.clone(),
            details: r.details.clone(),
            version: r.version,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

impl Incident {
    /// `v` as `ctx`'s caller reads it.
    pub fn new(v: &RecordView, ctx: &Ctx) -> Self {
        let r = &v.record;
        let s = |k: &str| r.detail_str(k).map(str::to_owned);
        Incident {
            id: r.id.0,
            number: r.readable_number().to_string(),
            organization_id: r.organization_id.0,
            organization: v.names.organization.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            state: r.state.clone(),
            allowed_states: allowed(v, ctx),
            transitions: transitions(v, ctx),
            priority: r.priority,
            impact: s("impact"),
            urgency: s("urgency"),
            category: s("category"),
            service_id: r.service_id.map(|x| x.0),
            service: v.names.service.clone(),
            service_offering_id: r.service_offering_id().map(|x| x.0),
            configuration_item_id: r.configuration_item_id.map(|x| x.0),
            configuration_item: v.names.configuration_item.clone(),
            caller_id: r.requester_id.map(|x| x.0),
            caller: v.names.requester.clone(),
            assignment_group_id: r.assignment_group_id.map(|x| x.0),
            assignment_group: v.names.assignment_group.clone(),
            assignee_id: r.assignee_id.map(|x| x.0),
            assignee: v.names.assignee.clone(),
            on_hold_reason: s("on_hold_reason"),
            resolution_code: s("resolution_code"),
            resolution_notes: s("resolution_notes"),
            cancel_reason: s("cancel_reason"),
            first_response_at: s("first_response_at"),
            resolved_at: s("resolved_at"),
            closed_at: s("closed_at"),
            reopen_count: r.detail_i64("reopen_count").unwrap_or(0),
            sla_status: v.sla.status.clone(),
            sla_due_at: v.sla.due_at.map(rfc3339),
            sla_warning_at: v.sla.warn_at.map(rfc3339),
            version: r.version,
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

/// A record in the shape of its kind.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum RecordJson {
    Incident(Box<Incident>),
    Record(Box<Record>),
}

/// Renders a record in the shape of its kind, as `ctx`'s caller reads it (the moves open to them).
pub fn record_json(v: &RecordView, ctx: &Ctx) -> RecordJson {
    if v.record.kind == RecordKind::INCIDENT {
        RecordJson::Incident(Box::new(Incident::new(v, ctx)))
    } else {
        RecordJson::Record(Box::new(Record::new(v, ctx)))
    }
}

/// A page of records.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordPage {
    /// Incidents in the incident shape, other kinds in the record shape.
    pub items: Vec<RecordJson>,
    /// Pass as `cursor` to get the next page; absent on the last page. A list reads a bounded
    /// stretch of records per page, so when the filters match few records this far down, a page
    /// may hold fewer items than `limit`, or none, and still have a next one.
    pub next_cursor: Option<String>,
}

/// Filters, sorting and paging of a list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// One or more states, comma-separated.
    pub state: Option<String>,
    /// 1 to 5.
    #[param(minimum = 1, maximum = 5)]
    pub priority: Option<i16>,
    pub organization_id: Option<i64>,
    /// A group id, or `none` for records without a group.
    pub assignment_group_id: Option<String>,
    /// A user id, or `none` for unassigned records.
    pub assignee_id: Option<String>,
    pub service_id: Option<i64>,
    pub caller_id: Option<i64>,
    /// Words to find in the title, the description and the fields the kind declares searched
    /// (an incident's category and resolution notes).
    pub q: Option<String>,
    /// `updated_at`, `created_at`, `priority`, `number` or `due` (SLA due time, records without one last);
    /// prefix `-` for descending. Default `-updated_at`.
    pub sort: Option<String>,
    pub cursor: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// One event of a record's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEvent {
    pub id: i64,
    pub action: String,
    pub actor_id: Option<i64>,
    pub actor: Option<String>,
    pub at: String,
    pub request_id: Option<String>,
    pub summary: String,
    pub changes: Vec<FieldChange>,
}

/// One changed field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChange {
    pub field: String,
    /// The value before: any JSON value, `null` when there was none.
    pub old: serde_json::Value,
    pub new: serde_json::Value,
}

impl From<itsm_app::model::Event> for HistoryEvent {
    fn from(e: itsm_app::model::Event) -> Self {
        HistoryEvent {
            id: e.id,
            action: e.action,
            actor_id: e.actor_id.map(|a| a.0),
            actor: e.actor_name,
            at: rfc3339(e.at),
            request_id: e.request_id,
            summary: e.summary,
            changes: e
                .changes
                .into_iter()
                .map(|c| FieldChange {
                    field: c.field,
                    old: c.old,
                    new: c.new,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Return events after this event id (for paging); 0 or more.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// 1 to 1000, default 500.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// A comment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Comment {
    pub id: i64,
    pub author_id: Option<i64>,
    pub author: Option<String>,
    /// `public` (the caller sees it) or `internal`.
    pub visibility: String,
    pub body: String,
    pub created_at: String,
}

impl From<itsm_app::model::Comment> for Comment {
    fn from(c: itsm_app::model::Comment) -> Self {
        Comment {
            id: c.id,
            author_id: c.author_id.map(|a| a.0),
            author: c.author_name,
            visibility: if c.internal { "internal" } else { "public" }.into(),
            body: c.body,
            created_at: rfc3339(c.created_at),
        }
    }
}

/// Adding a comment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComment {
    pub body: String,
    /// `public` (default) or `internal`.
    pub visibility: Option<String>,
}

/// A link seen from the record asked about.
#[derive(Debug, Serialize, ToSchema)]
pub struct Link {
    pub id: i64,
    /// relates_to, duplicate_of, caused_by or parent_of, read from the link's source.
    pub link_type: String,
    /// How the link reads from this record ("duplicated by", "child of", ...).
    pub label: String,
    /// Whether this record is the link's source.
    pub outgoing: bool,
    pub record_id: i64,
    pub record_number: String,
    pub record_title: String,
    pub record_state: String,
    pub created_at: String,
}

impl From<itsm_app::model::Link> for Link {
    fn from(l: itsm_app::model::Link) -> Self {
        Link {
            id: l.id,
            link_type: l.link_type.as_str().into(),
            label: if l.outgoing {
                l.link_type.label()
            } else {
                l.link_type.inverse_label()
            }
            .into(),
            outgoing: l.outgoing,
            record_id: l.other_id.0,
            record_number: format!("{}-{}", l.other_kind.prefix(), l.other_number),
            record_title: l.other_title,
            record_state: l.other_state,
            created_at: rfc3339(l.created_at),
        }
    }
}

/// Linking to another record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// The other record's number, such as `INC-7`.
    pub target: String,
    #[schema(value_type = LinkTypeValue)]
    pub link_type: LinkType,
}

/// An attachment's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: String,
    /// Where to download it.
    pub href: String,
}

impl From<itsm_app::model::Attachment> for Attachment {
    fn from(a: itsm_app::model::Attachment) -> Self {
        Attachment {
            href: format!("/api/v1/attachments/{}", a.id),
            id: a.id,
            filename: a.filename,
            content_type: a.content_type,
            size_bytes: a.size_bytes,
            sha256: a.sha256,
            created_at: rfc3339(a.created_at),
        }
    }
}

/// The signed-in user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub organization_id: i64,
}
