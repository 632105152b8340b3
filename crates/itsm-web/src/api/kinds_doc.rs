//! The OpenAPI document, typed per kind. The handlers every kind shares are documented once on a
//! template path (`/api/v1/{collection}/...`); here each template becomes one path per registered
//! kind that has that endpoint, with the kind's own schemas, drawn from its declaration:
//!
//! - `{Kind}`: a record of the kind as the API answers it, its `details` typed as `{Kind}Details`
//!   (a kind that has a hand-written schema of that name, such as `Incident`, keeps it);
//! - `{Kind}Page`: a page of them;
//! - `{Kind}Create` and `{Kind}Change`: the bodies of the generic create and change, for kinds
//!   whose writes are declared.
//!
//! So a new kind is documented by being registered, and no collection is documented as another's.

use serde_json::{json, Map, Value};

use itsm_domain::draft::{DESCRIPTION_MAX, TITLE_MAX};
use itsm_domain::field::{FieldSpec, FieldType, Form};
use itsm_domain::kind::{Owner, Use};
use itsm_domain::RecordKind;

use super::records::{declared_writes, has_sla};

/// The placeholder of the template paths.
const COLLECTION: &str = "{collection}";
const SCHEMAS: &str = "#/components/schemas/";

/// The document with each template path written out per kind.
pub fn per_kind(mut doc: Value) -> Value {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    let templates: Vec<(String, Value)> = paths
        .keys()
        .filter(|p| p.contains(COLLECTION))
        .cloned()
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|p| paths.remove(&p).map(|item| (p, item)))
        .collect();
    let mut schemas = Map::new();
    let existing: Map<String, Value> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for kind in RecordKind::all() {
        let names = Names::of(kind);
        add_schemas(kind, &names, &existing, &mut schemas);
        let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
            break;
        };
        // The kind's own paths (an incident's create) say "record" where they mean the kind.
        for (path, item) in paths.iter_mut() {
            if path.starts_with(&format!("/api/v1/{}", kind.collection())) && !path.contains(COLLECTION) {
                retype(item, &names);
            }
        }
        for (template, item) in &templates {
            let path = template.replace(COLLECTION, kind.collection());
            let mut item = item.clone();
            keep_endpoints_of(kind, template, &mut item);
            let Some(ops) = item.as_object_mut() else { continue };
            if ops.is_empty() {
                continue;
            }
            let listing = template == &format!("/api/v1/{COLLECTION}");
            for (method, op) in ops.iter_mut() {
                specialise(kind, &names, method, op);
                if listing && method == "get" {
                    add_list_parameters(kind, op);
                }
            }
            retype(&mut item, &names);
            let entry = paths.entry(path).or_insert_with(|| json!({}));
            if let (Some(entry), Some(ops)) = (entry.as_object_mut(), item.as_object()) {
                for (method, op) in ops {
                    // An operation of the kind's own (an incident's create) wins over the shared one.
                    entry.entry(method.clone()).or_insert_with(|| op.clone());
                }
            }
        }
    }
    if let Some(all) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        all.extend(schemas);
        // The shapes every kind's own schemas replace.
        for generic in ["Record", "RecordJson", "RecordPage"] {
            all.remove(generic);
        }
    }
    doc
}

/// The names of a kind's schemas.
struct Names {
    record: String,
    page: String,
    create: String,
    change: String,
    details: String,
}

impl Names {
    fn of(kind: RecordKind) -> Names {
        let base: String = kind
            .as_str()
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        Names {
            record: base.clone(),
            page: format!("{base}Page"),
            create: format!("{base}Create"),
            change: format!("{base}Change"),
            details: format!("{base}Details"),
        }
    }
}

/// Removes from a template's item the operations `kind` does not have: the generic create and
/// change for kinds with use cases of their own, `/sla` for kinds without service levels.
fn keep_endpoints_of(kind: RecordKind, template: &str, item: &mut Value) {
    let Some(ops) = item.as_object_mut() else { return };
    let base = format!("/api/v1/{COLLECTION}");
    if template == base {
        if !declared_writes(kind) {
            ops.remove("post");
        }
    } else if template == format!("{base}/{{id}}") {
        if !declared_writes(kind) {
            ops.remove("patch");
        }
    } else if template.ends_with("/sla") && !has_sla(kind) {
        ops.clear();
    }
}

