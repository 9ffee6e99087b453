//! The Tooling API's `ConversationChannelDefinition`:
//! `POST/GET/PATCH/DELETE /services/data/vXX.X/tooling/sobjects/ConversationChannelDefinition[/{Id}]`
//! and its `describe`, and the `ConversationChannelDefinition` / `ConversationVendorInfo` objects
//! as SOQL and describe see them (on both `/query` and `/tooling/query`).
//!
//! A create or update takes the flat fields (`{"DeveloperName": …, "MasterLabel": …}`) or the
//! metadata form Tooling clients send for metadata types (`{"FullName": …, "Metadata": {…}}`),
//! and runs the same rules and audit trail as `byoc setup` ([`byoc_core::setup::ccd`]).
//! docs/rest-api.md "Tooling API" lists the fields and where byoc differs from Salesforce.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use byoc_core::setup::ccd::{missing_required, CcdInput};
use byoc_core::SetupError;
use byoc_proto::setup::{AppManagedBy, ChannelType, ConversationChannelDefinition, Owner};
use byoc_soql::{Dataset, FieldDef, FieldType, ObjectDef, Row, Value};
use serde_json::{json, Map, Value as Json_};

use super::{check_version, method_not_allowed, not_found, RestCaller, RestState};
use crate::admin_api::ApiError;
use crate::setup_service::{id15, CcdRecord, ServiceError, CCD_KEY_PREFIX};

const CCD: &str = "ConversationChannelDefinition";
const VENDOR_INFO: &str = "ConversationVendorInfo";
/// The key prefix of the `ConversationVendorInfo` rows byoc derives, one per CCD.
const VENDOR_INFO_KEY_PREFIX: &str = "0mS";

pub fn router(state: RestState) -> Router {
    let root = "/services/data/{version}/tooling/sobjects/{sobject}";
    Router::new()
        .route(
            root,
            post(create)
                .get(basic_info)
                .fallback(|m: axum::http::Method| async move {
                    method_not_allowed(&m, "GET,HEAD,POST")
                }),
        )
        .route(
            &format!("{root}/"),
            post(create)
                .get(basic_info)
                .fallback(|m: axum::http::Method| async move {
                    method_not_allowed(&m, "GET,HEAD,POST")
                }),
        )
        .route(
            &format!("{root}/describe"),
            get(describe).fallback(|m: axum::http::Method| async move {
                method_not_allowed(&m, "GET,HEAD")
            }),
        )
        .route(
            &format!("{root}/{{id}}"),
            get(read)
                .merge(patch(update))
                .merge(delete(remove))
                .fallback(|m: axum::http::Method| async move {
                    method_not_allowed(&m, "GET,HEAD,PATCH,DELETE")
                }),
        )
        .with_state(state)
}

// ---- errors -------------------------------------------------------------------------------

/// One REST error (`[{"message","errorCode","fields"}]`) with the status it is answered with.
struct ToolingError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Vec<String>,
}

/// Why a Tooling call was refused: an error of this module's, or the REST layer's.
enum Refusal {
    Own(ToolingError),
    Rest(ApiError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Own(e) => e.into_response(),
            Refusal::Rest(e) => e.into_response(),
        }
    }
}

type Result<T> = std::result::Result<T, Refusal>;

impl ToolingError {
    fn bad(code: &'static str, message: impl Into<String>, fields: &[&str]) -> Refusal {
        Refusal::Own(ToolingError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            fields: fields.iter().map(|f| f.to_string()).collect(),
        })
    }
}

impl IntoResponse for ToolingError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!([{
                "message": self.message,
                "errorCode": self.code,
                "fields": self.fields,
            }])),
        )
            .into_response()
    }
}

fn api(e: ApiError) -> Refusal {
    Refusal::Rest(e)
}

/// A setup refusal in the Tooling API's words.
fn service_error(e: ServiceError) -> Refusal {
    let ServiceError::Setup(e) = e else {
        return api(ApiError::from(e));
    };
    match e {
        SetupError::NotFound { .. } => api(not_found()),
        SetupError::InsufficientAccess(message) => ToolingError::bad(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            format!("insufficient access rights on object id: {message}"),
            &[],
        ),
        SetupError::ConnectedAppCreationDisabled => api(ApiError::from(e)),
        SetupError::Duplicate(message) => {
            ToolingError::bad("DUPLICATE_DEVELOPER_NAME", message, &["DeveloperName"])
        }
        SetupError::InvalidField { field, message } => {
            let code = if message.starts_with("bad value for restricted picklist field") {
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
            } else {
                "FIELD_INTEGRITY_EXCEPTION"
            };
            ToolingError::bad(code, message, &[field])
        }
        SetupError::NotAllowed(message) => ToolingError::bad("DELETE_FAILED", message, &[]),
    }
}

