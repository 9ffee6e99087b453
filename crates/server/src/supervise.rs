//! Supervised background tasks: a task that fails (returns an error) or panics is logged and
//! started again, with a growing pause between attempts (a database that is down must not make
//! a poller spin), until the server stops. A task that returns `Ok(())` is done (the server is
//! stopping, or what it served is gone) and is not restarted.
//!
//! Without this a panic in a poller would end it silently: the instance would go on serving
//! with caches that no longer learn about changes made elsewhere.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The first pause before a restart; doubled after each quick failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// A run that lasted this long was healthy: the next failure starts the backoff afresh.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// Aborts the task when dropped, so a supervisor that is itself aborted takes its child along.
struct Child(tokio::task::JoinHandle<anyhow::Result<()>>);

impl Drop for Child {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Run `make()` in `tasks` under supervision (see the module docs).
pub fn spawn<F, Fut>(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    name: &'static str,
    shutdown: CancellationToken,
    make: F,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tasks.spawn(async move {
        supervise(name, shutdown, make).await;
        Ok(())
    });
}

/// The supervisor loop; returns when the task is done or the server stops.
pub async fn supervise<F, Fut>(name: &'static str, shutdown: CancellationToken, mut make: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        let mut child = Child(tokio::spawn(make()));
        match (&mut child.0).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => {
                tracing::error!(task = name, error = %e, "a background task failed; restarting it")
            }
            Err(e) if e.is_panic() => {
                tracing::error!(task = name, "a background task panicked; restarting it")
            }
            Err(_) => return,
        }
        if started.elapsed() >= HEALTHY_RUN {
            backoff = FIRST_BACKOFF;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use super::*;

    /// A task that panics twice and fails once is started again each time, and the supervisor
    /// ends when it finally returns `Ok`.
    #[tokio::test]
    async fn a_failing_or_panicking_task_is_restarted_until_it_is_done() {
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        supervise("test", CancellationToken::new(), move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 | 1 => panic!("boom {n}"),
                    2 => anyhow::bail!("failed"),
                    _ => Ok(()),
                }
            }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    /// Once the server stops, a failing task is not started again.
    #[tokio::test]
    async fn no_restart_after_shutdown() {
        let runs = Arc::new(AtomicU32::new(0));
        let counter = runs.clone();
        let shutdown = CancellationToken::new();
        shutdown.cancel();
        supervise("test", shutdown, move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { anyhow::bail!("failed") }
        })
        .await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
