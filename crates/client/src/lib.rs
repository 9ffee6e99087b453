//! The byoc SDK.
//!
//! - [`AdminClient`]: the admin API of a byoc org (`/admin/v1/...` on the login host, described in
//!   `docs/admin-api.md`), one async method per route, answering the records of
//!   [`byoc_proto::setup`] and, for writes, [`Saved`] with the warnings Setup would show.
//!   `byoc setup ...` is a thin layer over it.
//! - [`ClientError`]: what went wrong, split the way a caller acts on it: the org refused
//!   ([`ClientError::Api`], with Salesforce's REST error entries), the server could not be reached
//!   or did not answer ([`ClientError::Transport`]), or it answered something unexpected
//!   ([`ClientError::Decode`]).
//!
//! - [`settings`]: [`settings::PartnerSettings`], a connector's settings from a
//!   `partner.env`-style file or the environment, named as in Salesforce's BYOC samples.
//! - [`token`]: the JWT Bearer flow — sign an assertion with the partner's key, trade it for an
//!   access token at byoc or at real Salesforce — and [`token::TokenProvider`], which caches the
//!   token, refreshes it before expiry and after a refusal, one request in flight at a time.
//! - [`interaction`]: [`interaction::InteractionClient`], every operation of the Interaction
//!   Service API with the required headers, multipart for files, typed `{code, message}` errors
//!   and one retry with a new token after code 10004.
//! - [`pubsub`]: a Pub/Sub API subscriber (TLS, auth metadata, flow control, Avro decoding,
//!   reconnect-and-resume by replay id), for byoc and real Salesforce.
//! - [`agent`]: the agent's reply in a conversation (`byoc agent reply`).
//! - [`logins`]: [`AdminClient::login_history`], the login history with byoc's diagnosis.
//! - [`metadata`]: [`AdminClient::retrieve_metadata`] and [`AdminClient::deploy_metadata`], the
//!   org's setup as a Salesforce DX project and back.
//! - [`rest`]: [`rest::RestClient`], Salesforce's REST API for an instance URL and an access
//!   token: SOQL (`query`, `query_all`, `tooling_query`) following `nextRecordsUrl`.
//!
//! Record names go into URL paths percent-encoded (names have spaces), so any name Setup accepts
//! can be passed as is.

#![warn(missing_docs)]

pub mod agent;
pub mod clock;
pub mod conversations;
pub mod inspector;
pub mod interaction;
pub mod logins;
pub mod metadata;
pub mod platform_events;
pub mod pubsub;
pub mod reset;
pub mod rest;
pub mod settings;
pub mod token;

#[cfg(test)]
mod testing;

use std::fmt;
use std::time::Duration;

use byoc_proto::admin::AppInput;
use byoc_proto::admin::{
    AssignmentChange, LinkApp, MigrateConnectedApp, NewChannel, NewPermissionSet, NewUser,
    PasswordReset, PolicyInput, RestError, Saved, SetPassword, UpdateOrg, UpdatePermissionSet,
    UpdateUser, ACT_AS_HEADER,
};
use byoc_proto::setup::{
    App, AuditEntry, ConversationChannelDefinition, MessagingChannel, Org, PermissionSet, Profile,
    User,
};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

/// How long one admin request may take, connect included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for the TCP connection; a local server answers at once or not at all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of an unexpected body an error message quotes.
const BODY_SNIPPET_CHARS: usize = 300;

/// Why an admin API call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The org answered with an error status. `errors` is Salesforce's REST error array (never
    /// empty: a body that is not that array becomes one entry quoting it); `Display` joins the
    /// messages.
    #[error("{}", join_messages(.errors))]
    Api {
        /// The HTTP status.
        status: u16,
        /// Salesforce's REST error entries.
        errors: Vec<RestError>,
    },
    /// The request did not get an answer: server not running, wrong address, timeout.
    #[error("{0}")]
    Transport(String),
    /// The server answered, but not with what this route returns (a different program on that
    /// port, or a client/server version mismatch).
    #[error("{0}")]
    Decode(String),
    /// The base URL given to [`AdminClient::new`] is unusable.
    #[error("{0}")]
    InvalidUrl(String),
}

impl ClientError {
    /// The HTTP status of an [`ClientError::Api`] error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The REST error entries of an [`ClientError::Api`] error (empty for the other kinds).
    pub fn rest_errors(&self) -> &[RestError] {
        match self {
            ClientError::Api { errors, .. } => errors,
            _ => &[],
        }
    }

