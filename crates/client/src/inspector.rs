//! The request inspector: the last calls to each host of the org with Salesforce's error code
//! and byoc's diagnosis (`GET /admin/v1/inspector/calls`, `docs/inspector.md`), as a list or
//! followed live.

use std::time::Duration;

use byoc_proto::admin::{InspectedCall, InspectorQuery};
use reqwest::Method;

use crate::{api_error, transport_error, AdminClient, ClientError};

/// The server writes a line at least every 15 s; silence four times that long is a dead link.
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// A line longer than this is no call of byoc's (a call is at most about 10 KiB).
const MAX_LINE_BYTES: usize = 1024 * 1024;

fn pairs(query: &InspectorQuery, follow: bool) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(h) = &query.host {
        out.push(("host", h.clone()));
    }
    if query.failed {
        out.push(("status", "failed".to_string()));
    }
    if let Some(q) = &query.q {
        out.push(("q", q.clone()));
    }
    if let Some(l) = query.limit {
        out.push(("limit", l.to_string()));
    }
    if follow {
        out.push(("follow", "true".to_string()));
    }
    out
}

impl AdminClient {
    /// `GET /admin/v1/inspector/calls`: the kept calls that match, newest first.
    pub async fn inspector_calls(
        &self,
        query: &InspectorQuery,
    ) -> Result<Vec<InspectedCall>, ClientError> {
        let pairs = pairs(query, false);
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.get(&["inspector", "calls"], &refs).await
    }

    /// `GET /admin/v1/inspector/calls?follow=true`: the last `limit` matching calls oldest
    /// first, then each new one as the server records it. Read with [`CallStream::next`].
    pub async fn follow_inspector_calls(
        &self,
        query: &InspectorQuery,
    ) -> Result<CallStream, ClientError> {
        let mut url = self.admin_url(&["inspector", "calls"]);
        url.query_pairs_mut()
            .extend_pairs(pairs(query, true).iter().map(|(k, v)| (*k, v.as_str())));
        // The stream outlives the client's per-request timeout; idleness is watched instead.
        let request = self
            .request(Method::GET, url)
            .timeout(Duration::from_secs(365 * 86_400));
        let response = self.execute(request).await?;
        let status = response.status();
        if !status.is_success() {
            return Err(api_error(status, response).await);
        }
        Ok(CallStream {
            response,
            buffer: Vec::new(),
            base_url: self.base_url.clone(),
        })
    }
}

/// Calls as the server streams them (NDJSON).
pub struct CallStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    base_url: url::Url,
}

impl CallStream {
    /// The next call; `None` when the server ended the stream (it stopped).
    pub async fn next(&mut self) -> Result<Option<InspectedCall>, ClientError> {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let line = &line[..line.len() - 1];
                if line.iter().all(u8::is_ascii_whitespace) {
                    // The server's keep-alive.
                    continue;
                }
                return serde_json::from_slice(line).map(Some).map_err(|e| {
                    ClientError::Decode(format!(
                        "the inspector stream sent a line that is not a call: {e}"
                    ))
                });
            }
            if self.buffer.len() > MAX_LINE_BYTES {
                return Err(ClientError::Decode(
                    "the inspector stream sent a line over 1 MiB".to_string(),
                ));
            }
            match tokio::time::timeout(IDLE_LIMIT, self.response.chunk()).await {
                Err(_) => {
                    return Err(ClientError::Transport(format!(
                        "the inspector stream from {} was silent for {} s",
                        self.base_url,
                        IDLE_LIMIT.as_secs()
                    )))
                }
                Ok(Err(e)) => return Err(transport_error(&self.base_url, &e)),
                Ok(Ok(None)) => return Ok(None),
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
            }
        }
    }
}
