//! The web console over real HTTP, as a browser without JavaScript uses it: the `sid` cookie,
//! forms with the CSRF token, 303 redirects. [`Console`] is shared by the `console_*` modules;
//! the real-browser tests live in `tests/browser/` (docs/console.md).

use byoc_testkit::TestServer;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

/// A cookie-keeping console client that does not follow redirects (tests look at them).
pub struct Console {
    pub base: String,
    http: reqwest::Client,
    pub sid: Option<String>,
}

/// An answer: status, `Location` (for redirects) and body.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> String {
        let marker = "name=\"_csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with _csrf") + marker.len();
        let end = self.body[start..].find('"').expect("end of _csrf") + start;
        self.body[start..end].to_string()
    }
}

// Helpers for the `console_*` modules; not every module uses every one.
#[allow(dead_code)]
impl Console {
    pub fn new(server: &TestServer) -> Console {
        Console {
            base: server.org().login_url.clone(),
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("http client"),
            sid: None,
        }
    }

    /// Logged in through `frontdoor.jsp` with the bootstrap admin credential.
    pub async fn admin(server: &TestServer) -> Console {
        let mut c = Console::new(server);
        let sid = server.org().admin_token.clone();
        let p = c.get(&format!("/secur/frontdoor.jsp?sid={sid}")).await;
        assert_eq!(p.status, StatusCode::SEE_OTHER, "frontdoor: {}", p.body);
        assert!(c.sid.is_some(), "frontdoor set no session cookie");
        c
    }

    fn remember(&mut self, res: &reqwest::Response) {
        for v in res.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap_or_default();
            if let Some(rest) = v.strip_prefix("sid=") {
                let value = rest.split(';').next().unwrap_or_default();
                self.sid = (!value.is_empty()).then(|| value.to_string());
            }
        }
    }

    async fn finish(&mut self, res: reqwest::Response) -> Page {
        self.remember(&res);
        Page {
            status: res.status(),
            location: res
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            headers: res.headers().clone(),
            body: res.text().await.unwrap_or_default(),
        }
    }

    fn with_cookie(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.sid {
            Some(sid) => req.header(COOKIE, format!("sid={sid}")),
            None => req,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.with_cookie(self.http.get(format!("{}{path}", self.base)));
        let res = req.send().await.expect("GET");
        self.finish(res).await
    }

    /// POSTs `fields` (urlencoded) as-is; add `("_csrf", token)` yourself.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let req = self.with_cookie(self.http.post(format!("{}{path}", self.base)));
        let res = req.form(fields).send().await.expect("POST");
        self.finish(res).await
    }

    /// POSTs with the CSRF token of the page at `form_page` added.
    pub async fn submit(&mut self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(form_page).await.csrf();
        let mut all = vec![("_csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    pub async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
        let req = self.with_cookie(self.http.post(format!("{}{path}", self.base)));
        let res = req.multipart(form).send().await.expect("POST multipart");
        self.finish(res).await
    }

    /// A raw request, for headers a browser sets (`Origin`, `Sec-Fetch-Site`).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.with_cookie(self.http.request(method, format!("{}{path}", self.base)))
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let res = req.send().await.expect("request");
        self.finish(res).await
    }
}

const HOME: &str = "/lightning/setup/SetupOneHome/home";

#[tokio::test]
async fn frontdoor_logs_in_and_writes_need_the_session_csrf_token_and_this_site() {
    let server = TestServer::start().await.unwrap();

    // Not logged in: the login page, and pages send you there with startURL.
    let mut anon = Console::new(&server);
    let p = anon.get(HOME).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        p.location.as_deref(),
        Some("/?startURL=%2Flightning%2Fsetup%2FSetupOneHome%2Fhome")
    );
    let p = anon.get("/").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("name=\"pw\""), "{}", p.body);
    let csp = p.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    // A wrong sid logs nobody in.
    let p = anon.get("/secur/frontdoor.jsp?sid=not-a-session").await;
    assert_eq!(p.location.as_deref(), Some("/"));
    assert!(anon.sid.is_none());

    // The admin credential logs in; the page has the Setup tree and Quick Find.
    let mut admin = Console::admin(&server).await;
    let p = admin.get(&format!("{HOME}?q=messaging")).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("Quick Find"));
    assert!(
        p.body.contains(">Messaging Settings</a></li></ul>"),
        "{}",
        p.body
    );
    // retURL is followed only within this host.
    let sid = server.org().admin_token.clone();
    let p = Console::new(&server)
        .get(&format!(
            "/secur/frontdoor.jsp?sid={sid}&retURL=https://evil.example/"
        ))
        .await;
    assert_eq!(p.location.as_deref(), Some(HOME));

    // Writes: no token, a wrong token, another site → 403 before anything happens.
    let p = admin.post("/secur/logout.jsp", &[]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = admin.post("/secur/logout.jsp", &[("_csrf", "wrong")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let token = admin.get(HOME).await.csrf();
    let req = admin
        .request(reqwest::Method::POST, "/secur/logout.jsp")
        .header("Origin", "https://evil.example")
        .form(&[("_csrf", token.as_str())]);
    assert_eq!(admin.send(req).await.status, StatusCode::FORBIDDEN);
    let req = admin
        .request(reqwest::Method::POST, "/secur/logout.jsp")
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("_csrf", token.as_str())]);
    assert_eq!(admin.send(req).await.status, StatusCode::FORBIDDEN);
    // Still logged in after all that.
    assert_eq!(admin.get(HOME).await.status, StatusCode::OK);

    // Log Out ends the session on the server: the old cookie no longer works.
    let old = admin.sid.clone();
    let p = admin
        .post("/secur/logout.jsp", &[("_csrf", token.as_str())])
        .await;
    assert_eq!(p.location.as_deref(), Some("/"));
    admin.sid = old;
    assert_eq!(admin.get(HOME).await.status, StatusCode::SEE_OTHER);

    server.stop().await.unwrap();
}
