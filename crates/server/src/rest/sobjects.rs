//! `GET /sobjects` (describe global), `GET /sobjects/{Type}` (basic information),
//! `GET /sobjects/{Type}/describe`, `GET /sobjects/{Type}/{Id}` and `POST /sobjects/{Event__e}`
//! (publishing a platform event, under the Pub/Sub API's rules).
//!
//! Every answer is for the acting user: an object they may not see is `NOT_FOUND` here and
//! absent from describe global ([`super::objects::catalog`]).

use std::collections::BTreeMap;

use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use byoc_core::ids;
use byoc_proto::rest::SaveResult;
use byoc_soql::eval::OutputValue;
use byoc_soql::{FieldDef, ObjectDef, OutputRecord, Value};
use serde_json::{json, Map, Value as Json_};

use super::objects::{self, Api};
use super::{check_version, method_not_allowed, not_found, only, RestCaller, RestState};
use crate::admin_api::{ApiError, Body};
use crate::pubsub::service::PublishFieldsError;

pub fn router() -> Router<RestState> {
    Router::new()
        .route(
            "/services/data/{version}/sobjects",
            only(get(describe_global), "GET,HEAD"),
        )
        .route(
            "/services/data/{version}/sobjects/",
            only(get(describe_global), "GET,HEAD"),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}",
            only(get(basic_info).merge(post(create)), "GET,HEAD,POST"),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/describe",
            only(get(describe), "GET,HEAD"),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/describe/",
            only(get(describe), "GET,HEAD"),
        )
        .route(
            "/services/data/{version}/sobjects/{sobject}/{id}",
            only(get(record), "GET,HEAD"),
        )
}

fn urls(base: &str, o: &ObjectDef) -> Json_ {
    let sobject = format!("{base}/sobjects/{}", o.name);
    let mut urls = json!({
        "sobject": sobject,
        "describe": format!("{sobject}/describe"),
    });
    if o.queryable {
        urls["rowTemplate"] = format!("{sobject}/{{ID}}").into();
    }
    urls
}

/// An object's entry in describe global (and the head of its describe).
fn summary(base: &str, o: &ObjectDef) -> Map<String, Json_> {
    let v = json!({
        "activateable": false,
        "createable": o.createable,
        "custom": o.custom,
        "customSetting": false,
        "deletable": o.deletable,
        "deprecatedAndHidden": false,
        "feedEnabled": false,
        "hasSubtypes": false,
        "isSubtype": false,
        "keyPrefix": o.key_prefix,
        "label": o.label,
        "labelPlural": o.label_plural,
        "layoutable": false,
        "mergeable": false,
        "mruEnabled": false,
        "name": o.name,
        "queryable": o.queryable,
        "replicateable": false,
        "retrieveable": o.queryable,
        "searchable": false,
        "triggerable": false,
        "undeletable": false,
        "updateable": o.updateable,
        "urls": urls(base, o),
    });
    match v {
        Json_::Object(m) => m,
        _ => Map::new(),
    }
}

fn field_json(fd: &FieldDef) -> Json_ {
    json!({
        "autoNumber": false,
        "byteLength": fd.length * 3,
        "calculated": false,
        "createable": fd.createable,
        "custom": fd.custom,
        "defaultedOnCreate": matches!(fd.name.as_str(), "Id" | "CreatedDate" | "CreatedById"),
        "externalId": false,
        "filterable": fd.filterable,
        "groupable": fd.filterable && !matches!(fd.field_type, byoc_soql::FieldType::Textarea),
        "idLookup": fd.name == "Id",
        "label": fd.label,
        "length": fd.length,
        "name": fd.name,
        "nameField": fd.name == "Name",
        "nillable": fd.nillable,
        "picklistValues": fd.picklist_values.iter().map(|v| json!({
            "active": true, "defaultValue": false, "label": v, "validFor": null, "value": v,
        })).collect::<Vec<_>>(),
        "precision": 0,
        "referenceTo": fd.reference_to,
        "relationshipName": fd.relationship_name,
        "scale": 0,
        "soapType": fd.field_type.soap_type(),
        "sortable": fd.sortable,
        "type": fd.field_type,
        "unique": false,
        "updateable": fd.updateable,
    })
}

/// The object named `name` (case-insensitive) among those the caller may see.
async fn visible(
    state: &RestState,
    actor: &byoc_core::Actor,
    name: &str,
) -> Result<ObjectDef, ApiError> {
    objects::catalog(state, actor, Api::Data)
        .await?
        .into_iter()
        .find(|o| o.name.eq_ignore_ascii_case(name))
        .ok_or_else(not_found)
}

async fn describe_global(
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path(version): Path<String>,
) -> Result<Response, ApiError> {
    let v = check_version(&version)?;
    let base = format!("/services/data/v{v}");
    let list: Vec<_> = objects::catalog(&state, &actor, Api::Data)
        .await?
        .iter()
        .map(|o| summary(&base, o))
        .collect();
    Ok(Json(json!({
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": list,
    }))
    .into_response())
}