// ---- the request body ---------------------------------------------------------------------

/// A settable field: its Tooling (PascalCase) and Metadata (camelCase) names and its slot.
type Slot = fn(&mut CcdInput) -> &mut Option<String>;

const SETTABLE: [(&str, &str, Slot); 10] = [
    ("DeveloperName", "developerName", |i| &mut i.developer_name),
    ("MasterLabel", "masterLabel", |i| &mut i.master_label),
    ("CustomPlatformEvent", "customPlatformEvent", |i| {
        &mut i.custom_platform_event
    }),
    ("CustomEventPayloadField", "customEventPayloadField", |i| {
        &mut i.custom_event_payload_field
    }),
    ("CustomEventTypeField", "customEventTypeField", |i| {
        &mut i.custom_event_type_field
    }),
    (
        "CustomEventChannelAddressIdField",
        "customEventChannelAddressIdField",
        |i| &mut i.custom_event_channel_address_id_field,
    ),
    (
        "CustomEventRecipientField",
        "customEventRecipientField",
        |i| &mut i.custom_event_recipient_field,
    ),
    ("RoutingOwner", "routingOwner", |i| &mut i.routing_owner),
    ("ConsentOwner", "consentOwner", |i| &mut i.consent_owner),
    ("ConnectedAppType", "connectedAppType", |i| {
        &mut i.connected_app_type
    }),
];

/// Fields Salesforce has on the object that a create or update can't set (system fields, or
/// byoc keeps one vendor info per CCD); naming one is refused as Salesforce refuses a
/// read-only field.
const READ_ONLY: [&str; 12] = [
    "Id",
    "ConversationVendorInfoId",
    "ConnectedAppOauthLink",
    "NamespacePrefix",
    "ManageableState",
    "Language",
    "IsProtected",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
];

/// Metadata properties Salesforce documents that byoc accepts and keeps nothing of (no vendor
/// info records of their own, no capabilities, no protection): docs/rest-api.md.
const METADATA_IGNORED: [&str; 4] = [
    "conversationVendorInfo",
    "isProtected",
    "connectedAppOauthLink",
    "urls",
];

/// The body as a [`CcdInput`]; `nulls` lists fields explicitly set to null (or "").
fn parse_body(body: &Bytes) -> Result<(CcdInput, Vec<&'static str>)> {
    let value: Json_ = serde_json::from_slice(body).map_err(|e| {
        ToolingError::bad(
            "JSON_PARSER_ERROR",
            format!("{e} at [line:{}, column:{}]", e.line(), e.column()),
            &[],
        )
    })?;
    let Json_::Object(top) = value else {
        return Err(ToolingError::bad(
            "JSON_PARSER_ERROR",
            "Cannot deserialize instance of ConversationChannelDefinition from a value that is not a JSON object at [line:1, column:1]",
            &[],
        ));
    };
    let mut input = CcdInput::default();
    let mut nulls = Vec::new();
    // The metadata form: FullName (the developer name) and Metadata's camelCase properties.
    let mut flat = Map::new();
    for (key, v) in top {
        if key.eq_ignore_ascii_case("Metadata") {
            let Json_::Object(m) = v else {
                return Err(ToolingError::bad(
                    "JSON_PARSER_ERROR",
                    "Metadata must be a JSON object",
                    &[],
                ));
            };
            for (mk, mv) in m {
                if METADATA_IGNORED.iter().any(|k| k.eq_ignore_ascii_case(&mk))
                    || mk.starts_with("capabilities")
                {
                    continue;
                }
                let Some((tooling, _, _)) = SETTABLE
                    .iter()
                    .find(|(_, meta, _)| meta.eq_ignore_ascii_case(&mk))
                else {
                    return Err(ToolingError::bad(
                        "JSON_PARSER_ERROR",
                        format!("Unrecognized field \"{mk}\" in the Metadata of {CCD}"),
                        &[],
                    ));
                };
                flat.insert(tooling.to_string(), mv);
            }
        } else if key.eq_ignore_ascii_case("FullName") {
            flat.insert("DeveloperName".into(), v);
        } else {
            flat.insert(key, v);
        }
    }
    for (key, v) in flat {
        let Some((name, _, slot)) = SETTABLE
            .iter()
            .find(|(tooling, _, _)| tooling.eq_ignore_ascii_case(&key))
        else {
            if READ_ONLY.iter().any(|f| f.eq_ignore_ascii_case(&key)) {
                return Err(ToolingError::bad(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    format!("Unable to create/update fields: {key}. Please check the security settings of this field and verify that it is read/write for your profile or permission set."),
                    &[&key],
                ));
            }
            return Err(ToolingError::bad(
                "INVALID_FIELD",
                format!("No such column '{key}' on sobject of type {CCD}"),
                &[],
            ));
        };
        match v {
            Json_::String(s) if s.trim().is_empty() => nulls.push(*name),
            Json_::String(s) => *slot(&mut input) = Some(s),
            Json_::Null => nulls.push(*name),
            other => {
                return Err(ToolingError::bad(
                    "JSON_PARSER_ERROR",
                    format!(
                        "Cannot deserialize instance of string from {} value for field {name}",
                        json_kind(&other)
                    ),
                    &[],
                ))
            }
        }
    }
    Ok((input, nulls))
}