/// Makes a template's operation the kind's: no `collection` parameter, its own operation id and
/// tag, and its create or change body.
fn specialise(kind: RecordKind, names: &Names, method: &str, op: &mut Value) {
    let Some(op) = op.as_object_mut() else { return };
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        params.retain(|p| p["name"] != "collection");
    }
    if let Some(id) = op.get("operationId").and_then(Value::as_str) {
        let id = format!("{id}_{}", kind.as_str());
        op.insert("operationId".into(), Value::from(id));
    }
    op.insert("tags".into(), json!([kind.collection()]));
    let body = match method {
        "post" if op.contains_key("requestBody") && declared_writes(kind) => Some(&names.create),
        "patch" if declared_writes(kind) => Some(&names.change),
        _ => None,
    };
    if let Some(name) = body {
        if let Some(content) = op
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(|c| c.get_mut("application/json"))
        {
            set(content, "schema", reference(name));
        }
    }
}

/// Adds to a kind's list the filters on its own indexed fields, and its own sort keys to `sort`.
fn add_list_parameters(kind: RecordKind, op: &mut Value) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for f in kind.fields().iter().filter(|f| f.indexed) {
        let mut schema = field_schema(f);
        if let Some(m) = schema.as_object_mut() {
            m.remove("readOnly");
        }
        params.push(json!({
            "name": f.name,
            "in": "query",
            "required": false,
            "description": format!("Only records whose {} is this.", f.label.to_lowercase()),
            "schema": schema,
        }));
    }
    let own: Vec<&str> = kind
        .fields()
        .iter()
        .filter(|f| f.sortable())
        .map(|f| f.name)
        .collect();
    if !own.is_empty() {
        if let Some(sort) = params.iter_mut().find(|p| p["name"] == "sort") {
            let said = sort["description"].as_str().unwrap_or_default().to_owned();
            set(
                sort,
                "description",
                format!("{said} This kind also sorts by {}.", own.join(", ")),
            );
        }
    }
}

/// Replaces every reference to the generic record shapes in `v` with the kind's.
fn retype(v: &mut Value, names: &Names) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                let to = match r.strip_prefix(SCHEMAS) {
                    Some("Record" | "RecordJson") => Some(&names.record),
                    Some("RecordPage") => Some(&names.page),
                    _ => None,
                };
                if let Some(to) = to {
                    *r = format!("{SCHEMAS}{to}");
                }
            }
            for x in m.values_mut() {
                retype(x, names);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| retype(x, names)),
        _ => {}
    }
}

/// Sets `key` of an object (and nothing on any other value).
fn set(v: &mut Value, key: &str, value: impl Into<Value>) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_owned(), value.into());
    }
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("{SCHEMAS}{name}") })
}

/// Adds the kind's schemas to `schemas`, from its declaration and the generic shapes.
fn add_schemas(
    kind: RecordKind,
    names: &Names,
    existing: &Map<String, Value>,
    schemas: &mut Map<String, Value>,
) {
    schemas.insert(names.details.clone(), details_schema(kind));
    if !existing.contains_key(&names.record) {
        let mut record = existing
            .get("Record")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"}));
        set(
            &mut record,
            "description",
            format!("A {} record.", kind.label().to_lowercase()),
        );
        if let Some(props) = record.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("details".into(), reference(&names.details));
            props.insert("kind".into(), json!({"type": "string", "enum": [kind.as_str()]}));
            props.insert("state".into(), states(kind));
        }
        schemas.insert(names.record.clone(), record);
    }
    if let Some(mut page) = existing.get("RecordPage").cloned() {
        set(
            &mut page,
            "description",
            format!("A page of {}.", kind.collection().replace('-', " ")),
        );
        if let Some(items) = page.pointer_mut("/properties/items") {
            *items = json!({"type": "array", "items": reference(&names.record)});
        }
        schemas.insert(names.page.clone(), page);
    }
    if declared_writes(kind) {
        schemas.insert(names.create.clone(), input_schema(kind, true));
        schemas.insert(names.change.clone(), input_schema(kind, false));
    }
}

