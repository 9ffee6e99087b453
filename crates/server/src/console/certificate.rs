//! Certificate Helper: the help page's first step ("Create a Private Key and Self-Signed Digital
//! Certificate") in the browser. It makes an RSA 2048 key and a self-signed certificate with the
//! same code as `byoc cert new` ([`byoc_pki::new_self_signed`]), answers them once — in readonly
//! fields and as `data:` download links — and keeps nothing: the key is never stored, never
//! logged, and the answer is `Cache-Control: no-store` (set on every console answer). Beside the
//! form: the equivalent `openssl` and `byoc cert new` commands.
//!
//! It reads no org record, so it needs no Setup permission; it needs a session and, to create,
//! the session's CSRF token (a write's rules, although nothing is written).

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::Engine as _;

use super::{page, page_with_status, ConsoleSession, ConsoleState, Layout, PostedForm};

const KEY: &str = "certificate";
const TITLE: &str = "Certificate Helper";
pub const HOME: &str = "/lightning/setup/ByocCertificate/home";
/// Where the certificate goes next (the help page's next step).
const ECA_MANAGER: &str = "/lightning/setup/ManageExternalClientApplication/new";

/// The longest validity the helper offers (100 years), so a typo can't overflow a date.
const MAX_DAYS: u32 = 36_500;

/// The form as typed.
struct CertForm {
    cn: String,
    days: String,
}

/// What was made: shown once.
struct Made {
    key_pem: String,
    cert_pem: String,
    key_href: String,
    cert_href: String,
    subject: String,
    not_before: String,
    not_after: String,
    fingerprint: String,
}

#[derive(Template)]
#[template(path = "console/org/certificate.html")]
struct CertPage {
    l: Layout,
    f: CertForm,
    error: Option<String>,
    made: Option<Made>,
    openssl: String,
    openssl_steps: Vec<String>,
    byoc: String,
    action: &'static str,
    eca_manager: &'static str,
}

pub fn routes() -> Router<ConsoleState> {
    Router::new().route(HOME, get(show).post(create))
}

/// A shell word: as is when it is plain, single-quoted otherwise.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@:".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The `-subj` value: `/` and `\` are separators and escapes in openssl's syntax.
fn openssl_subject(cn: &str) -> String {
    let escaped = cn.replace('\\', "\\\\").replace('/', "\\/");
    shell_word(&format!("/CN={escaped}"))
}

fn commands(cn: &str, days: &str) -> (String, Vec<String>, String) {
    let cn = if cn.trim().is_empty() {
        "byoc"
    } else {
        cn.trim()
    };
    let days = if days.trim().is_empty() {
        "365"
    } else {
        days.trim()
    };
    let days_word = shell_word(days);
    let subj = openssl_subject(cn);
    let one_line = format!(
        "openssl req -x509 -newkey rsa:2048 -sha256 -nodes -keyout server.key -out server.crt -days {days_word} -subj {subj}"
    );
    // The steps of Salesforce's "Create a Private Key and Self-Signed Digital Certificate".
    let steps = vec![
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes-256-cbc -out server.pass.key".to_string(),
        "openssl rsa -in server.pass.key -out server.key".to_string(),
        format!("openssl req -new -key server.key -out server.csr -subj {subj}"),
        format!("openssl x509 -req -sha256 -days {days_word} -in server.csr -signkey server.key -out server.crt"),
    ];
    let byoc = format!(
        "byoc cert new --out keys --cn {} --days {days_word}",
        shell_word(cn)
    );
    (one_line, steps, byoc)
}

fn cert_page(
    session: &ConsoleSession,
    f: CertForm,
    error: Option<String>,
    made: Option<Made>,
) -> CertPage {
    let (openssl, openssl_steps, byoc) = commands(&f.cn, &f.days);
    CertPage {
        l: Layout::new(session, TITLE, KEY),
        f,
        error,
        made,
        openssl,
        openssl_steps,
        byoc,
        action: HOME,
        eca_manager: ECA_MANAGER,
    }
}

async fn show(session: ConsoleSession) -> Response {
    let f = CertForm {
        cn: "byoc".into(),
        days: "365".into(),
    };
    page(&cert_page(&session, f, None, None))
}

