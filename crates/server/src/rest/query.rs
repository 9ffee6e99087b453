//! `GET /services/data/vXX.X/query?q=`, `/queryAll`, `/tooling/query`, and `nextRecordsUrl`
//! paging (`/query/01g…-2000`).
//!
//! A query is parsed and checked against the caller's catalog ([`super::objects::catalog`]),
//! the rows of the objects it names are loaded (one store call per object), and the answer is
//! cut into batches of 2000 records (`Sforce-Query-Options: batchSize=N`, 200–2000). The rest
//! of the records wait in a [`Cursors`] entry, in the database (so any instance reads on), named
//! by the `nextRecordsUrl`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use byoc_core::Clock;
use byoc_soql::{OutputRecord, QueryOutput, Schema, SoqlError};
use byoc_store::cursors::NewQueryCursor;
use byoc_store::Store;
use serde::Serialize;

use super::objects::{self, Api};
use super::{check_version, only, RestCaller, RestState};
use crate::admin_api::ApiError;

/// Records per batch unless the caller asks for fewer.
pub const DEFAULT_BATCH: usize = 2000;
/// The smallest batch Salesforce honours.
pub const MIN_BATCH: usize = 200;
/// How many cursors the org keeps open (in the database, for every instance); the least
/// recently used goes first.
pub const MAX_CURSORS: usize = 200;
/// How long an unused cursor lives (Salesforce: 15 minutes of inactivity).
pub const CURSOR_TTL: Duration = Duration::from_secs(15 * 60);

/// An open cursor as read back: the records still to hand out, one compact JSON object a line.
struct Cursor {
    /// Each record's JSON, in order (borrowed from `text`'s lines).
    text: String,
    /// The version and API the cursor was opened under (its URLs stay under them).
    base: String,
}

impl Cursor {
    fn records(&self) -> Vec<&str> {
        if self.text.is_empty() {
            return vec![];
        }
        self.text.split('\n').collect()
    }
}

/// Open query cursors (`/services/data/vXX.X/query/01g…-2000`), kept in the database so a
/// `nextRecordsUrl` from one instance reads on at any other ([`byoc_store::cursors`]), bounded in
/// number ([`MAX_CURSORS`]) and idle time ([`CURSOR_TTL`]). A locator is bound to the user who
/// ran the query, as in Salesforce.
#[derive(Clone)]
pub struct Cursors {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Cursors {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Cursors {
        Cursors { store, clock }
    }

    fn idle_before(now: i64) -> i64 {
        now - CURSOR_TTL.as_millis() as i64
    }

    /// Store `records` (each serialized once, a line each) and answer the cursor's id.
    async fn open(
        &self,
        records: &[String],
        base: String,
        owner: &str,
    ) -> Result<String, ApiError> {
        let entropy: [u8; 12] = rand::random();
        let id = super::objects::id18(&byoc_core::ids::new_id("01g", &entropy));
        let now = self.clock.now_millis();
        let cursor = NewQueryCursor {
            id: id.clone(),
            owner: owner.to_string(),
            base,
            records: records.join("\n"),
            total: records.len() as i64,
        };
        self.store
            .repo()
            .open_query_cursor(&cursor, now, Self::idle_before(now), MAX_CURSORS as i64)
            .await
            .map_err(objects::store_error)?;
        Ok(id)
    }

    async fn get(&self, id: &str, owner: &str) -> Result<Option<Cursor>, ApiError> {
        // A locator is 18 characters of [0-9A-Za-z]: anything else names no cursor, without
        // asking the database.
        if id.len() != 18 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let now = self.clock.now_millis();
        let row = self
            .store
            .repo()
            .query_cursor(id, owner, now, Self::idle_before(now))
            .await
            .map_err(objects::store_error)?;
        Ok(row.map(|r| Cursor {
            text: r.records,
            base: r.base,
        }))
    }
}

pub fn router() -> Router<RestState> {
    let g = |h| only(h, "GET,HEAD");
    Router::new()
        .route("/services/data/{version}/query", g(get(query)))
        .route("/services/data/{version}/query/", g(get(query)))
        .route("/services/data/{version}/queryAll", g(get(query_all)))
        .route("/services/data/{version}/queryAll/", g(get(query_all)))
        .route(
            "/services/data/{version}/tooling/query",
            g(get(tooling_query)),
        )
        .route(
            "/services/data/{version}/tooling/query/",
            g(get(tooling_query)),
        )
        .route(
            "/services/data/{version}/query/{locator}",
            g(get(next_query)),
        )
        .route(
            "/services/data/{version}/queryAll/{locator}",
            g(get(next_query)),
        )
        .route(
            "/services/data/{version}/tooling/query/{locator}",
            g(get(next_query)),
        )
}

/// A refused query: 400 `[{"message","errorCode"}]`.
pub fn soql_error(e: SoqlError) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.code.as_str(), e.message)
}

fn invalid_locator() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_QUERY_LOCATOR",
        "invalid query locator",
    )
}

/// `Sforce-Query-Options: batchSize=N`, clamped to 200–2000 as Salesforce does.
fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, n)| n.trim().parse::<usize>().ok())
        })
        .map(|n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
        .unwrap_or(DEFAULT_BATCH)
}

