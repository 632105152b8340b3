//! What every record page shows besides its own fields: the conversation, links, attachments
//! and the history, and an attachment's download.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;

use crate::caller::UiUser;
use crate::page::error_page;
use crate::AppState;

pub struct CommentView {
    pub(super) author: String,
    pub(super) at: String,
    pub(super) internal: bool,
    pub(super) body: String,
}

pub struct LinkView {
    pub(super) label: String,
    pub(super) href: String,
    pub(super) number: String,
    pub(super) title: String,
    pub(super) state: String,
}

pub struct AttachmentView {
    pub(super) id: i64,
    pub(super) filename: String,
    pub(super) size: String,
    pub(super) at: String,
}

pub struct ChangeView {
    pub(super) field: String,
    pub(super) old: String,
    pub(super) new: String,
}

pub struct EventView {
    pub(super) at: String,
    pub(super) actor: String,
    pub(super) action: String,
    pub(super) summary: String,
    pub(super) changes: Vec<ChangeView>,
}

pub(super) fn show_value(
    field: &str,
    v: &Value,
    names: &HashMap<&'static str, HashMap<i64, String>>,
) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let table = match field {
                "assignee_id" | "requester_id" => names.get("user"),
                "assignment_group_id" => names.get("group"),
                "organization_id" => names.get("organization"),
                "service_id" | "service_offering_id" | "configuration_item_id" => names.get("record"),
                _ => None,
            };
            match (table, n.as_i64()) {
                (Some(t), Some(id)) => t.get(&id).cloned().unwrap_or_else(|| format!("#{id}")),
                _ => n.to_string(),
            }
        }
        // A link's change names the other record by its number.
        Value::Object(o) if o.get("record").is_some_and(Value::is_string) => o
            .get("record")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        other => other.to_string(),
    }
}

pub(super) fn field_label(f: &str) -> String {
    match f {
        "requester_id" => "caller".into(),
        "assignment_group_id" => "assignment group".into(),
        "assignee_id" => "assignee".into(),
        "service_id" => "service".into(),
        "service_offering_id" => "service offering".into(),
        "configuration_item_id" => "configuration item".into(),
        "organization_id" => "organization".into(),
        other => other.replace('_', " "),
    }
}

pub async fn download(State(s): State<AppState>, u: UiUser, Path(id): Path<String>) -> Response {
    match crate::api::records::attachment_response(&s, &u.ctx, &id).await {
        Ok(r) => r,
        Err(e) => error_page(e.status, &e.detail),
    }
}