fn json_kind(v: &Json_) -> &'static str {
    match v {
        Json_::Bool(_) => "boolean",
        Json_::Number(_) => "number",
        Json_::Array(_) => "array",
        Json_::Object(_) => "object",
        _ => "string",
    }
}

fn required_missing(fields: &[&str]) -> Refusal {
    ToolingError::bad(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", fields.join(", ")),
        fields,
    )
}

/// `{sobject}` must be ConversationChannelDefinition (case-insensitive, as Salesforce); any
/// other Tooling object is one byoc doesn't serve.
fn check_object(version: &str, sobject: &str) -> Result<&'static str> {
    let v = check_version(version).map_err(api)?;
    if !sobject.eq_ignore_ascii_case(CCD) {
        return Err(api(not_found()));
    }
    Ok(v)
}

// ---- handlers -----------------------------------------------------------------------------

/// `POST …/tooling/sobjects/ConversationChannelDefinition`: 201 with a SaveResult.
async fn create(
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path((version, sobject)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response> {
    check_object(&version, &sobject)?;
    let (input, _) = parse_body(&body)?;
    let missing = missing_required(&input);
    if !missing.is_empty() {
        return Err(required_missing(&missing));
    }
    let out = state
        .admin
        .setup
        .create_ccd(&actor, &input)
        .await
        .map_err(service_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id18(&out.record.id),
            "success": true,
            "errors": [],
            "warnings": [],
            "infos": [],
        })),
    )
        .into_response())
}

/// `GET …/ConversationChannelDefinition/{Id}`: the record's fields, `FullName` and `Metadata`.
async fn read(
    RestCaller(_actor): RestCaller,
    State(state): State<RestState>,
    Path((version, sobject, id)): Path<(String, String, String)>,
) -> Result<Response> {
    let v = check_object(&version, &sobject)?;
    let record = find(&state, &id).await?;
    Ok(Json(record_json(v, &record)).into_response())
}

