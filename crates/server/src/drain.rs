//! The HTTP hosts' side of a clean stop's deadline (`--drain-timeout`, docs/scale-out.md).
//!
//! While the drain runs, axum's graceful shutdown lets in-flight requests finish. When the
//! deadline passes, the connections axum handed to tasks of their own can't be aborted from
//! outside, so every request passes through a [`Gate`]: once closed, a request still running is
//! dropped at its next await and answered `503` with `Connection: close`, and none starts. The
//! stop then waits until no request is inside ([`Gate::wait_empty`]) before the buffers write
//! what they hold: a login attempt whose answer went out was queued before that, so it is
//! written; one cut off gets no answer but a 503.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Shared by every HTTP host of one server.
#[derive(Clone, Default)]
pub struct Gate {
    closed: CancellationToken,
    inside: Arc<Inside>,
}

#[derive(Default)]
struct Inside {
    count: AtomicUsize,
    left: Notify,
}

/// One request inside the gate; leaving (answered or dropped) counts it out.
struct Pass(Arc<Inside>);

impl Drop for Pass {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.left.notify_waiters();
        }
    }
}

impl Gate {
    /// The drain deadline passed: answer nothing more.
    pub fn close(&self) {
        self.closed.cancel();
    }

    /// Requests running inside the gate now.
    pub fn inside(&self) -> usize {
        self.inside.count.load(Ordering::Acquire)
    }

    /// Until no request is inside (after [`Gate::close`], each leaves at its next await).
    pub async fn wait_empty(&self) {
        loop {
            let left = self.inside.left.notified();
            tokio::pin!(left);
            left.as_mut().enable();
            if self.inside() == 0 {
                return;
            }
            left.await;
        }
    }
}

/// The middleware (outermost on every HTTP host).
pub async fn gate(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    gate.inside.count.fetch_add(1, Ordering::AcqRel);
    let _pass = Pass(gate.inside.clone());
    tokio::select! {
        // Checked first: a request that finished as the gate closed is not answered either.
        biased;
        _ = gate.closed.cancelled() => shutting_down(),
        response = next.run(request) => response,
    }
}

fn shutting_down() -> Response {
    let mut response = (
        StatusCode::SERVICE_UNAVAILABLE,
        "The server is shutting down.\n",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}
