//! gRPC errors of the Pub/Sub API, with Salesforce's `error-code` trailer
//! (<https://developer.salesforce.com/docs/platform/pub-sub-api/guide/handling-errors.html>).
//! docs/pubsub.md lists which codes byoc sends and where each one comes from.

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

/// Authentication failed (missing or invalid `accesstoken`, `instanceurl`, `tenantid`).
pub const AUTH_ERROR: &str = "sfdc.platform.eventbus.grpc.service.auth.error";
/// A CUSTOM replay id that is malformed, in the future, or older than the retention window.
pub const REPLAY_ID_CORRUPTED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
/// A CUSTOM replay preset without a replay id.
pub const REPLAY_ID_VALIDATION_FAILED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed";
/// A negative `num_requested`.
pub const REQUESTED_EVENTS_INVALID: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid";
/// A later `FetchRequest` names another topic than the first one (byoc's choice of code).
pub const TOPIC_CHANGED: &str = "sfdc.platform.eventbus.grpc.subscription.fetch.topic.change";
/// The topic does not exist or is not a topic this org offers.
pub const TOPIC_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.topic.notfound";
/// The schema id is unknown.
pub const SCHEMA_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.schema.notfound";
/// A publish request that can't be accepted as a whole (no topic, no events).
pub const PUBLISH_INVALID: &str = "sfdc.platform.eventbus.grpc.publish.request.invalid";
/// The user lacks *Read* on the topic's platform event (Subscribe). byoc's choice of code, in
/// the family of the documented ones (docs/pubsub.md).
pub const SUBSCRIBE_NOT_AUTHORIZED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.authorization.error";
/// The user lacks *Create* on the topic's platform event (Publish, PublishStream).
pub const PUBLISH_NOT_AUTHORIZED: &str = "sfdc.platform.eventbus.grpc.publish.authorization.error";
/// The user lacks *Read* on the topic's platform event (GetTopic).
pub const TOPIC_NOT_AUTHORIZED: &str = "sfdc.platform.eventbus.grpc.topic.authorization.error";
/// The user lacks *Read* on the platform event the schema belongs to (GetSchema).
pub const SCHEMA_NOT_AUTHORIZED: &str = "sfdc.platform.eventbus.grpc.schema.authorization.error";
/// The store failed; the message carries an id that the server log has with the cause.
pub const SERVICE_UNAVAILABLE: &str = "sfdc.platform.eventbus.grpc.service.unavailable";

/// A status with the `error-code` trailer and an `rpcId` (Salesforce appends it to the message).
pub fn status(code: Code, error_code: &str, message: impl AsRef<str>) -> Status {
    let rpc_id = uuid::Uuid::new_v4().to_string();
    let mut metadata = MetadataMap::new();
    if let Ok(v) = MetadataValue::try_from(error_code) {
        metadata.insert("error-code", v);
    }
    if let Ok(v) = MetadataValue::try_from(rpc_id.as_str()) {
        metadata.insert("rpc-id", v);
    }
    Status::with_metadata(
        code,
        format!("{} rpcId: {rpc_id}", message.as_ref()),
        metadata,
    )
}

pub fn unauthenticated(why: &str) -> Status {
    status(Code::Unauthenticated, AUTH_ERROR, format!("An authentication exception occurred: {why}. Provide valid authentication via metadata headers."))
}

/// The caller is known but its user lacks the object permission `needed` (`Read`, `Create`) on
/// the platform event of `topic`: `PERMISSION_DENIED`, the gRPC status for an identified caller
/// without permission (`UNAUTHENTICATED` stays for unknown callers).
pub fn permission_denied(error_code: &str, needed: &str, topic: &str, action: &str) -> Status {
    let object = topic
        .strip_prefix(byoc_core::events::TOPIC_PREFIX)
        .unwrap_or(topic);
    status(
        Code::PermissionDenied,
        error_code,
        format!(
            "Insufficient permissions: you need {needed} access on {object} to {action} {topic}."
        ),
    )
}

pub fn invalid_argument(error_code: &str, message: impl AsRef<str>) -> Status {
    status(Code::InvalidArgument, error_code, message)
}

pub fn topic_not_found(topic: &str) -> Status {
    status(
        Code::NotFound,
        TOPIC_NOT_FOUND,
        format!("Topic {topic} doesn't exist or you don't have access to it."),
    )
}

/// Never echo a database error: log it under an id and hand out the id.
pub fn store_failure(e: &byoc_store::StoreError) -> Status {
    let error_id = uuid::Uuid::new_v4().simple().to_string();
    tracing::error!(error_id, error = %e, "Pub/Sub store failure");
    status(
        Code::Unavailable,
        SERVICE_UNAVAILABLE,
        format!("The Pub/Sub API service is unavailable. ErrorId: {error_id}"),
    )
}
