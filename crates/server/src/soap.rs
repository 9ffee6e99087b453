//! The SOAP API's `login` (`POST /services/Soap/u/{version}`, partner, and
//! `/services/Soap/c/{version}`, enterprise): the `loginResponse` stock clients parse, and
//! `INVALID_LOGIN` as a SOAP fault. The session id it answers is an access token with the `api`,
//! `web` and `full` scopes and no app, good on the REST and admin APIs.
//!
//! The envelope is read with quick-xml's namespace-aware reader, so any prefixes work
//! (`<soapenv:Envelope>`, `<env:Envelope>`, `<n1:login xmlns:n1=…>`, a default namespace);
//! `SOAPAction` is not read (Salesforce dispatches on the body's element: `login` or `""` both
//! work). Answers are written with quick-xml's writer, which escapes every value, in the element
//! order and with the prefixes Salesforce sends (clients such as simple-salesforce match the
//! text literally).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use byoc_proto::oauth::{LoginHistoryEntry, LoginStatus, DIAGNOSIS_HEADER};
use byoc_proto::setup::User;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, Writer};

use crate::oauth::tokens::AccessTokenClaims;
use crate::oauth::{Inner, OAuthState};
use crate::PublicUrls;

/// SOAP 1.1's envelope namespace, the only one Salesforce's SOAP API speaks.
pub const SOAP_ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const PARTNER_NS: &str = "urn:partner.soap.sforce.com";
pub const ENTERPRISE_NS: &str = "urn:enterprise.soap.sforce.com";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// The largest request body read: a login envelope is well under 2 KiB.
pub const MAX_SOAP_BYTES: usize = 64 * 1024;

/// Salesforce's *Login Type* for logins through the SOAP API (LoginHistory.LoginType).
pub const SOAP_LOGIN_TYPE: &str = "Other Apex API";

/// What `sessionSecondsValid` says: the org's default session timeout (2 hours).
const SESSION_SECONDS: i64 = byoc_core::oauth::DEFAULT_SESSION_TIMEOUT_MINUTES as i64 * 60;

const INVALID_LOGIN_MESSAGE: &str =
    "Invalid username, password, security token; or user locked out.";

/// The two WSDLs whose `login` byoc serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wsdl {
    Partner,
    Enterprise,
}

impl Wsdl {
    fn namespace(self) -> &'static str {
        match self {
            Wsdl::Partner => PARTNER_NS,
            Wsdl::Enterprise => ENTERPRISE_NS,
        }
    }

    fn fault_namespace(self) -> &'static str {
        match self {
            Wsdl::Partner => "urn:fault.partner.soap.sforce.com",
            Wsdl::Enterprise => "urn:fault.enterprise.soap.sforce.com",
        }
    }

    /// The letter of the endpoint path: `/services/Soap/u/…` or `/services/Soap/c/…`.
    fn path_letter(self) -> &'static str {
        match self {
            Wsdl::Partner => "u",
            Wsdl::Enterprise => "c",
        }
    }
}

pub fn router(state: OAuthState) -> Router {
    Router::new()
        .route("/services/Soap/u/{version}", post(partner))
        .route("/services/Soap/c/{version}", post(enterprise))
        .with_state(state)
}

async fn partner(
    State(state): State<OAuthState>,
    Path(version): Path<String>,
    urls: Option<Extension<PublicUrls>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    login(
        &state,
        Wsdl::Partner,
        &version,
        urls.map(|e| e.0),
        &headers,
        body,
    )
    .await
}

async fn enterprise(
    State(state): State<OAuthState>,
    Path(version): Path<String>,
    urls: Option<Extension<PublicUrls>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    login(
        &state,
        Wsdl::Enterprise,
        &version,
        urls.map(|e| e.0),
        &headers,
        body,
    )
    .await
}

/// A SOAP fault: `faultcode`, `faultstring`, and for Salesforce's API faults the typed detail.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fault {
    status: StatusCode,
    /// `soapenv:Client` for a request the SOAP layer can't read, `sf:CODE` for an API fault.
    code: String,
    message: String,
    /// `(detail element, exceptionCode, exceptionMessage)` of an API fault.
    detail: Option<(&'static str, &'static str, String)>,
}

impl Fault {
    fn client(message: impl Into<String>) -> Fault {
        Fault {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "soapenv:Client".into(),
            message: message.into(),
            detail: None,
        }
    }