    /// Whether any REST error entry carries this `errorCode` (e.g. `NOT_FOUND`).
    pub fn has_error_code(&self, code: &str) -> bool {
        self.rest_errors().iter().any(|e| e.error_code == code)
    }
}

fn join_messages(errors: &[RestError]) -> String {
    errors
        .iter()
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// A client of one org's admin API, acting as the bootstrap admin or, after
/// [`AdminClient::act_as`], as another user of the org.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base_url: Url,
    admin_token: String,
    act_as: Option<String>,
}

// Hand-written so the admin credential never lands in a log line.
impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminClient")
            .field("base_url", &self.base_url.as_str())
            .field("admin_token", &"<redacted>")
            .field("act_as", &self.act_as)
            .finish()
    }
}

impl AdminClient {
    /// A client for the byoc login host at `base_url` (e.g. `http://127.0.0.1:6101`, the
    /// `login_url` of `org.json`) with the `admin_token` of `org.json`.
    pub fn new(base_url: &str, admin_token: &str) -> Result<AdminClient, ClientError> {
        let base_url = parse_base_url(base_url)?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("byoc-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Transport(format!("can't set up the HTTP client: {e}")))?;
        Ok(AdminClient {
            http,
            base_url,
            admin_token: admin_token.to_string(),
            act_as: None,
        })
    }

    /// Act as another user of the org (Setup's *Login As*): every call is then checked against
    /// that user's profile and permission sets. `None` goes back to the bootstrap admin.
    pub fn act_as(mut self, username: Option<&str>) -> AdminClient {
        self.act_as = username.map(str::to_string);
        self
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The user calls act as, if not the bootstrap admin.
    pub fn acting_as(&self) -> Option<&str> {
        self.act_as.as_deref()
    }

    // ---- org, users, profiles, permission sets -------------------------------------------

    /// `GET /admin/v1/org`
    pub async fn org(&self) -> Result<Org, ClientError> {
        self.get(&["org"], &[]).await
    }

    /// `PATCH /admin/v1/org`
    pub async fn update_org(&self, change: &UpdateOrg) -> Result<Saved<Org>, ClientError> {
        self.send(Method::PATCH, &["org"], Some(change)).await
    }

    /// `GET /admin/v1/whoami`: the acting user.
    pub async fn whoami(&self) -> Result<User, ClientError> {
        self.get(&["whoami"], &[]).await
    }

    /// `GET /admin/v1/profiles`
    pub async fn profiles(&self) -> Result<Vec<Profile>, ClientError> {
        self.get(&["profiles"], &[]).await
    }

    /// `GET /admin/v1/users`
    pub async fn users(&self) -> Result<Vec<User>, ClientError> {
        self.get(&["users"], &[]).await
    }

    /// `POST /admin/v1/users`
    pub async fn create_user(&self, user: &NewUser) -> Result<Saved<User>, ClientError> {
        self.send(Method::POST, &["users"], Some(user)).await
    }

    /// `GET /admin/v1/users/{username}`
    pub async fn user(&self, username: &str) -> Result<User, ClientError> {
        self.get(&["users", username], &[]).await
    }

    /// `PATCH /admin/v1/users/{username}`: e.g. deactivate (which revokes the user's tokens).
    pub async fn update_user(
        &self,
        username: &str,
        change: &UpdateUser,
    ) -> Result<Saved<User>, ClientError> {
        self.send(Method::PATCH, &["users", username], Some(change))
            .await
    }

    /// `PUT /admin/v1/users/{username}/password` (Setup's *Set Password*).
    pub async fn set_password(&self, username: &str, password: &str) -> Result<(), ClientError> {
        let body = SetPassword {
            password: password.to_string(),
        };
        let request = self
            .request(
                Method::PUT,
                self.admin_url(&["users", username, "password"]),
            )
            .json(&body);
        let response = self.execute(request).await?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(api_error(status, response).await)
        }
    }

    /// `POST /admin/v1/users/{username}/password/reset` (Setup's *Reset Password*): the new
    /// temporary password, which the server shows only this once.
    pub async fn reset_password(&self, username: &str) -> Result<PasswordReset, ClientError> {
        self.send::<(), _>(
            Method::POST,
            &["users", username, "password", "reset"],
            None,
        )
        .await
    }

    /// `GET /admin/v1/permission-sets`
    pub async fn permission_sets(&self) -> Result<Vec<PermissionSet>, ClientError> {
        self.get(&["permission-sets"], &[]).await
    }

    /// `POST /admin/v1/permission-sets`
    pub async fn create_permission_set(
        &self,
        permission_set: &NewPermissionSet,
    ) -> Result<Saved<PermissionSet>, ClientError> {
        self.send(Method::POST, &["permission-sets"], Some(permission_set))
            .await
    }

    /// `GET /admin/v1/permission-sets/{name}`
    pub async fn permission_set(&self, name: &str) -> Result<PermissionSet, ClientError> {
        self.get(&["permission-sets", name], &[]).await
    }

    /// `PATCH /admin/v1/permission-sets/{name}`: the fields given replace the stored ones (e.g.
    /// the object permissions on platform events).
    pub async fn update_permission_set(
        &self,
        name: &str,
        change: &UpdatePermissionSet,
    ) -> Result<Saved<PermissionSet>, ClientError> {
        self.send(Method::PATCH, &["permission-sets", name], Some(change))
            .await
    }

    /// `POST /admin/v1/permission-sets/{name}/assignments`: Setup's *Manage Assignments*.
    pub async fn change_permission_set_assignments(
        &self,
        name: &str,
        change: &byoc_proto::admin::PermissionSetAssignments,
    ) -> Result<Saved<PermissionSet>, ClientError> {
        self.send(
            Method::POST,
            &["permission-sets", name, "assignments"],
            Some(change),
        )
        .await
    }

    // ---- External Client Apps ------------------------------------------------------------

    /// `GET /admin/v1/external-client-apps`
    pub async fn external_client_apps(&self) -> Result<Vec<App>, ClientError> {
        self.get(&["external-client-apps"], &[]).await
    }

    /// `POST /admin/v1/external-client-apps`; the only answer that carries `consumerSecret`.
    pub async fn create_external_client_app(
        &self,
        app: &AppInput,
    ) -> Result<Saved<App>, ClientError> {
        self.send(Method::POST, &["external-client-apps"], Some(app))
            .await
    }

    /// `GET /admin/v1/external-client-apps/{name}` (name or API name).
    pub async fn external_client_app(&self, name: &str) -> Result<App, ClientError> {
        self.get(&["external-client-apps", name], &[]).await
    }

    /// `PATCH /admin/v1/external-client-apps/{name}`: only the fields given change.
    pub async fn update_external_client_app(
        &self,
        name: &str,
        change: &AppInput,
    ) -> Result<Saved<App>, ClientError> {
        self.send(Method::PATCH, &["external-client-apps", name], Some(change))
            .await
    }

    /// `DELETE /admin/v1/external-client-apps/{name}`
    pub async fn delete_external_client_app(&self, name: &str) -> Result<(), ClientError> {
        self.send_no_content(Method::DELETE, &["external-client-apps", name])
            .await
    }

    /// `POST /admin/v1/{external-client-apps|connected-apps}/{name}/consumer-details`: the
    /// consumer key and secret (Setup's *Consumer Key and Secret*; audited).
    pub async fn consumer_details(
        &self,
        kind: byoc_proto::setup::AppKind,
        name: &str,
    ) -> Result<byoc_proto::admin::ConsumerDetails, ClientError> {
        let collection = match kind {
            byoc_proto::setup::AppKind::ExternalClientApp => "external-client-apps",
            byoc_proto::setup::AppKind::ConnectedApp => "connected-apps",
        };
        self.send::<(), _>(Method::POST, &[collection, name, "consumer-details"], None)
            .await
    }

    /// `PATCH /admin/v1/external-client-apps/{name}/policies`
    pub async fn update_external_client_app_policies(
        &self,
        name: &str,
        policies: &PolicyInput,
    ) -> Result<Saved<App>, ClientError> {
        self.send(
            Method::PATCH,
            &["external-client-apps", name, "policies"],
            Some(policies),
        )
        .await
    }

    /// `POST /admin/v1/external-client-apps/migrate`: a new local ECA from a connected app.
    pub async fn migrate_connected_app(
        &self,
        migrate: &MigrateConnectedApp,
    ) -> Result<Saved<App>, ClientError> {
        self.send(
            Method::POST,
            &["external-client-apps", "migrate"],
            Some(migrate),
        )
        .await
    }

    // ---- Connected Apps ------------------------------------------------------------------

    /// `GET /admin/v1/connected-apps`
    pub async fn connected_apps(&self) -> Result<Vec<App>, ClientError> {
        self.get(&["connected-apps"], &[]).await
    }

    /// `POST /admin/v1/connected-apps`
    pub async fn create_connected_app(&self, app: &AppInput) -> Result<Saved<App>, ClientError> {
        self.send(Method::POST, &["connected-apps"], Some(app))
            .await
    }

    /// `GET /admin/v1/connected-apps/{name}`
    pub async fn connected_app(&self, name: &str) -> Result<App, ClientError> {
        self.get(&["connected-apps", name], &[]).await
    }

    /// `PATCH /admin/v1/connected-apps/{name}`
    pub async fn update_connected_app(
        &self,
        name: &str,
        change: &AppInput,
    ) -> Result<Saved<App>, ClientError> {
        self.send(Method::PATCH, &["connected-apps", name], Some(change))
            .await
    }

    /// `PATCH /admin/v1/connected-apps/{name}/policies`
    pub async fn update_connected_app_policies(
        &self,
        name: &str,
        policies: &PolicyInput,
    ) -> Result<Saved<App>, ClientError> {
        self.send(
            Method::PATCH,
            &["connected-apps", name, "policies"],
            Some(policies),
        )
        .await
    }

    /// `POST /admin/v1/connected-apps/{name}/assignments` (*Manage Profiles* / *Manage
    /// Permission Sets*).
    pub async fn change_connected_app_assignments(
        &self,
        name: &str,
        change: &AssignmentChange,
    ) -> Result<Saved<App>, ClientError> {
        self.send(
            Method::POST,
            &["connected-apps", name, "assignments"],
            Some(change),
        )
        .await
    }

    // ---- messaging channels and CCDs -----------------------------------------------------

    /// `GET /admin/v1/channels`
    pub async fn channels(&self) -> Result<Vec<MessagingChannel>, ClientError> {
        self.get(&["channels"], &[]).await
    }

    /// `POST /admin/v1/channels`
    pub async fn create_channel(
        &self,
        channel: &NewChannel,
    ) -> Result<Saved<MessagingChannel>, ClientError> {
        self.send(Method::POST, &["channels"], Some(channel)).await
    }

    /// `GET /admin/v1/channels/{name}`
    pub async fn channel(&self, name: &str) -> Result<MessagingChannel, ClientError> {
        self.get(&["channels", name], &[]).await
    }

    /// `GET /admin/v1/ccds/{developerName}` (a channel's name is accepted too).
    pub async fn conversation_channel_definition(
        &self,
        developer_name: &str,
    ) -> Result<ConversationChannelDefinition, ClientError> {
        self.get(&["ccds", developer_name], &[]).await
    }

    /// `PUT /admin/v1/ccds/{developerName}/app`: link an ECA or connected app to the CCD.
    pub async fn link_conversation_channel_definition_app(
        &self,
        developer_name: &str,
        link: &LinkApp,
    ) -> Result<Saved<MessagingChannel>, ClientError> {
        self.send(Method::PUT, &["ccds", developer_name, "app"], Some(link))
            .await
    }

    /// `PATCH /admin/v1/ccds/{developerName}`: change a CCD's platform event, event fields,
    /// label or owners.
    pub async fn update_conversation_channel_definition(
        &self,
        developer_name: &str,
        update: &byoc_proto::admin::UpdateCcd,
    ) -> Result<Saved<ConversationChannelDefinition>, ClientError> {
        self.send(Method::PATCH, &["ccds", developer_name], Some(update))
            .await
    }

    // ---- audit trail ---------------------------------------------------------------------

    /// `GET /admin/v1/audit?limit=N`: newest first; `None` takes the server's default (100).
    pub async fn audit(&self, limit: Option<u32>) -> Result<Vec<AuditEntry>, ClientError> {
        let limit = limit.map(|n| n.to_string());
        let query: Vec<(&str, &str)> = limit.iter().map(|n| ("limit", n.as_str())).collect();
        self.get(&["audit"], &query).await
    }

    // ---- access token sealing keys --------------------------------------------------------

    /// `GET /admin/v1/token-keys` (System Administrators).
    pub async fn token_keys(&self) -> Result<byoc_proto::admin::TokenKeys, ClientError> {
        self.get(&["token-keys"], &[]).await
    }

    /// `POST /admin/v1/token-keys/rotate`: a new sealing key mints from `activeFrom`; tokens of
    /// older keys stay valid until they expire.
    pub async fn rotate_token_keys(
        &self,
    ) -> Result<byoc_proto::admin::RotatedTokenKey, ClientError> {
        self.send::<(), _>(Method::POST, &["token-keys", "rotate"], None)
            .await
    }

    // ---- plumbing ------------------------------------------------------------------------

    /// The URL of `/admin/v1/<segments...>`, each segment percent-encoded.
    pub fn admin_url(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        // `parse_base_url` refused cannot-be-a-base URLs, so this branch always runs.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["admin", "v1"]).extend(segments);
        }
        url
    }