fn states(kind: RecordKind) -> Value {
    let names: Vec<&str> = kind.lifecycle().states.iter().map(|s| s.name).collect();
    json!({"type": "string", "enum": names})
}

/// The schema of one of the kind's own fields.
fn field_schema(f: &FieldSpec) -> Value {
    let mut s = match f.ty {
        FieldType::Text { max } | FieldType::LongText { max } => json!({"type": "string", "maxLength": max}),
        FieldType::Choice { choices } => {
            let values: Vec<&str> = choices.iter().map(|c| c.value).collect();
            json!({"type": "string", "enum": values})
        }
        FieldType::Reference { kind, .. } => {
            let label = RecordKind::parse(kind).map_or(kind, |k| k.label());
            json!({"type": "integer", "format": "int64", "minimum": 1,
                "description": format!("The id of a {}.", label.to_lowercase())})
        }
        FieldType::Flag => json!({"type": "boolean"}),
        FieldType::Date => json!({"type": "string", "format": "date"}),
        FieldType::Structured { shape, form } => {
            let mut s = match form {
                Form::Texts => json!({"type": "array", "items": {"type": "string"}}),
                Form::Ids => {
                    json!({"type": "array", "items": {"type": "integer", "format": "int64", "minimum": 1}})
                }
                Form::Named(name) => reference(name),
                Form::ListOf(name) => json!({"type": "array", "items": reference(name)}),
            };
            set(&mut s, "description", shape);
            s
        }
        FieldType::Instant => json!({"type": "string", "format": "date-time", "readOnly": true}),
        FieldType::Count => json!({"type": "integer", "minimum": 0, "readOnly": true}),
    };
    if s.get("description").is_none() {
        set(&mut s, "description", f.label);
    }
    s
}

/// The same schema, also allowing `null`.
fn nullable(mut s: Value) -> Value {
    if s.get("$ref").is_some() {
        let description = s.as_object_mut().and_then(|m| m.remove("description"));
        let mut either = json!({"oneOf": [s, {"type": "null"}]});
        if let Some(d) = description {
            set(&mut either, "description", d);
        }
        return either;
    }
    if let Some(Value::String(t)) = s.get("type").cloned() {
        set(&mut s, "type", json!([t, "null"]));
    }
    if let Some(Value::Array(values)) = s.get_mut("enum") {
        values.push(Value::Null);
    }
    s
}

/// A kind's `details` as the API answers them: its own fields, each present when it holds a value.
fn details_schema(kind: RecordKind) -> Value {
    let mut props = Map::new();
    for f in kind.fields() {
        props.insert(f.name.to_owned(), nullable(field_schema(f)));
    }
    json!({
        "type": "object",
        "description": format!("A {}'s own fields.", kind.label().to_lowercase()),
        "properties": props,
        "additionalProperties": false,
    })
}