/// `PATCH …/ConversationChannelDefinition/{Id}`: 204.
async fn update(
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path((version, sobject, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response> {
    check_object(&version, &sobject)?;
    let record = find(&state, &id).await?;
    let (input, nulls) = parse_body(&body)?;
    // Every settable field is required but the two with defaults.
    let cleared: Vec<&str> = nulls
        .into_iter()
        .filter(|f| {
            !matches!(
                *f,
                "CustomEventChannelAddressIdField" | "CustomEventRecipientField"
            )
        })
        .collect();
    if !cleared.is_empty() {
        return Err(required_missing(&cleared));
    }
    state
        .admin
        .setup
        .update_ccd(&actor, &record.id, &input)
        .await
        .map_err(service_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE …/ConversationChannelDefinition/{Id}`: 204; refused while a channel uses it.
async fn remove(
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path((version, sobject, id)): Path<(String, String, String)>,
) -> Result<Response> {
    check_object(&version, &sobject)?;
    let record = find(&state, &id).await?;
    state
        .admin
        .setup
        .delete_ccd(&actor, &record.id)
        .await
        .map_err(service_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET …/tooling/sobjects/ConversationChannelDefinition/describe`.
async fn describe(
    RestCaller(_actor): RestCaller,
    Path((version, sobject)): Path<(String, String)>,
) -> Result<Response> {
    let v = check_object(&version, &sobject)?;
    Ok(Json(super::sobjects::describe_json(
        &format!("/services/data/v{v}/tooling"),
        &ccd_object(),
    ))
    .into_response())
}

/// `GET …/tooling/sobjects/ConversationChannelDefinition`: the object's summary and recent
/// items (byoc keeps none).
async fn basic_info(
    RestCaller(_actor): RestCaller,
    Path((version, sobject)): Path<(String, String)>,
) -> Result<Response> {
    let v = check_object(&version, &sobject)?;
    Ok(Json(json!({
        "objectDescribe": super::sobjects::summary_json(
            &format!("/services/data/v{v}/tooling"),
            &ccd_object(),
        ),
        "recentItems": [],
    }))
    .into_response())
}

async fn find(state: &RestState, id: &str) -> Result<CcdRecord> {
    // Not an id of this object: Salesforce's 404 for a record it can't find.
    if id15(id).is_none_or(|id| !id.starts_with(CCD_KEY_PREFIX)) {
        return Err(api(not_found()));
    }
    state
        .admin
        .setup
        .ccd_record(id)
        .await
        .map_err(service_error)
}

// ---- records as JSON ----------------------------------------------------------------------

fn id18(id: &str) -> String {
    byoc_core::ids::to_18(id).unwrap_or_else(|| id.to_string())
}

fn vendor_info_id(ccd_id: &str) -> String {
    id18(&format!(
        "{VENDOR_INFO_KEY_PREFIX}{}",
        ccd_id.get(3..15).unwrap_or_default()
    ))
}

/// The `VendorType` of a CCD's vendor info: Bring Your Own Channel for CCaaS channels
/// (Salesforce's `BringYourOwnContactCenter`), Bring Your Own Channel (Messaging) otherwise.
fn vendor_type(record: &CcdRecord) -> &'static str {
    match record.channel.as_ref().map(|c| c.channel_type) {
        Some(ChannelType::ByocCcaas) => "BringYourOwnContactCenter",
        _ => "BringYourOwnChannel",
    }
}

fn owner(o: Owner) -> &'static str {
    match o {
        Owner::Salesforce => "Salesforce",
        Owner::Partner => "Partner",
    }
}

fn app_type(t: AppManagedBy) -> &'static str {
    match t {
        AppManagedBy::Partner => "Partner",
        AppManagedBy::Customer => "Customer",
    }
}

/// The field values of a CCD, in [`ccd_object`]'s order.
fn ccd_values(record: &CcdRecord) -> Vec<(&'static str, Value)> {
    let c: &ConversationChannelDefinition = &record.ccd;
    let s = |v: &str| Value::String(v.to_string());
    vec![
        ("Id", s(&id18(&record.id))),
        ("DeveloperName", s(&c.developer_name)),
        ("Language", s("en_US")),
        ("MasterLabel", s(&c.master_label)),
        ("NamespacePrefix", Value::Null),
        ("ManageableState", s("unmanaged")),
        ("CreatedDate", Value::DateTime(c.created_at)),
        ("LastModifiedDate", Value::DateTime(c.last_modified_at)),
        ("SystemModstamp", Value::DateTime(c.last_modified_at)),
        ("ConnectedAppOauthLink", Value::Null),
        ("ConnectedAppType", s(app_type(c.connected_app_type))),
        ("ConsentOwner", s(owner(c.consent_owner))),
        ("ConversationVendorInfoId", s(&vendor_info_id(&record.id))),
        ("CustomEventPayloadField", s(&c.custom_event_payload_field)),
        ("CustomEventTypeField", s(&c.custom_event_type_field)),
        ("CustomPlatformEvent", s(&c.custom_platform_event)),
        (
            "CustomEventChannelAddressIdField",
            s(&c.custom_event_channel_address_id_field),
        ),
        (
            "CustomEventRecipientField",
            s(&c.custom_event_recipient_field),
        ),
        ("IsProtected", Value::Bool(false)),
        ("RoutingOwner", s(owner(c.routing_owner))),
    ]
}

/// A Tooling GET's answer: `attributes`, the fields, then `FullName` and `Metadata` (the
/// metadata type's camelCase properties), as Salesforce answers for metadata-backed objects.
fn record_json(version: &str, record: &CcdRecord) -> Json_ {
    let c = &record.ccd;
    let mut m = Map::new();
    m.insert(
        "attributes".into(),
        json!({
            "type": CCD,
            "url": format!("/services/data/v{version}/tooling/sobjects/{CCD}/{}", id18(&record.id)),
        }),
    );
    for (name, value) in ccd_values(record) {
        m.insert(name.into(), value.to_json());
    }
    m.insert("FullName".into(), json!(c.developer_name));
    m.insert(
        "Metadata".into(),
        json!({
            "connectedAppOauthLink": null,
            "connectedAppType": app_type(c.connected_app_type),
            "consentOwner": owner(c.consent_owner),
            "conversationVendorInfo": c.developer_name,
            "customEventChannelAddressIdField": c.custom_event_channel_address_id_field,
            "customEventPayloadField": c.custom_event_payload_field,
            "customEventRecipientField": c.custom_event_recipient_field,
            "customEventTypeField": c.custom_event_type_field,
            "customPlatformEvent": c.custom_platform_event,
            "developerName": c.developer_name,
            "isProtected": false,
            "masterLabel": c.master_label,
            "routingOwner": owner(c.routing_owner),
            "urls": null,
        }),
    );
    Json_::Object(m)
}

// ---- describe and rows ----------------------------------------------------------------------

fn object(name: &str, label: &str, plural: &str, prefix: &str, fields: Vec<FieldDef>) -> ObjectDef {
    ObjectDef {
        name: name.into(),
        label: label.into(),
        label_plural: plural.into(),
        key_prefix: Some(prefix.into()),
        custom: false,
        queryable: true,
        createable: false,
        updateable: false,
        deletable: false,
        fields,
    }
}

fn picklist(name: &str, label: &str, values: &[&str], settable: bool) -> FieldDef {
    FieldDef {
        picklist_values: values.iter().map(|v| v.to_string()).collect(),
        createable: settable,
        updateable: settable,
        ..FieldDef::new(name, label, FieldType::Picklist)
    }
}

fn settable(name: &str, label: &str, length: u32, nillable: bool) -> FieldDef {
    FieldDef {
        createable: true,
        updateable: true,
        length,
        nillable,
        ..FieldDef::new(name, label, FieldType::String)
    }
}

/// `ConversationChannelDefinition`'s describe.
pub fn ccd_object() -> ObjectDef {
    let owners = ["Salesforce", "Partner"];
    ObjectDef {
        createable: true,
        updateable: true,
        deletable: true,
        ..object(
            CCD,
            "Conversation Channel Definition",
            "Conversation Channel Definitions",
            CCD_KEY_PREFIX,
            vec![
                FieldDef::new("Id", "Conversation Channel Definition ID", FieldType::Id),
                settable("DeveloperName", "Name", 40, false),
                FieldDef::new("Language", "Master Language", FieldType::Picklist),
                settable("MasterLabel", "Label", 80, false),
                FieldDef::new("NamespacePrefix", "Namespace Prefix", FieldType::String),
                FieldDef::new("ManageableState", "Manageable State", FieldType::Picklist),
                FieldDef::new("CreatedDate", "Created Date", FieldType::Datetime),
                FieldDef::new(
                    "LastModifiedDate",
                    "Last Modified Date",
                    FieldType::Datetime,
                ),
                FieldDef::new("SystemModstamp", "System Modstamp", FieldType::Datetime),
                FieldDef::new(
                    "ConnectedAppOauthLink",
                    "Connected App Oauth Link",
                    FieldType::String,
                ),
                picklist(
                    "ConnectedAppType",
                    "Connected App Type",
                    &["Partner", "Customer"],
                    true,
                ),
                picklist("ConsentOwner", "Consent Owner", &owners, true),
                FieldDef::reference(
                    "ConversationVendorInfoId",
                    "Conversation Vendor Information ID",
                    VENDOR_INFO,
                    VENDOR_INFO,
                ),
                settable(
                    "CustomEventPayloadField",
                    "Custom Field Definition for Payload",
                    255,
                    false,
                ),
                settable(
                    "CustomEventTypeField",
                    "Custom Field Definition for Event Type",
                    255,
                    false,
                ),
                settable("CustomPlatformEvent", "Custom Platform Event", 255, false),
                settable(
                    "CustomEventChannelAddressIdField",
                    "Custom Field Definition for Channel Address ID",
                    255,
                    true,
                ),
                settable(
                    "CustomEventRecipientField",
                    "Custom Field Definition for Recipient",
                    255,
                    true,
                ),
                FieldDef::new("IsProtected", "Protected Component", FieldType::Boolean),
                picklist("RoutingOwner", "Routing Owner", &owners, true),
            ],
        )
    }
}

/// `ConversationVendorInfo`'s describe.
pub fn vendor_info_object() -> ObjectDef {
    object(
        VENDOR_INFO,
        "Conversation Vendor Information",
        "Conversation Vendor Information",
        VENDOR_INFO_KEY_PREFIX,
        vec![
            FieldDef::new("Id", "Conversation Vendor Information ID", FieldType::Id),
            FieldDef::new("DeveloperName", "Name", FieldType::String),
            FieldDef::new("Language", "Master Language", FieldType::Picklist),
            FieldDef::new("MasterLabel", "Label", FieldType::String),
            FieldDef::new("NamespacePrefix", "Namespace Prefix", FieldType::String),
            picklist(
                "VendorType",
                "Vendor Type",
                &["BringYourOwnChannel", "BringYourOwnContactCenter"],
                false,
            ),
            FieldDef::new("ConnectorUrl", "Connector URL", FieldType::Url),
            FieldDef::new("CreatedDate", "Created Date", FieldType::Datetime),
            FieldDef::new(
                "LastModifiedDate",
                "Last Modified Date",
                FieldType::Datetime,
            ),
        ],
    )
}

/// The rows of both objects from the CCD records, into `data` under their object names: one
/// `ConversationVendorInfo` per CCD (byoc keeps no vendor info records of their own; its id is
/// the CCD's with the vendor info key prefix, its names the CCD's).
pub fn ccd_rows(records: &[CcdRecord], data: &mut Dataset) {
    let mut ccds = Vec::new();
    let mut vendors = Vec::new();
    for r in records {
        let vendor_id = vendor_info_id(&r.id);
        ccds.push(Row {
            id: id18(&r.id),
            values: ccd_values(r)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        });
        let s = |v: &str| Value::String(v.to_string());
        vendors.push(Row {
            id: vendor_id.clone(),
            values: [
                ("Id", s(&vendor_id)),
                ("DeveloperName", s(&r.ccd.developer_name)),
                ("Language", s("en_US")),
                ("MasterLabel", s(&r.ccd.master_label)),
                ("NamespacePrefix", Value::Null),
                ("VendorType", s(vendor_type(r))),
                ("ConnectorUrl", Value::Null),
                ("CreatedDate", Value::DateTime(r.ccd.created_at)),
                ("LastModifiedDate", Value::DateTime(r.ccd.last_modified_at)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        });
    }
    data.rows.insert(CCD.into(), ccds);
    data.rows.insert(VENDOR_INFO.into(), vendors);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> (CcdInput, Vec<&'static str>) {
        match parse_body(&Bytes::from(body.to_string())) {
            Ok(p) => p,
            Err(_) => panic!("refused: {body}"),
        }
    }

    #[test]
    fn the_metadata_form_and_the_flat_form_give_the_same_input() {
        let (meta, _) = parsed(
            r#"{"FullName":"Acme","Metadata":{"masterLabel":"A","customPlatformEvent":"E__e",
                "capabilitiesSupportsKeywords":true,"conversationVendorInfo":"acme"}}"#,
        );
        let (flat, _) =
            parsed(r#"{"developername":"Acme","MasterLabel":"A","CustomPlatformEvent":"E__e"}"#);
        assert_eq!(meta, flat);
        assert_eq!(meta.developer_name.as_deref(), Some("Acme"));
    }

    #[test]
    fn nulls_and_blanks_are_listed_and_bad_shapes_refused() {
        let (input, nulls) = parsed(r#"{"MasterLabel":null,"RoutingOwner":" "}"#);
        assert_eq!(input, CcdInput::default());
        assert_eq!(nulls, ["MasterLabel", "RoutingOwner"]);
        for bad in [
            "",
            "[]",
            "\"x\"",
            r#"{"Metadata":[]}"#,
            r#"{"Metadata":{"colour":"red"}}"#,
            r#"{"MasterLabel":{}}"#,
            r#"{"Id":"0Yd"}"#,
            r#"{"Nope":"x"}"#,
        ] {
            assert!(parse_body(&Bytes::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_settable_field_is_in_the_describe_as_createable() {
        let o = ccd_object();
        for (name, _, _) in SETTABLE {
            let f = o.field(name).unwrap_or_else(|| panic!("{name}"));
            assert!(f.createable && f.updateable, "{name}");
        }
        for name in READ_ONLY {
            if let Some(f) = o.field(name) {
                assert!(!f.createable, "{name}");
            }
        }
    }
}
