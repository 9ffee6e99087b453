//! Early refusals that keep the client's connection usable.
//!
//! When a handler answers (a 404, a 401, a 413) without reading the whole request body, hyper
//! reads what is already buffered and, if the body is not over, closes the connection after the
//! response — without saying so. A keep-alive client (Node's `http` agent, which jsforce and the
//! Salesforce samples use) that sent a chunked body slowly then writes its *next* request into a
//! closed socket and fails with `EPIPE` / `socket hang up`.
//!
//! [`finish_request_body`] wraps every HTTP/1 request body so it knows whether the handler read
//! it to the end. If not, before the response goes out it reads and discards the rest, up to
//! [`DRAIN_MAX_BYTES`] within [`DRAIN_MAX_TIME`] (the connection then stays open, as it would
//! after any answer); a body that is larger, slower or broken gets the response with
//! `Connection: close`, so hyper closes cleanly after it and the client knows not to reuse the
//! socket. Go's `net/http` does the same (it discards up to 256 KiB). HTTP/2 (and the gRPC
//! Pub/Sub host) needs none of this: a refused stream is reset on its own, the connection lives on.
//!
//! Handlers that stream the body (multipart uploads) read through the wrapper, which only notes
//! when the end was reached; nothing is buffered.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Version};
use axum::middleware::Next;
use axum::response::Response;

/// The most of an unread body discarded to keep the connection open.
pub const DRAIN_MAX_BYTES: u64 = 64 * 1024;
/// The longest the response waits for the rest of an unread body.
pub const DRAIN_MAX_TIME: Duration = Duration::from_secs(2);

/// The request body, shared between the handler's view of it and this middleware.
struct Shared {
    body: Mutex<Option<Body>>,
    ended: AtomicBool,
    polled: AtomicBool,
}

impl Shared {
    fn poll_frame(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        self.polled.store(true, Ordering::Relaxed);
        let Ok(mut slot) = self.body.lock() else {
            return Poll::Ready(None);
        };
        let Some(body) = slot.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(&mut *body).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.ended.store(true, Ordering::Relaxed),
            Poll::Ready(Some(Ok(_))) if body.is_end_stream() => {
                self.ended.store(true, Ordering::Relaxed)
            }
            _ => {}
        }
        polled
    }
}

/// What the handler sees: the same body, read through [`Shared`].
struct Tracked {
    shared: Arc<Shared>,
    size_hint: http_body::SizeHint,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        self.shared.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.shared.ended.load(Ordering::Relaxed)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.size_hint
    }
}

/// The middleware (`axum::middleware::from_fn`); [`crate::serve_http`] puts it outside every
/// router, so it also covers the fallback and other layers' refusals (body limits).
pub async fn finish_request_body(request: Request, next: Next) -> Response {
    if request.version() >= Version::HTTP_2 || request.body().is_end_stream() {
        return next.run(request).await;
    }
    let expects_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (parts, body) = request.into_parts();
    let size_hint = body.size_hint();
    let shared = Arc::new(Shared {
        body: Mutex::new(Some(body)),
        ended: AtomicBool::new(false),
        polled: AtomicBool::new(false),
    });
    let tracked = Body::new(Tracked {
        shared: shared.clone(),
        size_hint,
    });
    let mut response = next.run(Request::from_parts(parts, tracked)).await;
    if shared.ended.load(Ordering::Relaxed) {
        return response;
    }
    // The handler is done with the body; whatever still holds its view reads nothing more.
    let Some(rest) = shared.body.lock().ok().and_then(|mut slot| slot.take()) else {
        return response;
    };
    // A client waiting for `100 Continue` before it sends the body gets the final answer
    // instead; it must not send the body on this connection, so the connection ends.
    let held_back = expects_continue && !shared.polled.load(Ordering::Relaxed);
    let drained = if held_back || size_hint.lower() > DRAIN_MAX_BYTES {
        false
    } else {
        matches!(
            tokio::time::timeout(DRAIN_MAX_TIME, drain(rest, DRAIN_MAX_BYTES)).await,
            Ok(true)
        )
    };
    if !drained {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Read and discard `body` to its end; `false` if it holds more than `max` bytes or fails.
async fn drain(mut body: Body, max: u64) -> bool {
    let mut seen: u64 = 0;
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            None => return true,
            Some(Err(_)) => return false,
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    seen = seen.saturating_add(data.len() as u64);
                    if seen > max {
                        return false;
                    }
                }
                if body.is_end_stream() {
                    return true;
                }
            }
        }
    }
}
