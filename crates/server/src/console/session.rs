//! Console sessions: the `sid` cookie, `frontdoor.jsp`, CSRF, and the cross-site write guard.
//!
//! A session is a random id in an HttpOnly, SameSite=Lax cookie; the server keeps what it stands
//! for (user, *Login As* origin, CSRF token, expiry). Every state-changing request must carry the
//! session's CSRF token in the `_csrf` form field ([`PostedForm`], [`MultipartForm`]) and must not
//! come from another site ([`refuse_cross_site_writes`]).

use axum::extract::{FromRequest, FromRequestParts, Multipart, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use byoc_core::Actor;
use byoc_store::console::ConsoleSessionRow;
use byoc_store::Store;
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{see_other, ConsoleState};

/// The session cookie's name, as Salesforce names its own.
pub const SESSION_COOKIE: &str = "sid";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// Salesforce's default session timeout.
pub const SESSION_TTL_MILLIS: i64 = 2 * 60 * 60 * 1000;

/// What a session stands for.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The user the console acts as.
    pub username: String,
    /// Set while *Login As* is in force: the administrator behind the session.
    pub real_username: Option<String>,
    pub csrf: String,
    pub expires_at: i64,
}

/// Where sessions are kept: the org's database ([`byoc_store::console`]), so a session survives
/// a restart and works on every instance sharing the database. The database holds only the
/// SHA-256 of a session id, so a copy of it logs no one in.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keys a session by.
fn session_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

impl Sessions {
    pub fn new(store: Store) -> Sessions {
        Sessions { store }
    }

    /// A new session for `username`; returns its id (the cookie's value).
    pub async fn create(
        &self,
        username: &str,
        real_username: Option<&str>,
        now: i64,
    ) -> anyhow::Result<(String, SessionRecord)> {
        let id = random_token();
        let record = SessionRecord {
            username: username.to_string(),
            real_username: real_username.map(str::to_string),
            csrf: random_token(),
            expires_at: now + SESSION_TTL_MILLIS,
        };
        self.store
            .repo()
            .create_console_session(
                &ConsoleSessionRow {
                    session_hash: session_hash(&id),
                    username: record.username.clone(),
                    real_username: record.real_username.clone(),
                    csrf: record.csrf.clone(),
                    created_at: now,
                    expires_at: record.expires_at,
                },
                now,
            )
            .await?;
        Ok((id, record))
    }

    /// The live session `id` stands for, if any.
    pub async fn get(&self, id: &str, now: i64) -> anyhow::Result<Option<SessionRecord>> {
        // Not a session id byoc made: no lookup (and nothing odd reaches the database).
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let row = self
            .store
            .repo()
            .console_session(&session_hash(id), now)
            .await?;
        Ok(row.map(|r| SessionRecord {
            username: r.username,
            real_username: r.real_username,
            csrf: r.csrf,
            expires_at: r.expires_at,
        }))
    }

    pub async fn delete(&self, id: &str) -> anyhow::Result<()> {
        self.store
            .repo()
            .delete_console_session(&session_hash(id))
            .await?;
        Ok(())
    }
}

/// The logged-in user of a console request. Without a live session, GET requests are sent to the
/// login page (with `startURL` to come back to) and other requests are refused.
pub struct ConsoleSession {
    pub id: String,
    pub record: SessionRecord,
    /// The user the console acts as, with the permissions of their profile and permission sets.
    pub actor: Actor,
    /// The header's org clock line when the clock is not real (`byoc clock`).
    pub org_clock: Option<String>,
}

impl ConsoleSession {
    /// Whether `token` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        !token.is_empty() && bool::from(self.record.csrf.as_bytes().ct_eq(token.as_bytes()))
    }
}

