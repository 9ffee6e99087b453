//! byoc end to end: real servers (HTTP, gRPC over TLS, SQLite and PostgreSQL) driven the way a
//! partner or an admin would. One test binary for the crate, so the workspace links it once.
//!
//! - `setup`: the org, users, permissions, apps, channels and CCDs through the admin API.
//! - `oauth`: the JWT Bearer token endpoint, access tokens, identity endpoints, login history.
//! - `grants`: the client credentials and username-password flows, consumer secrets, run-as users.
//! - `interactions`: every Interaction API operation and its authorization chain.
//! - `pubsub`: platform events over the Pub/Sub API, replay, flow control, the echo agent.
//! - `platform_events`: Pub/Sub at a glance (Setup > Platform Events): topics, stored events,
//!   open subscriptions.
//! - `authz`: who may call the admin API and as whom; tokens that die with their user or app.
//! - `console` (and `console_*`): the web console over HTTP, as a browser without JavaScript.
//! - `connections`: early refusals never break a keep-alive connection.
//! - `inspector`: the request inspector: recorded calls, masking, the wire unchanged, follow.
//! - `rest`: the REST API: versions, SOQL on every object, paging, describe, records,
//!   publishing a platform event, who sees which object.
//! - `live`: the console's live feed (SSE), resume by event id, across instances on PostgreSQL.
//! - `soap`: the SOAP API's `login`, its faults, and its session id on the other APIs.
//! - `tooling`: the Tooling API's ConversationChannelDefinition, and a channel built on one.

mod authz;
mod connections;
mod console;
mod console_agent;
mod console_apps;
mod console_auth;
mod console_org;
mod console_people;
mod console_review;
mod grants;
mod https;
mod inspector;
mod interactions;
mod live;
mod oauth;
mod platform_event_definitions;
mod platform_events;
mod pubsub;
mod rest;
mod setup;
mod soap;
mod tooling;