async fn basic_info(
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path((version, sobject)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let v = check_version(&version)?;
    let o = visible(&state, &actor, &sobject).await?;
    Ok(Json(json!({
        "objectDescribe": summary(&format!("/services/data/v{v}"), &o),
        "recentItems": [],
    }))
    .into_response())
}

async fn describe(
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path((version, sobject)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let v = check_version(&version)?;
    let o = visible(&state, &actor, &sobject).await?;
    Ok(Json(describe_json(&format!("/services/data/v{v}"), &o)).into_response())
}

/// An object's describe under `base` (`/services/data/vXX.X`, or `…/tooling` for the Tooling
/// API's describe of the same object).
pub(crate) fn describe_json(base: &str, o: &ObjectDef) -> Json_ {
    let mut body = summary(base, o);
    body.insert(
        "fields".into(),
        o.fields.iter().map(field_json).collect::<Vec<_>>().into(),
    );
    body.insert("childRelationships".into(), json!([]));
    body.insert("recordTypeInfos".into(), json!([]));
    body.insert("supportedScopes".into(), json!([]));
    Json_::Object(body)
}

/// An object's `objectDescribe` (the head of its describe) under `base`.
pub(crate) fn summary_json(base: &str, o: &ObjectDef) -> Json_ {
    Json_::Object(summary(base, o))
}

/// `GET /sobjects/{Type}/{Id}[?fields=a,b]`: every field of the record (or those named).
async fn record(
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path((version, sobject, id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let v = check_version(&version)?;
    let params = super::params(raw);
    let o = visible(&state, &actor, &sobject).await?;
    if !o.queryable {
        return Err(not_found());
    }
    // Not an id: Salesforce reads the segment as an external id field name.
    if !ids::is_valid_id(&id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {id}"),
        ));
    }
    let fields: Vec<&FieldDef> = match params.get("fields").filter(|f| !f.trim().is_empty()) {
        None => o.fields.iter().collect(),
        Some(list) => {
            let mut out = Vec::new();
            for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                out.push(o.field(name).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "INVALID_FIELD",
                        format!("No such column '{name}' on sobject of type {}", o.name),
                    )
                })?);
            }
            out
        }
    };
    let wanted = objects::id18(&id[..15]);
    let data = objects::load(&state, &[o.name.as_str()], None).await?;
    let row = data
        .rows
        .get(&o.name)
        .and_then(|rows| rows.iter().find(|r| r.id == wanted || r.id == id[..15]))
        .ok_or_else(not_found)?;
    // An OutputRecord keeps `attributes` first and the fields in order.
    let out = OutputRecord {
        object: o.name.clone(),
        url: Some(format!("/services/data/v{v}/sobjects/{}/{wanted}", o.name)),
        fields: fields
            .iter()
            .map(|fd| {
                let value = row.values.get(&fd.name).cloned().unwrap_or(Value::Null);
                (fd.name.clone(), OutputValue::Value(value))
            })
            .collect(),
    };
    Ok(Json(out).into_response())
}

/// `POST /sobjects/{Event__e}`: publish a platform event from its custom fields. Other objects
/// are read-only in byoc.
async fn create(
    method: Method,
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path((version, sobject)): Path<(String, String)>,
    Body(body): Body<Map<String, Json_>>,
) -> Result<Response, ApiError> {
    check_version(&version)?;
    let o = visible(&state, &actor, &sobject).await?;
    if !o.name.ends_with("__e") {
        return Ok(method_not_allowed(&method, "GET,HEAD"));
    }
    let mut fields = BTreeMap::new();
    for (key, value) in body {
        let Some(fd) = o.field(&key).filter(|f| f.custom) else {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {}", o.name),
            ));
        };
        let text = match value {
            Json_::Null => None,
            Json_::String(s) => Some(s),
            Json_::Bool(b) => Some(b.to_string()),
            Json_::Number(n) => Some(n.to_string()),
            Json_::Array(_) | Json_::Object(_) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "JSON_PARSER_ERROR",
                    format!("Cannot deserialize instance of string from a JSON array or object for the field {}", fd.name),
                ))
            }
        };
        fields.insert(fd.name.clone(), text);
    }
    let org = state.admin.setup.org().await?;
    let grant = crate::pubsub::auth::Grant {
        org_id: org.id,
        user_id: actor.user.id.clone(),
        app_id: None,
        scopes: vec![],
        username: actor.user.username.clone(),
        consumer_key: None,
    };
    match state.pubsub.publish_fields(&grant, &o.name, fields).await {
        Ok(replay_id) => Ok((
            StatusCode::CREATED,
            Json(SaveResult {
                id: objects::seq_id(objects::PLATFORM_EVENT, replay_id),
                success: true,
                errors: vec![],
            }),
        )
            .into_response()),
        Err(PublishFieldsError::UnknownEvent) => Err(not_found()),
        Err(PublishFieldsError::UnknownField(name)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_FIELD",
            format!("No such column '{name}' on sobject of type {}", o.name),
        )),
        Err(PublishFieldsError::Refused(status)) => Err(match status.code() {
            tonic::Code::PermissionDenied => ApiError::new(
                StatusCode::FORBIDDEN,
                "INSUFFICIENT_ACCESS_OR_READONLY",
                status.message().to_string(),
            ),
            tonic::Code::InvalidArgument => ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                status.message().to_string(),
            ),
            _ => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred while publishing the event.",
            ),
        }),
    }
}