/// Why a console request was not let in.
pub enum Refused {
    /// No live session: log in first.
    Login { start_url: String },
    /// A write without a valid CSRF token, or from another site.
    Forbidden(&'static str),
    /// A form body that is not a form (malformed multipart, no boundary).
    BadRequest(&'static str),
    /// A form body over [`FORM_LIMIT`] (urlencoded) or axum's body limit (multipart).
    TooLarge,
    /// Something failed on our side.
    Internal,
    /// The database is unavailable right now (503; docs/scale-out.md).
    Unavailable,
}

impl Refused {
    /// [`Refused::Unavailable`] when `e` is a store failure of an unavailable database,
    /// [`Refused::Internal`] otherwise.
    pub fn internal(e: &anyhow::Error) -> Refused {
        match e.downcast_ref::<byoc_store::StoreError>() {
            Some(s) if s.is_unavailable() => Refused::Unavailable,
            _ => Refused::Internal,
        }
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Login { start_url } => {
                let q = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("startURL", &start_url)
                    .finish();
                see_other(&format!("/?{q}"))
            }
            Refused::Forbidden(why) => (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                why,
            )
                .into_response(),
            Refused::BadRequest(why) => (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                why,
            )
                .into_response(),
            Refused::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                FORM_TOO_LARGE,
            )
                .into_response(),
            Refused::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The console could not read its sessions.",
            )
                .into_response(),
            Refused::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "The database is unavailable. Please try again in a moment.",
            )
                .into_response(),
        }
    }
}

impl FromRequestParts<ConsoleState> for ConsoleSession {
    type Rejection = Refused;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ConsoleState,
    ) -> Result<Self, Self::Rejection> {
        let login = || Refused::Login {
            start_url: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .filter(|p| parts.method == Method::GET && p.starts_with('/'))
                .unwrap_or_else(|| "/".to_string()),
        };
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(id) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(login());
        };
        let now = state.oauth.now();
        let record = match state.sessions.get(&id, now).await {
            Ok(Some(r)) => r,
            Ok(None) => return Err(login()),
            Err(e) => {
                tracing::error!(error = %e, "console session lookup failed");
                return Err(Refused::internal(&e));
            }
        };
        // The user may have been deactivated since the session began.
        let actor = match state.setup.actor(&record.username).await {
            Ok(a) if a.user.is_active => a,
            _ => return Err(login()),
        };
        // Under *Login As*, the administrator behind the session must still be active too.
        if let Some(real) = &record.real_username {
            match state.setup.store().user(real).await {
                Ok(Some(u)) if u.is_active => {}
                _ => return Err(login()),
            }
        }
        Ok(ConsoleSession {
            id,
            record,
            actor,
            org_clock: crate::org_clock::OrgClock::header_note(state.oauth.0.clock.as_ref()),
        })
    }
}

/// A posted `application/x-www-form-urlencoded` form whose `_csrf` field matched the session.
pub struct PostedForm {
    pub session: ConsoleSession,
    pub fields: Vec<(String, String)>,
}

impl PostedForm {
    /// The first value of `name`, trimmed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        field(&self.fields, name)
    }

    /// Every value of `name` (multi-selects, checkbox groups).
    pub fn all(&self, name: &str) -> Vec<&str> {
        all(&self.fields, name)
    }

    /// Whether a checkbox named `name` was checked.
    pub fn checked(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

fn all<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The largest urlencoded console form (a pasted PEM certificate is a few KiB).
pub const FORM_LIMIT: usize = 256 * 1024;

impl FromRequest<ConsoleState> for PostedForm {
    type Rejection = Refused;

    async fn from_request(req: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = ConsoleSession::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| Refused::TooLarge)?;
        // Checkbox groups (profiles, permission sets) repeat their name, so every pair is kept:
        // unlike OAuth's forms, a repeated name is no error here ([`PostedForm::get`] takes the
        // first).
        let fields: Vec<(String, String)> =
            url::form_urlencoded::parse(&bytes).into_owned().collect();
        if !session.csrf_matches(field(&fields, CSRF_FIELD)) {
            return Err(Refused::Forbidden(CSRF_REFUSAL));
        }
        Ok(PostedForm { session, fields })
    }
}

/// What a form over the size limits is told (a certificate is a few KiB).
pub const FORM_TOO_LARGE: &str =
    "The form is larger than the console accepts (2 MB with files, 256 KB without). A certificate file is a few KB: choose the certificate (.crt or .pem), not an archive or a key store.";
/// What a body that is no form is told.
pub const FORM_UNREADABLE: &str =
    "The form could not be read. Go back, reload the page and try again.";

/// Why a multipart body was not read: over the size limit, or not multipart at all.
fn multipart_refusal(status: StatusCode) -> Refused {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        Refused::TooLarge
    } else {
        Refused::BadRequest(FORM_UNREADABLE)
    }
}