fn data_url(pem: &str) -> String {
    format!(
        "data:application/x-pem-file;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(pem)
    )
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Validates the form: the common name as `byoc cert new --cn` takes it, days 1..=36500.
fn validate(f: &CertForm) -> Result<(String, u32), String> {
    let cn = f.cn.trim();
    if cn.is_empty() {
        return Err("Enter a common name (CN) for the certificate's subject.".into());
    }
    if cn.chars().count() > 64 || cn.chars().any(char::is_control) {
        return Err(
            "The common name (CN) can have at most 64 characters and no control characters.".into(),
        );
    }
    match f.days.trim().parse::<u32>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => Ok((cn.to_string(), d)),
        _ => Err(format!(
            "Valid for (days) must be a whole number from 1 to {MAX_DAYS}."
        )),
    }
}

async fn create(State(state): State<ConsoleState>, form: PostedForm) -> Response {
    let f = CertForm {
        cn: form.get("cn").to_string(),
        days: form.get("days").to_string(),
    };
    let (cn, days) = match validate(&f) {
        Ok(v) => v,
        Err(message) => {
            return page_with_status(
                StatusCode::BAD_REQUEST,
                &cert_page(&form.session, f, Some(message), None),
            )
        }
    };
    let Some(now) = chrono::DateTime::from_timestamp_millis(state.oauth.now()) else {
        return page_with_status(
            StatusCode::INTERNAL_SERVER_ERROR,
            &cert_page(
                &form.session,
                f,
                Some("The server's clock is out of range.".into()),
                None,
            ),
        );
    };
    // RSA key generation takes a while: off the async workers.
    let made = tokio::task::spawn_blocking(move || {
        let pair = byoc_pki::new_self_signed(&cn, days, now)?;
        let info = byoc_pki::parse_certificate(&pair.certificate_pem)?;
        Ok::<_, byoc_pki::PkiError>((pair, info))
    })
    .await;
    let (pair, info) = match made {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            return page_with_status(
                StatusCode::BAD_REQUEST,
                &cert_page(
                    &form.session,
                    f,
                    Some(format!("The key pair could not be created: {e}")),
                    None,
                ),
            )
        }
        Err(_) => {
            return page_with_status(
                StatusCode::INTERNAL_SERVER_ERROR,
                &cert_page(
                    &form.session,
                    f,
                    Some("The key pair could not be created.".into()),
                    None,
                ),
            )
        }
    };
    let made = Made {
        key_href: data_url(&pair.private_key_pem),
        cert_href: data_url(&pair.certificate_pem),
        key_pem: pair.private_key_pem.clone(),
        cert_pem: pair.certificate_pem.clone(),
        subject: info.subject,
        not_before: rfc3339(info.not_before),
        not_after: rfc3339(info.not_after),
        fingerprint: info.sha256_fingerprint,
    };
    page(&cert_page(&form.session, f, None, Some(made)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_quote_what_a_shell_would_split() {
        let (one, steps, byoc) = commands("Acme Connector", "30");
        assert!(
            one.ends_with("-days 30 -subj '/CN=Acme Connector'"),
            "{one}"
        );
        assert_eq!(
            byoc,
            "byoc cert new --out keys --cn 'Acme Connector' --days 30"
        );
        assert_eq!(steps.len(), 4);
        let (one, _, byoc) = commands("it's/odd", "365");
        assert!(one.contains(r"-subj '/CN=it'\''s\/odd'"), "{one}");
        assert!(byoc.contains(r"--cn 'it'\''s/odd'"), "{byoc}");
        let (_, _, byoc) = commands("", "; rm -rf /");
        assert!(byoc.contains("--cn byoc --days '; rm -rf /'"), "{byoc}");
    }

    #[test]
    fn validation_refuses_what_byoc_cert_new_refuses() {
        let f = |cn: &str, days: &str| CertForm {
            cn: cn.into(),
            days: days.into(),
        };
        assert_eq!(validate(&f(" acme ", "30")), Ok(("acme".into(), 30)));
        assert!(validate(&f("", "30")).is_err());
        assert!(validate(&f("acme", "0")).is_err());
        assert!(validate(&f("acme", "99999999999")).is_err());
        assert!(validate(&f("acme", "-1")).is_err());
        assert!(validate(&f("a\u{7}b", "1")).is_err());
    }
}
