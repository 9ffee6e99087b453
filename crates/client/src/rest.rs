//! Salesforce's REST API for an instance URL and an access token: SOQL through `/query`,
//! `/queryAll` and the Tooling API's `/tooling/query`, following `nextRecordsUrl`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), byoc_client::ClientError> {
//! use byoc_client::rest::RestClient;
//! let rest = RestClient::new("http://127.0.0.1:6101", "00D…!AQ…")?;
//! let ccds = rest
//!     .query("SELECT DeveloperName, ConversationVendorInfo.VendorType FROM ConversationChannelDefinition")
//!     .await?;
//! for record in &ccds.records {
//!     println!("{} {}", record["DeveloperName"], record["ConversationVendorInfo"]["VendorType"]);
//! }
//! # Ok(()) }
//! ```
//!
//! [`RestClient::query`], [`RestClient::query_all`] and [`RestClient::tooling_query`] collect
//! every page into one [`QueryResult`], up to [`RestClient::max_records`] records; past the cap
//! the answer keeps `done: false` and the `nextRecordsUrl` to go on from.
//! [`RestClient::pages`] walks the pages one at a time instead, with each record also in the
//! field order the server sent ([`OrderedValue`], for tables). Errors are [`ClientError::Api`]
//! with Salesforce's `[{"message","errorCode"}]` entries, e.g. `MALFORMED_QUERY`.
//!
//! The same client works against real Salesforce (`instance_url` and `access_token` of any OAuth
//! flow); against byoc, the bootstrap admin credential of `org.json` is accepted too, and
//! [`RestClient::act_as`] acts as another user as the admin API does.

pub mod ordered;

use std::fmt;

use byoc_proto::admin::ACT_AS_HEADER;
use byoc_proto::rest::{QueryResult, CURRENT_API_VERSION};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

pub use ordered::OrderedValue;

use crate::{api_error, parse_base_url, root_cause, snippet, transport_error, ClientError};

/// How many records [`RestClient::query`] and friends collect before they stop following
/// `nextRecordsUrl` (Salesforce's own cap on the rows one Apex transaction may read).
pub const DEFAULT_MAX_RECORDS: usize = 50_000;

/// Which query resource: `/query` (live records), `/queryAll` (deleted and archived ones too)
/// or the Tooling API's `/tooling/query`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// `/services/data/vXX.X/query`
    Query,
    /// `/services/data/vXX.X/queryAll`
    QueryAll,
    /// `/services/data/vXX.X/tooling/query`
    Tooling,
}

impl QueryKind {
    fn path(self) -> &'static str {
        match self {
            QueryKind::Query => "query",
            QueryKind::QueryAll => "queryAll",
            QueryKind::Tooling => "tooling/query",
        }
    }
}

/// A REST API client of one org, for one access token.
#[derive(Clone)]
pub struct RestClient {
    http: reqwest::Client,
    instance_url: Url,
    access_token: String,
    api_version: String,
    act_as: Option<String>,
    batch_size: Option<u32>,
    max_records: usize,
}

// Hand-written so the access token never lands in a log line.
impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient")
            .field("instance_url", &self.instance_url.as_str())
            .field("access_token", &"<redacted>")
            .field("api_version", &self.api_version)
            .field("act_as", &self.act_as)
            .finish_non_exhaustive()
    }
}