/// What a write without the session's token is told.
pub const CSRF_REFUSAL: &str =
    "This page has expired or did not come from this org. Go back, reload the page and try again.";

/// One uploaded file of a multipart form.
pub struct UploadedFile {
    pub field: String,
    pub file_name: String,
    /// The part's `Content-Type`, as the browser guessed it from the file.
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// A posted `multipart/form-data` form (file uploads) whose `_csrf` field matched the session.
pub struct MultipartForm {
    pub session: ConsoleSession,
    pub fields: Vec<(String, String)>,
    pub files: Vec<UploadedFile>,
}

impl MultipartForm {
    pub fn get(&self, name: &str) -> &str {
        field(&self.fields, name)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        all(&self.fields, name)
    }

    pub fn checked(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// The file uploaded in `name`, if one was chosen (browsers send an empty part otherwise).
    pub fn file(&self, name: &str) -> Option<&UploadedFile> {
        self.files
            .iter()
            .find(|f| f.field == name && !(f.bytes.is_empty() && f.file_name.is_empty()))
    }
}

impl FromRequest<ConsoleState> for MultipartForm {
    type Rejection = Refused;

    async fn from_request(req: Request, state: &ConsoleState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = ConsoleSession::from_request_parts(&mut parts, state).await?;
        // axum's default body limit (2 MiB) bounds what Multipart reads.
        let req = Request::from_parts(parts, body);
        let mut multipart = Multipart::from_request(req, state)
            .await
            .map_err(|e| multipart_refusal(e.status()))?;
        let mut fields = Vec::new();
        let mut files = Vec::new();
        loop {
            let next = multipart
                .next_field()
                .await
                .map_err(|e| multipart_refusal(e.status()))?;
            let Some(part) = next else { break };
            let name = part.name().unwrap_or_default().to_string();
            match part.file_name().map(str::to_string) {
                Some(file_name) => {
                    let content_type = part.content_type().map(str::to_string);
                    let bytes = part
                        .bytes()
                        .await
                        .map_err(|e| multipart_refusal(e.status()))?;
                    files.push(UploadedFile {
                        field: name,
                        file_name,
                        content_type,
                        bytes: bytes.to_vec(),
                    });
                }
                None => {
                    let text = part
                        .text()
                        .await
                        .map_err(|e| multipart_refusal(e.status()))?;
                    fields.push((name, text));
                }
            }
        }
        if !session.csrf_matches(field(&fields, CSRF_FIELD)) {
            return Err(Refused::Forbidden(CSRF_REFUSAL));
        }
        Ok(MultipartForm {
            session,
            fields,
            files,
        })
    }
}

/// Refuses a state-changing request that a browser says came from another site (`Sec-Fetch-Site`)
/// or whose `Origin` is not this host, before any handler runs. The CSRF token is the second
/// line of defence; this one also covers clients that never loaded a form.
pub async fn refuse_cross_site_writes(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let headers = req.headers();
        let site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let cross_site = matches!(site, "cross-site" | "same-site");
        let foreign_origin = match (
            headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some("null"), _) => true,
            (Some(origin), Some(host)) => origin
                .split_once("://")
                .map(|(_, rest)| !rest.eq_ignore_ascii_case(host))
                .unwrap_or(true),
            _ => false,
        };
        if cross_site || foreign_origin {
            return Refused::Forbidden(CSRF_REFUSAL).into_response();
        }
    }
    next.run(req).await
}

/// The session cookie for `id`: HttpOnly, SameSite=Lax (so the link `byoc open` prints works
/// from another app), path `/`.
pub fn session_cookie(id: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, id))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .build()
}

#[derive(Deserialize)]
struct FrontdoorQuery {
    sid: Option<String>,
    #[serde(rename = "retURL")]
    ret_url: Option<String>,
}

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/secur/frontdoor.jsp", get(frontdoor))
        .route("/secur/logout.jsp", axum::routing::post(logout))
        .route("/secur/logout-as", axum::routing::post(logout_as))
}