    async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let mut url = self.admin_url(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let response = self.execute(self.request(Method::GET, url)).await?;
        decode(response).await
    }

    async fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let mut request = self.request(method, self.admin_url(segments));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.execute(request).await?;
        decode(response).await
    }

    /// [`AdminClient::send`] with an `Idempotency-Key` header when a key is given.
    async fn send_keyed<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
        idempotency_key: Option<&str>,
    ) -> Result<T, ClientError> {
        let mut request = self.request(method, self.admin_url(segments));
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = self.execute(request).await?;
        decode(response).await
    }

    async fn send_no_content(&self, method: Method, segments: &[&str]) -> Result<(), ClientError> {
        let response = self
            .execute(self.request(method, self.admin_url(segments)))
            .await?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(api_error(status, response).await)
        }
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(&self.admin_token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(username) = &self.act_as {
            request = request.header(ACT_AS_HEADER, username);
        }
        request
    }

    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        request
            .send()
            .await
            .map_err(|e| transport_error(&self.base_url, &e))
    }
}

fn parse_base_url(base_url: &str) -> Result<Url, ClientError> {
    let url = Url::parse(base_url.trim()).map_err(|e| {
        ClientError::InvalidUrl(format!(
            "invalid byoc URL '{base_url}': {e} (expected e.g. http://127.0.0.1:6101)"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(ClientError::InvalidUrl(format!(
            "invalid byoc URL '{base_url}': expected an http:// or https:// URL such as http://127.0.0.1:6101"
        )));
    }
    Ok(url)
}

/// Where the request went, in the words a user can act on.
fn transport_error(base_url: &Url, error: &reqwest::Error) -> ClientError {
    let target = base_url.as_str().trim_end_matches('/');
    let cause = root_cause(error);
    let message = if error.is_timeout() {
        format!(
            "byoc at {target} did not answer within {} seconds",
            REQUEST_TIMEOUT.as_secs()
        )
    } else if error.is_connect() {
        format!("can't reach byoc at {target}: {cause} — is `byoc serve` running?")
    } else {
        format!("request to byoc at {target} failed: {cause}")
    };
    ClientError::Transport(message)
}

/// The innermost cause of an error chain, worded for a person (`connection refused` rather than
/// `Connection refused (os error 111)`).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    if let Some(io) = current.downcast_ref::<std::io::Error>() {
        use std::io::ErrorKind;
        let words = match io.kind() {
            ErrorKind::ConnectionRefused => Some("connection refused"),
            ErrorKind::ConnectionReset => Some("connection reset"),
            ErrorKind::ConnectionAborted => Some("connection aborted"),
            ErrorKind::TimedOut => Some("timed out"),
            ErrorKind::AddrNotAvailable => Some("address not available"),
            _ => None,
        };
        if let Some(words) = words {
            return words.to_string();
        }
    }
    current.to_string()
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
    let status = response.status();
    if !status.is_success() {
        return Err(api_error(status, response).await);
    }
    let url = response.url().clone();
    let bytes = response.bytes().await.map_err(|e| {
        ClientError::Transport(format!(
            "reading the answer of {url} failed: {}",
            root_cause(&e)
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ClientError::Decode(format!(
            "unexpected answer from {url} (HTTP {status}): {e}; body: {}",
            snippet(&bytes)
        ))
    })
}

async fn api_error(status: StatusCode, response: reqwest::Response) -> ClientError {
    let bytes = response.bytes().await.unwrap_or_default();
    ClientError::Api {
        status: status.as_u16(),
        errors: rest_errors(status, &bytes),
    }
}

/// Salesforce's REST error array; a single object or anything else becomes one entry.
fn rest_errors(status: StatusCode, body: &[u8]) -> Vec<RestError> {
    if let Ok(errors) = serde_json::from_slice::<Vec<RestError>>(body) {
        if !errors.is_empty() {
            return errors;
        }
    }
    if let Ok(error) = serde_json::from_slice::<RestError>(body) {
        return vec![error];
    }
    let reason = status.canonical_reason().unwrap_or("error");
    let message = if body.iter().all(u8::is_ascii_whitespace) {
        format!("byoc answered HTTP {} {reason}", status.as_u16())
    } else {
        format!(
            "byoc answered HTTP {} {reason}: {}",
            status.as_u16(),
            snippet(body)
        )
    };
    vec![RestError {
        message,
        error_code: format!("HTTP_{}", status.as_u16()),
        fields: Vec::new(),
    }]
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.chars().count() > BODY_SNIPPET_CHARS {
        let cut: String = text.chars().take(BODY_SNIPPET_CHARS).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests;
