//! Wire types shared by the byoc server, the SDK (`byoc-client`) and the CLI.
//!
//! - [`setup`]: the setup model (org, users, permission sets, External Client Apps, Connected
//!   Apps, messaging channels, Conversation Channel Definitions, the audit trail) as the admin API
//!   shows it and as the store keeps it.
//! - [`admin`]: request/response bodies of the admin API and its Salesforce-shaped errors.
//! - [`oauth`]: the token endpoint's answers, introspection, identity, login history.
//! - [`interaction`]: the Interaction Service API's requests, responses and error body, and
//!   the admin view of conversations.
//! - [`interaction_requests`]: the Interaction Service API's request bodies, typed for clients
//!   (the SDK sends them; the server reads bodies leniently).
//! - [`outbound`]: the `InteractionEvent` an agent reply publishes, and the agent reply API.
//! - [`rest`]: the REST API's versions, query results and save results.
//! - [`files`]: the files `byoc serve` writes in its data dir (`org.json`, `partner.env`).
//!
//! Nothing here has behaviour beyond naming; the rules live in `byoc-core`.

pub mod admin;
pub mod files;
pub mod interaction;
pub mod interaction_requests;
pub mod oauth;
pub mod outbound;
pub mod rest;
pub mod setup;