    fn invalid_login() -> Fault {
        Fault {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "sf:INVALID_LOGIN".into(),
            message: format!("INVALID_LOGIN: {INVALID_LOGIN_MESSAGE}"),
            detail: Some(("LoginFault", "INVALID_LOGIN", INVALID_LOGIN_MESSAGE.into())),
        }
    }

    fn unsupported_version() -> Fault {
        let message = "Invalid Api version specified on URL";
        Fault {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "sf:UNSUPPORTED_API_VERSION".into(),
            message: format!("UNSUPPORTED_API_VERSION: {message}"),
            detail: Some((
                "UnexpectedErrorFault",
                "UNSUPPORTED_API_VERSION",
                message.into(),
            )),
        }
    }
}

/// The username and password of a `login` call.
#[derive(Debug, Default, PartialEq, Eq)]
struct LoginRequest {
    pub username: String,
    pub password: String,
}

async fn login(
    state: &OAuthState,
    wsdl: Wsdl,
    version: &str,
    urls: Option<PublicUrls>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let s = &state.0;
    if !byoc_proto::rest::API_VERSIONS
        .iter()
        .any(|(v, _)| *v == version)
    {
        return fault_response(wsdl, &Fault::unsupported_version(), None);
    }
    let bytes = match axum::body::to_bytes(body, MAX_SOAP_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            let mut f = Fault::client(format!(
                "The request body is larger than {MAX_SOAP_BYTES} bytes"
            ));
            f.status = StatusCode::PAYLOAD_TOO_LARGE;
            return fault_response(wsdl, &f, None);
        }
    };
    let request = match parse_login(&bytes, wsdl.namespace()) {
        Ok(r) => r,
        Err(fault) => return fault_response(wsdl, &fault, None),
    };
    let now = s.clock.now_millis();
    let username: String = request.username.chars().take(255).collect();
    let mut entry = LoginHistoryEntry {
        login_time: now,
        username: username.clone(),
        user_id: None,
        application: None,
        consumer_key: None,
        login_type: SOAP_LOGIN_TYPE.into(),
        status: LoginStatus::Failed,
        error: None,
        error_description: None,
        diagnosis: None,
        source_ip: crate::oauth::token::source_ip(headers),
    };
    let user = match authenticate(s, &request).await {
        Ok(user) => user,
        Err(Refusal::Login(diagnosis, user_id)) => {
            entry.user_id = user_id;
            entry.error = Some("INVALID_LOGIN".into());
            entry.error_description = Some(INVALID_LOGIN_MESSAGE.into());
            entry.diagnosis = Some(diagnosis.clone());
            s.history.record(entry).await;
            return fault_response(wsdl, &Fault::invalid_login(), Some(&diagnosis));
        }
        Err(Refusal::Internal(e, true)) => {
            // The database is unavailable: Salesforce's fault for a server that can't take the
            // call now, with HTTP 503 so clients and load balancers see it is transient.
            tracing::warn!(error = %e, "SOAP login: the database is unavailable");
            let message = crate::admin_api::SERVER_UNAVAILABLE_MESSAGE;
            let f = Fault {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "sf:SERVER_UNAVAILABLE".into(),
                message: format!("SERVER_UNAVAILABLE: {message}"),
                detail: Some(("UnexpectedErrorFault", "SERVER_UNAVAILABLE", message.into())),
            };
            return fault_response(wsdl, &f, None);
        }
        Err(Refusal::Internal(e, false)) => {
            let error_id = uuid::Uuid::new_v4().simple().to_string();
            tracing::error!(error_id, error = %e, "SOAP login failed inside byoc");
            let mut f = Fault::client(format!("UNKNOWN_EXCEPTION: An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}"));
            f.code = "sf:UNKNOWN_EXCEPTION".into();
            return fault_response(wsdl, &f, None);
        }
    };
    entry.user_id = Some(user.id.clone());
    entry.username = user.username.clone();

    let mut token_id = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut token_id).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let claims = AccessTokenClaims {
        token_id: hex::encode(token_id),
        org_id: s.org.id.clone(),
        user_id: user.id.clone(),
        username: user.username.clone(),
        app_id: String::new(),
        consumer_key: String::new(),
        scopes: vec!["api".into(), "web".into(), "full".into()],
        issued_at: now,
        expires_at: now.saturating_add(SESSION_SECONDS * 1000),
    };
    let session_id = match s.tokens.mint(&claims) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "minting a SOAP session id failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    entry.status = LoginStatus::Success;
    s.history.record(entry).await;
    let instance_url = urls
        .map(|u| u.instance_url)
        .unwrap_or_else(|| s.instance_url.clone());
    match login_response(s, wsdl, version, &instance_url, &session_id, &user) {
        Ok(bytes) => {
            let mut r = xml(StatusCode::OK, bytes);
            r.extensions_mut().insert(crate::inspector::http::Caller {
                app: None,
                user: Some(user.username.clone()),
            });
            r
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

enum Refusal {
    /// INVALID_LOGIN, with byoc's diagnosis and the user's id when the username names one.
    Login(String, Option<String>),
    /// A failure inside byoc; `true` when the database is unavailable.
    Internal(String, bool),
}

impl From<byoc_store::StoreError> for Refusal {
    fn from(e: byoc_store::StoreError) -> Refusal {
        Refusal::Internal(e.to_string(), e.is_unavailable())
    }
}

impl From<crate::setup_service::ServiceError> for Refusal {
    fn from(e: crate::setup_service::ServiceError) -> Refusal {
        let unavailable =
            matches!(&e, crate::setup_service::ServiceError::Store(s) if s.is_unavailable());
        Refusal::Internal(e.to_string(), unavailable)
    }
}

/// The active user whose password this is; every other case is INVALID_LOGIN with a diagnosis.
async fn authenticate(s: &Inner, request: &LoginRequest) -> Result<User, Refusal> {
    let name = &request.username;
    if name.is_empty() {
        return Err(Refusal::Login(
            "the login call has no username; send <username> and <password> inside <login>".into(),
            None,
        ));
    }
    if !byoc_core::oauth::is_identifier(name) {
        return Err(Refusal::Login(
            "the username contains a control character or is longer than 255 characters, so it names no user".into(),
            None,
        ));
    }
    match s.setup.check_password(name, &request.password).await {
        Ok(Some(user)) => return Ok(user),
        Ok(None) => {}
        Err(e) => return Err(e.into()),
    }
    // Refused: find out why, for the login history only (the answer is the same).
    let user = s.directory.user(name).await.map_err(Refusal::from)?;
    let Some(user) = user else {
        let shown: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(100)
            .collect();
        return Err(Refusal::Login(
            format!("{shown:?} is not a username of this org (byoc setup user list shows them)"),
            None,
        ));
    };
    let id = Some(user.id.clone());
    if !user.is_active {
        return Err(Refusal::Login(
            format!(
                "the user {} is inactive; log in as an active user or reactivate this one",
                user.username
            ),
            id,
        ));
    }
    let has_password = s
        .store
        .repo()
        .password_hash(&user.id)
        .await
        .map_err(Refusal::from)?
        .is_some();
    let diagnosis = if has_password {
        format!("wrong password for {}; byoc has no security tokens, send the password alone (byoc setup user password {} sets a new one)", user.username, user.username)
    } else {
        format!(
            "the user {} has no password yet; set one (byoc setup user password {})",
            user.username, user.username
        )
    };
    Err(Refusal::Login(diagnosis, id))
}

/// Read a `login` envelope: `Envelope` (SOAP 1.1) › optional `Header` › `Body` › `login` in
/// `namespace` › `username`, `password`. Anything else is the SOAP fault Salesforce answers.
fn parse_login(body: &[u8], namespace: &str) -> Result<LoginRequest, Fault> {
    let mut reader = NsReader::from_reader(body);
    reader.config_mut().trim_text(false);
    // Names of the open elements: (namespace, local name).
    let mut stack: Vec<(Option<Vec<u8>>, Vec<u8>)> = Vec::new();
    let mut request = LoginRequest::default();
    let mut seen_login = false;
    let mut seen_root = false;
    loop {
        // The namespace is copied out at once, so the reader is free again for its position.
        let step = reader.read_resolved_event().map(|(ns, event)| {
            let ns = match ns {
                ResolveResult::Bound(n) => Ok(Some(n.as_ref().to_vec())),
                ResolveResult::Unbound => Ok(None),
                ResolveResult::Unknown(prefix) => Err(prefix),
            };
            (ns, event)
        });
        let (ns, event) = match step {
            Ok((Ok(ns), event)) => (ns, event),
            Ok((Err(prefix), _)) => {
                return Err(Fault::client(format!(
                    "The namespace prefix \"{}\" was not declared.",
                    String::from_utf8_lossy(&prefix)
                )))
            }
            Err(e) => {
                return Err(Fault::client(parse_error(
                    &e.to_string(),
                    reader.error_position(),
                )))
            }
        };
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name().as_ref().to_vec();
                let depth = stack.len();
                if depth == 0 {
                    if seen_root {
                        return Err(Fault::client("Unexpected element after the document element"));
                    }
                    seen_root = true;
                    if ns.as_deref() != Some(SOAP_ENVELOPE_NS.as_bytes()) || local != b"Envelope" {
                        return Err(Fault::client(format!(
                            "Unexpected element {} during deserialization: expected {{{SOAP_ENVELOPE_NS}}}Envelope",
                            qualified(&ns, &local)
                        )));
                    }
                }
                if depth == 1
                    && !(ns.as_deref() == Some(SOAP_ENVELOPE_NS.as_bytes())
                        && (local == b"Header" || local == b"Body"))
                {
                    return Err(Fault::client(format!(
                        "Unexpected element {} in the SOAP envelope: expected Header or Body",
                        qualified(&ns, &local)
                    )));
                }
                if depth == 2 && in_body(&stack) {
                    if seen_login {
                        return Err(Fault::client("The SOAP Body holds more than one operation"));
                    }
                    if ns.as_deref() != Some(namespace.as_bytes()) || local != b"login" {
                        return Err(Fault::client(format!(
                            "No operation available for request {}, please check the WSDL for the service.",
                            qualified(&ns, &local)
                        )));
                    }
                    seen_login = true;
                }
                if !empty {
                    stack.push((ns, local));
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                if let Some(field) = login_field(&stack, namespace) {
                    let text = t
                        .unescape()
                        .map_err(|e| Fault::client(parse_error(&e.to_string(), reader.buffer_position())))?;
                    field_of(&mut request, field).push_str(&text);
                } else if stack.len() <= 2 && !t.iter().all(u8::is_ascii_whitespace) {
                    return Err(Fault::client("Text is not allowed outside the SOAP operation"));
                }
            }
            Event::CData(c) => {
                if let Some(field) = login_field(&stack, namespace) {
                    let text = std::str::from_utf8(&c)
                        .map_err(|_| Fault::client("The request is not UTF-8"))?;
                    field_of(&mut request, field).push_str(text);
                }
            }
            Event::DocType(_) => {
                return Err(Fault::client(
                    "DOCTYPE is disallowed when the feature \"http://apache.org/xml/features/disallow-doctype-decl\" set to true.",
                ))
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !seen_root {
        return Err(Fault::client("Premature end of file."));
    }
    if !seen_login {
        return Err(Fault::client(
            "The SOAP Body has no operation; send <login xmlns=\"urn:partner.soap.sforce.com\">",
        ));
    }
    Ok(request)
}

fn parse_error(error: &str, position: u64) -> String {
    let one_line: String = error
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    format!("The request is not well-formed XML at byte {position}: {one_line}")
}

fn qualified(ns: &Option<Vec<u8>>, local: &[u8]) -> String {
    let shown = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect()
    };
    format!(
        "{{{}}}{}",
        ns.as_deref().map(shown).unwrap_or_default(),
        shown(local)
    )
}

fn in_body(stack: &[(Option<Vec<u8>>, Vec<u8>)]) -> bool {
    stack.get(1).is_some_and(|(ns, local)| {
        ns.as_deref() == Some(SOAP_ENVELOPE_NS.as_bytes()) && local == b"Body"
    })
}

#[derive(Clone, Copy)]
enum Field {
    Username,
    Password,
}

fn field_of(request: &mut LoginRequest, field: Field) -> &mut String {
    match field {
        Field::Username => &mut request.username,
        Field::Password => &mut request.password,
    }
}

/// Whether the text being read is the `username` or `password` of the `login` element; the
/// children may be in the operation's namespace (the WSDL's qualified form) or in none.
fn login_field(stack: &[(Option<Vec<u8>>, Vec<u8>)], namespace: &str) -> Option<Field> {
    if stack.len() != 4 || !in_body(stack) {
        return None;
    }
    let (ns, local) = &stack[3];
    if !(ns.is_none() || ns.as_deref() == Some(namespace.as_bytes())) {
        return None;
    }
    match local.as_slice() {
        b"username" => Some(Field::Username),
        b"password" => Some(Field::Password),
        _ => None,
    }
}

fn xml(status: StatusCode, bytes: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/xml;charset=UTF-8"),
        )],
        bytes,
    )
        .into_response()
}