/// Log Out: the session ends on the server, the cookie is cleared, the login page follows.
async fn logout(State(state): State<ConsoleState>, jar: CookieJar, form: PostedForm) -> Response {
    if let Err(e) = state.sessions.delete(&form.session.id).await {
        tracing::error!(error = %e, "console session could not be ended");
        return Refused::Internal.into_response();
    }
    (
        jar.remove(Cookie::build(SESSION_COOKIE).path("/").build()),
        see_other("/"),
    )
        .into_response()
}

/// *Log out as X*: ends the *Login As* session and gives the administrator behind it a session
/// of their own again, on the Users page. Without *Login As* in force it only goes home.
async fn logout_as(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    form: PostedForm,
) -> Response {
    let Some(real) = form.session.record.real_username.clone() else {
        return see_other(super::home::HOME);
    };
    if let Err(e) = state.sessions.delete(&form.session.id).await {
        tracing::error!(error = %e, "console session could not be ended");
        return Refused::Internal.into_response();
    }
    match state.sessions.create(&real, None, state.oauth.now()).await {
        Ok((id, _)) => (jar.add(session_cookie(id)), see_other(super::users::HOME)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console session could not be created");
            Refused::Internal.into_response()
        }
    }
}

/// A same-site path to go to after login: only absolute paths of this host. Only printable
/// ASCII is let through (a path this console links to is percent-encoded): browsers drop tabs
/// and newlines from a `Location`, so `/\t/evil.example` would become `//evil.example`, and a
/// control character can't be put in a header at all.
pub fn safe_return(ret: Option<&str>) -> String {
    match ret {
        Some(r)
            if r.starts_with('/')
                && !r.starts_with("//")
                && r.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            r.to_string()
        }
        _ => super::home::HOME.to_string(),
    }
}

/// `frontdoor.jsp?sid=…`: logs the browser in with an access token that has `web` or `full`, or
/// with the admin credential, as Salesforce's frontdoor does; anything else goes to the login page.
async fn frontdoor(
    State(state): State<ConsoleState>,
    jar: CookieJar,
    Query(q): Query<FrontdoorQuery>,
) -> Response {
    let sid = q.sid.unwrap_or_default();
    let username = match state.oauth.verify(&sid) {
        Ok(claims) if claims.has_scope("web") || claims.has_scope("full") => Some(claims.username),
        Ok(_) => None,
        Err(_) => crate::admin_api::bootstrap_username(&state.admin, &sid).await,
    };
    let Some(username) = username else {
        return see_other("/");
    };
    match state
        .sessions
        .create(&username, None, state.oauth.now())
        .await
    {
        Ok((id, _)) => (
            jar.add(session_cookie(id)),
            see_other(&safe_return(q.ret_url.as_deref())),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console session could not be created");
            Refused::Internal.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sessions end after Salesforce's default timeout, and an id that is not one byoc made never
    /// reaches the database.
    #[tokio::test]
    async fn sessions_expire_after_two_hours_and_keep_only_a_hash() {
        let path = std::env::temp_dir().join(format!(
            "byoc-sessions-{}.db",
            uuid::Uuid::new_v4().simple()
        ));
        let store = Store::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let sessions = Sessions::new(store.clone());
        let (id, record) = sessions.create("a@example.com", None, 1_000).await.unwrap();
        assert_eq!(record.expires_at, 1_000 + SESSION_TTL_MILLIS);
        assert!(sessions.get(&id, 1_000).await.unwrap().is_some());
        assert!(sessions
            .get(&id, 1_000 + SESSION_TTL_MILLIS - 1)
            .await
            .unwrap()
            .is_some());
        assert!(sessions
            .get(&id, 1_000 + SESSION_TTL_MILLIS)
            .await
            .unwrap()
            .is_none());
        // The database has the hash, not the id.
        let by_id = store.repo().console_session(&id, 0).await.unwrap();
        assert!(by_id.is_none());
        let by_hash = store
            .repo()
            .console_session(&session_hash(&id), 0)
            .await
            .unwrap();
        assert_eq!(by_hash.map(|r| r.username), Some("a@example.com".into()));
        for bogus in [
            "",
            "x",
            "'; DROP TABLE console_sessions; --",
            &"g".repeat(64),
        ] {
            assert!(sessions.get(bogus, 0).await.unwrap().is_none());
        }
        sessions.delete(&id).await.unwrap();
        assert!(sessions.get(&id, 1_000).await.unwrap().is_none());
        drop(sessions);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
}
