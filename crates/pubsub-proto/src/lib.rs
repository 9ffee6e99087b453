//! Salesforce's Pub/Sub API, package `eventbus.v1`, generated at build time from the official
//! `specs/pubsub_api.proto` at the workspace root (CC0, <https://github.com/forcedotcom/pub-sub-api>, copied without
//! edits): the message types, the tonic server trait ([`eventbus::v1::pub_sub_server`]) and the
//! tonic client ([`eventbus::v1::pub_sub_client`]).
//!
//! The server (`byoc-server`) and the SDK's subscriber (`byoc-client`) both build on these types,
//! so their wire shapes are those of the official proto and nothing else.

#![allow(clippy::all, missing_docs)]

pub mod eventbus {
    pub mod v1 {
        tonic::include_proto!("eventbus.v1");
    }
}

pub use eventbus::v1;
