//! `GET /services/data/vXX.X/query?q=`, `/queryAll`, `/tooling/query`, and `nextRecordsUrl`
//! paging (`/query/01g…-2000`).
//!
//! A query is parsed and checked against the caller's catalog ([`super::objects::catalog`]),
//! the rows of the objects it names are loaded (one store call per object), and the answer is
//! cut into batches of 2000 records (`Sforce-Query-Options: batchSize=N`, 200–2000). The rest
//! of the records wait in a [`Cursors`] entry, in memory on this instance, named by the
//! `nextRecordsUrl`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use byoc_soql::{OutputRecord, QueryOutput, Schema, SoqlError};
use serde::Serialize;

use super::objects::{self, Api};
use super::{check_version, only, RestCaller, RestState};
use crate::admin_api::ApiError;

/// Records per batch unless the caller asks for fewer.
pub const DEFAULT_BATCH: usize = 2000;
/// The smallest batch Salesforce honours.
pub const MIN_BATCH: usize = 200;
/// How many cursors one instance keeps; the oldest goes first.
pub const MAX_CURSORS: usize = 200;
/// How long an unused cursor lives (Salesforce: 15 minutes of inactivity).
pub const CURSOR_TTL: Duration = Duration::from_secs(15 * 60);

struct Cursor {
    records: Arc<Vec<OutputRecord>>,
    /// The version and API the cursor was opened under (its URLs stay under them).
    base: String,
    /// The user who ran the query: only they may read on (as in Salesforce, a locator is
    /// bound to its session's user).
    owner: String,
    used: Instant,
}

/// Open query cursors (`/services/data/vXX.X/query/01g…-2000`), in memory, bounded in number
/// ([`MAX_CURSORS`]) and lifetime ([`CURSOR_TTL`]).
#[derive(Clone, Default)]
pub struct Cursors {
    inner: Arc<Mutex<HashMap<String, Cursor>>>,
}

impl Cursors {
    fn open(&self, records: Arc<Vec<OutputRecord>>, base: String, owner: &str) -> String {
        let entropy: [u8; 12] = rand::random();
        let id = super::objects::id18(&byoc_core::ids::new_id("01g", &entropy));
        let now = Instant::now();
        if let Ok(mut map) = self.inner.lock() {
            map.retain(|_, c| now.duration_since(c.used) < CURSOR_TTL);
            while map.len() >= MAX_CURSORS {
                let oldest = map
                    .iter()
                    .min_by_key(|(_, c)| c.used)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => map.remove(&k),
                    None => break,
                };
            }
            map.insert(
                id.clone(),
                Cursor {
                    records,
                    base,
                    owner: owner.to_string(),
                    used: now,
                },
            );
        }
        id
    }

    fn get(&self, id: &str, owner: &str) -> Option<(Arc<Vec<OutputRecord>>, String)> {
        let mut map = self.inner.lock().ok()?;
        let now = Instant::now();
        let cursor = map.get_mut(id)?;
        if cursor.owner != owner {
            return None;
        }
        if now.duration_since(cursor.used) >= CURSOR_TTL {
            map.remove(id);
            return None;
        }
        cursor.used = now;
        Some((cursor.records.clone(), cursor.base.clone()))
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
    let records = Arc::new(records);
    let id = state
        .cursors
        .open(records.clone(), base.clone(), &actor.user.id);
    Ok(Json(page(&records, &base, &id, 0, batch)).into_response())
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

/// One batch of a cursor's records from `start`.
fn page<'a>(
    records: &'a [OutputRecord],
    base: &str,
    id: &str,
    start: usize,
    batch: usize,
) -> QueryPage<'a> {
    let end = (start + batch).min(records.len());
    QueryPage {
        total_size: records.len(),
        done: end >= records.len(),
        next_records_url: (end < records.len()).then(|| format!("{base}/{id}-{end}")),
        records: &records[start..end],
    }
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
    let (records, base) = state
        .cursors
        .get(id, &actor.user.id)
        .ok_or_else(invalid_locator)?;
    if start >= records.len() {
        return Err(invalid_locator());
    }
    Ok(Json(page(&records, &base, id, start, batch_size(&headers))).into_response())
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

    #[test]
    fn a_cursor_is_its_owners_only_and_bounded() {
        let cursors = Cursors::default();
        let id = cursors.open(Arc::new(vec![]), "/b".into(), "005A");
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("01g"));
        assert!(cursors.get(&id, "005A").is_some());
        assert!(cursors.get(&id, "005B").is_none());
        for _ in 0..MAX_CURSORS + 5 {
            cursors.open(Arc::new(vec![]), "/b".into(), "005A");
        }
        assert_eq!(cursors.inner.lock().expect("lock").len(), MAX_CURSORS);
        assert!(cursors.get(&id, "005A").is_none(), "the oldest went first");
    }
}
