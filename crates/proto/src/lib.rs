//! Wire types shared by the byoc server, the SDK (`byoc-client`) and the CLI.
//!
//! - [`setup`]: the setup model (org, users, permission sets, External Client Apps, Connected
//!   Apps, messaging channels, Conversation Channel Definitions, the audit trail) as the admin API
//!   shows it and as the store keeps it.
//! - [`admin`]: request/response bodies of the admin API and its Salesforce-shaped errors.
//! - [`files`]: the files `byoc serve` writes in its data dir (`org.json`, `partner.env`).
//!
//! Nothing here has behaviour beyond naming; the rules live in `byoc-core`.

pub mod admin;
pub mod files;
pub mod setup;