fn fault_response(wsdl: Wsdl, fault: &Fault, diagnosis: Option<&str>) -> Response {
    let Ok(bytes) = fault_body(wsdl, fault) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut r = xml(fault.status, bytes);
    if let Some(d) = diagnosis {
        if let Ok(v) = HeaderValue::from_str(&byoc_core::oauth::header_safe(d)) {
            r.headers_mut().insert(DIAGNOSIS_HEADER, v);
        }
    }
    r
}

/// `<?xml version="1.0" encoding="UTF-8"?>` as Salesforce writes it (no standalone, no space).
fn declaration(w: &mut Writer<Vec<u8>>) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
}

fn fault_body(wsdl: Wsdl, fault: &Fault) -> std::io::Result<Vec<u8>> {
    let mut w = Writer::new(Vec::new());
    declaration(&mut w)?;
    let mut envelope = BytesStart::new("soapenv:Envelope");
    envelope.push_attribute(("xmlns:soapenv", SOAP_ENVELOPE_NS));
    if fault.detail.is_some() {
        envelope.push_attribute(("xmlns:sf", wsdl.fault_namespace()));
        envelope.push_attribute(("xmlns:xsi", XSI_NS));
    }
    w.write_event(Event::Start(envelope))?;
    w.write_event(Event::Start(BytesStart::new("soapenv:Body")))?;
    w.write_event(Event::Start(BytesStart::new("soapenv:Fault")))?;
    text_element(&mut w, "faultcode", &fault.code)?;
    text_element(&mut w, "faultstring", &fault.message)?;
    if let Some((element, code, message)) = &fault.detail {
        w.write_event(Event::Start(BytesStart::new("detail")))?;
        let name = format!("sf:{element}");
        let mut detail = BytesStart::new(name.as_str());
        detail.push_attribute(("xsi:type", name.as_str()));
        w.write_event(Event::Start(detail))?;
        text_element(&mut w, "sf:exceptionCode", code)?;
        text_element(&mut w, "sf:exceptionMessage", message)?;
        w.write_event(Event::End(BytesEnd::new(name.as_str())))?;
        w.write_event(Event::End(BytesEnd::new("detail")))?;
    }
    w.write_event(Event::End(BytesEnd::new("soapenv:Fault")))?;
    w.write_event(Event::End(BytesEnd::new("soapenv:Body")))?;
    w.write_event(Event::End(BytesEnd::new("soapenv:Envelope")))?;
    Ok(w.into_inner())
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))?;
    w.write_event(Event::Text(BytesText::new(value)))?;
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn nil_element(w: &mut Writer<Vec<u8>>, name: &str) -> std::io::Result<()> {
    let mut e = BytesStart::new(name);
    e.push_attribute(("xsi:nil", "true"));
    w.write_event(Event::Empty(e))
}