async fn query(
    caller: RestCaller,
    State(state): State<RestState>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(
        caller,
        state,
        version,
        super::params(raw),
        headers,
        Api::Data,
        "query",
    )
    .await
}

/// `queryAll` also returns deleted and archived records; byoc keeps none, so it is `query`.
async fn query_all(
    caller: RestCaller,
    State(state): State<RestState>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(
        caller,
        state,
        version,
        super::params(raw),
        headers,
        Api::Data,
        "queryAll",
    )
    .await
}

async fn tooling_query(
    caller: RestCaller,
    State(state): State<RestState>,
    Path(version): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(
        caller,
        state,
        version,
        super::params(raw),
        headers,
        Api::Tooling,
        "tooling/query",
    )
    .await
}

/// Only the objects a query may name: platform events are described, never queried.
struct Queryable(Vec<byoc_soql::ObjectDef>);

impl Schema for Queryable {
    fn object(&self, name: &str) -> Option<&byoc_soql::ObjectDef> {
        self.0
            .iter()
            .find(|o| o.queryable && o.name.eq_ignore_ascii_case(name))
    }
}

async fn run(
    RestCaller(actor): RestCaller,
    state: RestState,
    version: String,
    params: HashMap<String, String>,
    headers: HeaderMap,
    api: Api,
    resource: &str,
) -> Result<Response, ApiError> {
    let v = check_version(&version)?;
    let Some(q) = params.get("q").filter(|q| !q.trim().is_empty()) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "A query string has to be specified",
        ));
    };
    let parsed = byoc_soql::parse(q).map_err(soql_error)?;
    let schema = Queryable(objects::catalog(&state, &actor, api).await?);
    let plan = byoc_soql::plan(&parsed, &schema).map_err(soql_error)?;
    let data = objects::load(&state, &plan.objects(), Some(&plan)).await?;
    let sobjects_url = match api {
        Api::Data => format!("/services/data/v{v}/sobjects"),
        Api::Tooling => format!("/services/data/v{v}/tooling/sobjects"),
    };
    let output = byoc_soql::execute(&plan, &data, &sobjects_url).map_err(soql_error)?;
    let records = match output {
        QueryOutput::Count(n) => {
            return Ok(Json(QueryPage {
                total_size: n,
                done: true,
                next_records_url: None,
                records: &[],
            })
            .into_response())
        }
        QueryOutput::Records(records) => records,
    };
    let batch = batch_size(&headers);
    let base = format!("/services/data/v{v}/{resource}");
    if records.len() <= batch {
        return Ok(Json(QueryPage {
            total_size: records.len(),
            done: true,
            next_records_url: None,
            records: &records,
        })
        .into_response());
    }
    let lines = records
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN_EXCEPTION",
                format!("An unexpected error occurred: a record could not be serialized ({e})."),
            )
        })?;
    let id = state
        .cursors
        .open(&lines, base.clone(), &actor.user.id)
        .await?;
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    Ok(page(&lines, &base, &id, 0, batch))
}

/// The answer of a query: `byoc_proto::rest::QueryResult`'s shape, with the records serialized
/// straight from [`OutputRecord`] so their fields stay in select order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryPage<'a> {
    total_size: usize,
    done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_records_url: Option<String>,
    records: &'a [OutputRecord],
}

/// One batch of a cursor's records from `start`: the shape of [`QueryPage`], the records
/// copied as they were serialized when the query ran.
fn page(records: &[&str], base: &str, id: &str, start: usize, batch: usize) -> Response {
    let end = (start + batch).min(records.len());
    let next = (end < records.len()).then(|| format!("{base}/{id}-{end}"));
    let mut body = format!(
        "{{\"totalSize\":{},\"done\":{}",
        records.len(),
        end >= records.len()
    );
    if let Some(next) = next {
        body.push_str(",\"nextRecordsUrl\":");
        body.push_str(&serde_json::Value::String(next).to_string());
    }
    body.push_str(",\"records\":[");
    body.push_str(&records[start..end].join(","));
    body.push_str("]}");
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// `GET …/query/01g…-2000`: the next batch of an open cursor.
async fn next_query(
    RestCaller(actor): RestCaller,
    State(state): State<RestState>,
    Path((version, locator)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_version(&version)?;
    let (id, start) = locator.split_once('-').ok_or_else(invalid_locator)?;
    let start: usize = start.parse().map_err(|_| invalid_locator())?;
    let cursor = state
        .cursors
        .get(id, &actor.user.id)
        .await?
        .ok_or_else(invalid_locator)?;
    let records = cursor.records();
    if start >= records.len() {
        return Err(invalid_locator());
    }
    Ok(page(
        &records,
        &cursor.base,
        id,
        start,
        batch_size(&headers),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("sforce-query-options", v.parse().expect("header"));
        h
    }

    #[test]
    fn batch_sizes_are_clamped_as_salesforce_does() {
        assert_eq!(batch_size(&HeaderMap::new()), 2000);
        assert_eq!(batch_size(&headers("batchSize=500")), 500);
        assert_eq!(batch_size(&headers("batchsize=5")), 200);
        assert_eq!(batch_size(&headers("batchSize=90000")), 2000);
        assert_eq!(batch_size(&headers("batchSize=nope")), 2000);
    }
}