/// The body of the generic create (`creating`) or change of a kind: the shared columns it uses,
/// under the names it gives them, and its own fields people give.
fn input_schema(kind: RecordKind, creating: bool) -> Value {
    let shared = kind.shared();
    let mut props = Map::new();
    let mut required: Vec<&str> = Vec::new();
    let id = |what: &str| json!({"type": "integer", "format": "int64", "minimum": 1, "description": what});
    props.insert(
        shared.title.to_owned(),
        json!({"type": "string", "minLength": 1, "maxLength": TITLE_MAX}),
    );
    props.insert(
        "description".into(),
        nullable(json!({"type": "string", "maxLength": DESCRIPTION_MAX})),
    );
    if creating {
        required.push(shared.title);
        if shared.owner == Owner::Customer {
            props.insert(
                "organization_id".into(),
                id("The customer organization; a customer raises records for their own."),
            );
        }
    } else {
        props.insert("state".into(), states(kind));
    }
    let columns = [
        ("service_id", shared.service, "The id of a service."),
        (
            "configuration_item_id",
            shared.configuration_item,
            "The id of a configuration item.",
        ),
        (
            "assignment_group_id",
            shared.assignment,
            "The id of an assignment group.",
        ),
        (
            "assignee_id",
            shared.assignment,
            "The id of a member of the assignment group.",
        ),
    ];
    for (name, used, what) in columns {
        match used {
            Use::No => {}
            Use::Required if creating => {
                props.insert(name.into(), id(what));
                required.push(name);
            }
            Use::Required => {
                props.insert(name.into(), id(what));
            }
            Use::Optional => {
                props.insert(name.into(), nullable(id(what)));
            }
        }
    }
    if let Some(name) = shared.requester {
        props.insert(
            name.into(),
            nullable(id("The id of the person the record is for.")),
        );
    }
    for f in kind.fields().iter().filter(|f| f.is_input()) {
        if f.required && creating {
            props.insert(f.name.to_owned(), field_schema(f));
            required.push(f.name);
        } else {
            props.insert(f.name.to_owned(), nullable(field_schema(f)));
        }
    }
    let what = if creating { "A new" } else { "A change to a" };
    let mut s = json!({
        "type": "object",
        "description": format!("{what} {}; leave out what stays, `null` clears.", kind.label().to_lowercase()),
        "properties": props,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        set(&mut s, "required", json!(required));
    }
    s
}

#[cfg(test)]
mod tests {

    fn collect_refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| collect_refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
            _ => {}
        }
    }
    use super::*;

    #[test]
    fn every_kind_gets_its_own_schemas_and_paths() {
        let doc =
            per_kind(serde_json::to_value(<super::super::ApiDoc as utoipa::OpenApi>::openapi()).unwrap());
        let paths = doc["paths"].as_object().unwrap();
        assert!(
            paths.keys().all(|p| !p.contains(COLLECTION)),
            "a template is left"
        );
        for kind in RecordKind::all() {
            let names = Names::of(kind);
            let base = format!("/api/v1/{}", kind.collection());
            let list = &paths[&base]["get"];
            assert_eq!(
                list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
                format!("{SCHEMAS}{}", names.page),
                "{kind}"
            );
            let one = &paths[&format!("{base}/{{id}}")]["get"];
            assert_eq!(
                one["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
                format!("{SCHEMAS}{}", names.record),
                "{kind}"
            );
            assert!(doc["components"]["schemas"][&names.record].is_object(), "{kind}");
            assert!(paths[&base].get("post").is_some(), "{kind} has a create");
            assert_eq!(
                paths.contains_key(&format!("{base}/{{id}}/sla")),
                kind.has_service_levels()
            );
        }
        let create = &doc["components"]["schemas"]["ServiceOfferingCreate"];
        assert_eq!(create["required"], json!(["name", "service_id"]));
        assert_eq!(create["additionalProperties"], json!(false));
        let change = &doc["components"]["schemas"]["ServiceChange"];
        assert_eq!(
            change["properties"]["state"]["enum"],
            json!(["pipeline", "live", "retired"])
        );
        assert_eq!(
            change["properties"]["calendar_id"]["type"],
            json!(["integer", "null"])
        );
        let details = &doc["components"]["schemas"]["AgreementDetails"]["properties"];
        assert_eq!(details["valid_from"]["format"], "date");
        // Structured values are typed: a list of targets, a list of ids, the weekly hours.
        assert_eq!(
            details["targets"]["items"]["$ref"],
            "#/components/schemas/ServiceLevelTarget"
        );
        assert_eq!(details["service_ids"]["items"]["type"], "integer");
        let calendar = &doc["components"]["schemas"]["CalendarDetails"]["properties"];
        assert_eq!(
            calendar["working_hours"]["oneOf"][0]["$ref"],
            "#/components/schemas/WorkingHours"
        );
        assert_eq!(calendar["holidays"]["items"]["type"], "string");
        // Every reference in the document names a schema it has.
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(&r);
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{r} names no schema"
            );
        }
        assert!(doc["components"]["schemas"].get("RecordJson").is_none());
    }
}