impl RestClient {
    /// A client for the org at `instance_url` (byoc: the `instance_url` of `org.json`; real
    /// Salesforce: the token response's `instance_url`) sending `access_token` as
    /// `Authorization: Bearer`, on API version [`CURRENT_API_VERSION`].
    pub fn new(instance_url: &str, access_token: &str) -> Result<RestClient, ClientError> {
        let instance_url = parse_base_url(instance_url)?;
        let http = reqwest::Client::builder()
            .timeout(crate::REQUEST_TIMEOUT)
            .connect_timeout(crate::CONNECT_TIMEOUT)
            .user_agent(concat!("byoc-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Transport(format!("can't set up the HTTP client: {e}")))?;
        Ok(RestClient {
            http,
            instance_url,
            access_token: access_token.to_string(),
            api_version: CURRENT_API_VERSION.to_string(),
            act_as: None,
            batch_size: None,
            max_records: DEFAULT_MAX_RECORDS,
        })
    }

    /// Use API version `version` (`"62.0"`; a leading `v` is dropped).
    pub fn api_version(mut self, version: &str) -> RestClient {
        self.api_version = version.trim().trim_start_matches('v').to_string();
        self
    }

    /// byoc only, with the bootstrap admin credential: act as this user (the `X-Byoc-As`
    /// header), so the answer follows their permissions. `None` acts as the admin.
    pub fn act_as(mut self, username: Option<&str>) -> RestClient {
        self.act_as = username.map(str::to_string);
        self
    }

    /// Ask for pages of `size` records (`Sforce-Query-Options: batchSize=N`; Salesforce takes
    /// 200–2000 and treats it as a hint). `None`: the server's default, 2000.
    pub fn batch_size(mut self, size: Option<u32>) -> RestClient {
        self.batch_size = size;
        self
    }

    /// Stop following `nextRecordsUrl` once this many records are collected (default
    /// [`DEFAULT_MAX_RECORDS`]).
    pub fn max_records(mut self, max: usize) -> RestClient {
        self.max_records = max;
        self
    }

    /// The instance URL requests go to.
    pub fn instance_url(&self) -> &Url {
        &self.instance_url
    }

    /// The API version in request paths (`"68.0"`).
    pub fn version(&self) -> &str {
        &self.api_version
    }

    /// `GET /services/data/vXX.X/query?q=…`, every page.
    pub async fn query(&self, soql: &str) -> Result<QueryResult, ClientError> {
        self.collect(QueryKind::Query, soql).await
    }

    /// `GET /services/data/vXX.X/queryAll?q=…` (deleted and archived records too), every page.
    pub async fn query_all(&self, soql: &str) -> Result<QueryResult, ClientError> {
        self.collect(QueryKind::QueryAll, soql).await
    }

    /// `GET /services/data/vXX.X/tooling/query?q=…`, every page.
    pub async fn tooling_query(&self, soql: &str) -> Result<QueryResult, ClientError> {
        self.collect(QueryKind::Tooling, soql).await
    }

    /// [`RestClient::query`] with each record deserialized into `T` (e.g. a struct with
    /// `#[serde(rename = "DeveloperName")]` fields).
    pub async fn query_as<T: DeserializeOwned>(&self, soql: &str) -> Result<Vec<T>, ClientError> {
        let result = self.query(soql).await?;
        result
            .records
            .into_iter()
            .map(|record| {
                serde_json::from_value(record).map_err(|e| {
                    ClientError::Decode(format!("a record of `{soql}` does not fit: {e}"))
                })
            })
            .collect()
    }

    /// Every page of `soql` into one result, up to the record cap.
    pub async fn collect(&self, kind: QueryKind, soql: &str) -> Result<QueryResult, ClientError> {
        let mut pages = self.pages(kind, soql);
        let mut all: Option<QueryResult> = None;
        while let Some(page) = pages.next().await? {
            let result = page.result;
            match &mut all {
                None => all = Some(result),
                Some(all) => {
                    all.records.extend(result.records);
                    all.done = result.done;
                    all.next_records_url = result.next_records_url;
                }
            }
            if all
                .as_ref()
                .is_some_and(|a| a.records.len() >= self.max_records)
            {
                break;
            }
        }
        // `pages` yields at least one page or an error, so `all` is set here.
        all.ok_or_else(|| ClientError::Decode("the query answered no page".into()))
    }

    /// The pages of `soql`, one request each: the query, then each `nextRecordsUrl`.
    pub fn pages(&self, kind: QueryKind, soql: &str) -> QueryPages<'_> {
        QueryPages {
            client: self,
            next: Next::First(kind, soql.to_string()),
        }
    }

    /// `GET` one page: the first of a query or a `nextRecordsUrl`.
    async fn page(&self, url: Url) -> Result<QueryPage, ClientError> {
        let mut request = self
            .http
            .request(Method::GET, url)
            .bearer_auth(&self.access_token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(username) = &self.act_as {
            request = request.header(ACT_AS_HEADER, username);
        }
        if let Some(size) = self.batch_size {
            request = request.header("Sforce-Query-Options", format!("batchSize={size}"));
        }
        let response = request
            .send()
            .await
            .map_err(|e| transport_error(&self.instance_url, &e))?;
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
        let decode_error = |e: serde_json::Error| {
            ClientError::Decode(format!(
                "unexpected answer from {url} (HTTP {status}): {e}; body: {}",
                snippet(&bytes)
            ))
        };
        let result: QueryResult = serde_json::from_slice(&bytes).map_err(decode_error)?;
        let ordered: OrderedRecords = serde_json::from_slice(&bytes).map_err(decode_error)?;
        Ok(QueryPage {
            result,
            ordered: ordered.records,
        })
    }

    /// `/services/data/vXX.X/<kind>?q=<soql>`.
    fn query_url(&self, kind: QueryKind, soql: &str) -> Url {
        let mut url = self.instance_url.clone();
        let path = format!(
            "{}/services/data/v{}/{}",
            url.path().trim_end_matches('/'),
            self.api_version,
            kind.path()
        );
        url.set_path(&path);
        url.query_pairs_mut().clear().append_pair("q", soql);
        url
    }

    /// A `nextRecordsUrl` (a path on the instance) as a URL; the access token goes only to the
    /// instance it was issued for, so anything on another origin is refused.
    fn next_url(&self, next: &str) -> Result<Url, ClientError> {
        let url = self.instance_url.join(next).map_err(|e| {
            ClientError::Decode(format!("nextRecordsUrl {next:?} is not a URL path: {e}"))
        })?;
        if url.origin() != self.instance_url.origin() {
            return Err(ClientError::Decode(format!(
                "nextRecordsUrl {next:?} points away from {}; not following it",
                self.instance_url.as_str().trim_end_matches('/')
            )));
        }
        Ok(url)
    }
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryPage {
    /// The page as the server sent it.
    pub result: QueryResult,
    /// The same records with their fields in the order the server sent them (select order).
    pub ordered: Vec<OrderedValue>,
}

/// Only the records of a page, order kept.
#[derive(Deserialize)]
struct OrderedRecords {
    records: Vec<OrderedValue>,
}

enum Next {
    First(QueryKind, String),
    Url(String),
    Done,
}

/// The pages of one query ([`RestClient::pages`]).
pub struct QueryPages<'a> {
    client: &'a RestClient,
    next: Next,
}

impl QueryPages<'_> {
    /// The next page, `Ok(None)` after the last one (`done: true`). After an error the walk
    /// ends.
    pub async fn next(&mut self) -> Result<Option<QueryPage>, ClientError> {
        let url = match std::mem::replace(&mut self.next, Next::Done) {
            Next::Done => return Ok(None),
            Next::First(kind, soql) => self.client.query_url(kind, &soql),
            Next::Url(next) => self.client.next_url(&next)?,
        };
        let page = self.client.page(url).await?;
        if !page.result.done {
            match &page.result.next_records_url {
                Some(next) => self.next = Next::Url(next.clone()),
                None => {
                    return Err(ClientError::Decode(
                        "the query answered done: false without a nextRecordsUrl".into(),
                    ))
                }
            }
        }
        Ok(Some(page))
    }
}

#[cfg(test)]
mod tests;