fn id18(id: &str) -> String {
    byoc_core::ids::to_18(id).unwrap_or_else(|| id.to_string())
}

/// The user's full name as byoc shows it (users have no first and last name): the username's
/// part before `@`, as the identity URL's `display_name`.
fn full_name(user: &User) -> &str {
    user.username.split('@').next().unwrap_or(&user.username)
}

/// `loginResponse`, elements in the order of the WSDL's `LoginResult` and `GetUserInfoResult`.
fn login_response(
    s: &Inner,
    wsdl: Wsdl,
    version: &str,
    instance_url: &str,
    session_id: &str,
    user: &User,
) -> std::io::Result<Vec<u8>> {
    let org15 = &s.org.id;
    let profile_id = byoc_core::permissions::builtin_profiles()
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(&user.profile))
        .map(|p| id18(&p.id))
        .unwrap_or_default();
    let mut w = Writer::new(Vec::new());
    declaration(&mut w)?;
    let mut envelope = BytesStart::new("soapenv:Envelope");
    envelope.push_attribute(("xmlns:soapenv", SOAP_ENVELOPE_NS));
    envelope.push_attribute(("xmlns", wsdl.namespace()));
    envelope.push_attribute(("xmlns:xsi", XSI_NS));
    w.write_event(Event::Start(envelope))?;
    w.write_event(Event::Start(BytesStart::new("soapenv:Body")))?;
    w.write_event(Event::Start(BytesStart::new("loginResponse")))?;
    w.write_event(Event::Start(BytesStart::new("result")))?;
    text_element(
        &mut w,
        "metadataServerUrl",
        &format!("{instance_url}/services/Soap/m/{version}/{org15}"),
    )?;
    text_element(&mut w, "passwordExpired", "false")?;
    text_element(&mut w, "sandbox", "false")?;
    text_element(
        &mut w,
        "serverUrl",
        &format!(
            "{instance_url}/services/Soap/{}/{version}/{org15}",
            wsdl.path_letter()
        ),
    )?;
    text_element(&mut w, "sessionId", session_id)?;
    text_element(&mut w, "userId", &user.id18)?;
    w.write_event(Event::Start(BytesStart::new("userInfo")))?;
    for (name, value) in [
        ("accessibilityMode", "false"),
        ("chatterExternal", "false"),
        ("currencySymbol", "$"),
        ("orgAttachmentFileSizeLimit", "5242880"),
        ("orgDefaultCurrencyIsoCode", "USD"),
        ("orgDefaultCurrencyLocale", "en_US"),
        ("orgDisallowHtmlAttachments", "false"),
        ("orgHasPersonAccounts", "false"),
        ("organizationId", s.org.id18.as_str()),
        ("organizationMultiCurrency", "false"),
        ("organizationName", s.org.name.as_str()),
        ("profileId", profile_id.as_str()),
    ] {
        text_element(&mut w, name, value)?;
    }
    nil_element(&mut w, "roleId")?;
    text_element(&mut w, "sessionSecondsValid", &SESSION_SECONDS.to_string())?;
    nil_element(&mut w, "userDefaultCurrencyIsoCode")?;
    for (name, value) in [
        ("userEmail", user.email.as_str()),
        ("userFullName", full_name(user)),
        ("userId", user.id18.as_str()),
        ("userLanguage", "en_US"),
        ("userLocale", "en_US"),
        ("userName", user.username.as_str()),
        ("userTimeZone", "America/Los_Angeles"),
        ("userType", "Standard"),
        ("userUiSkin", "Theme3"),
    ] {
        text_element(&mut w, name, value)?;
    }
    w.write_event(Event::End(BytesEnd::new("userInfo")))?;
    w.write_event(Event::End(BytesEnd::new("result")))?;
    w.write_event(Event::End(BytesEnd::new("loginResponse")))?;
    w.write_event(Event::End(BytesEnd::new("soapenv:Body")))?;
    w.write_event(Event::End(BytesEnd::new("soapenv:Envelope")))?;
    Ok(w.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Result<LoginRequest, Fault> {
        parse_login(xml.as_bytes(), PARTNER_NS)
    }

    #[test]
    fn any_prefixes_and_a_default_namespace_read_the_same() {
        let forms = [
            r#"<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>a@b.c</n1:username><n1:password>p&amp;w</n1:password></n1:login></env:Body></env:Envelope>"#,
            r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header/><soapenv:Body><urn:login><urn:username>a@b.c</urn:username><urn:password><![CDATA[p&w]]></urn:password></urn:login></soapenv:Body></soapenv:Envelope>"#,
            "<se:Envelope xmlns:se='http://schemas.xmlsoap.org/soap/envelope/'>\n <se:Body>\n  <login xmlns='urn:partner.soap.sforce.com'>\n   <username>a@b.c</username>\n   <password>p&#38;w</password>\n  </login>\n </se:Body>\n</se:Envelope>",
        ];
        for xml in forms {
            assert_eq!(
                parse(xml).unwrap(),
                LoginRequest {
                    username: "a@b.c".into(),
                    password: "p&w".into()
                },
                "{xml}"
            );
        }
    }

    #[test]
    fn malformed_envelopes_are_client_faults() {
        for xml in [
            "",
            "not xml",
            "<Envelope/>",
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><login xmlns="urn:partner.soap.sforce.com"><username>a</username></e:Body></e:Envelope>"#,
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><x:login><username>a</username></x:login></e:Body></e:Envelope>"#,
            r#"<!DOCTYPE e [<!ENTITY x "y">]><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"/>"#,
            r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>"#,
        ] {
            let fault = parse(xml).unwrap_err();
            assert_eq!(fault.code, "soapenv:Client", "{xml}");
        }
    }

    #[test]
    fn another_operation_or_namespace_is_no_operation() {
        let f = parse(r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><query xmlns="urn:partner.soap.sforce.com"/></e:Body></e:Envelope>"#).unwrap_err();
        assert_eq!(f.message, "No operation available for request {urn:partner.soap.sforce.com}query, please check the WSDL for the service.");
        let f = parse_login(br#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><login xmlns="urn:partner.soap.sforce.com"/></e:Body></e:Envelope>"#, ENTERPRISE_NS).unwrap_err();
        assert!(f.message.starts_with("No operation available"), "{f:?}");
    }

    #[test]
    fn the_fault_is_salesforces() {
        let body = fault_body(Wsdl::Partner, &Fault::invalid_login()).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#
        );
    }
}
