//! Group commit: every write of the Interaction API goes through one task that takes whatever
//! is queued (up to [`MAX_BATCH`]), applies it in one transaction, and only then answers each
//! waiting request. Concurrent requests share one commit (one fsync on SQLite), so durable
//! interactions cost little more than their SQL. If a batch fails, its ops are retried one by
//! one, so one bad op cannot fail its neighbours.

use byoc_store::conversations::{WriteOp, WriteOutcome};
use byoc_store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The most ops committed in one transaction.
pub const MAX_BATCH: usize = 256;
/// Requests waiting for the writer before new ones wait to enqueue.
const QUEUE: usize = 8192;

struct Job {
    op: WriteOp,
    reply: oneshot::Sender<Result<WriteOutcome, StoreError>>,
}

/// Why a write has no answer.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The writer stopped (the server is shutting down).
    #[error("the writer stopped")]
    Stopped,
}

#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Job>,
}

impl GroupCommit {
    pub fn spawn(store: Store) -> GroupCommit {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx));
        GroupCommit { queue }
    }

    /// Apply `op`; returns once it is committed.
    pub async fn submit(&self, op: WriteOp) -> Result<WriteOutcome, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { op, reply })
            .await
            .map_err(|_| WriteError::Stopped)?;
        match answer.await {
            Ok(result) => Ok(result?),
            Err(_) => Err(WriteError::Stopped),
        }
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (ops, replies): (Vec<WriteOp>, Vec<_>) =
            jobs.drain(..).map(|j| (j.op, j.reply)).unzip();
        match store.repo().write_batch(&ops).await {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) if ops.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, ops = ops.len(), "a write batch failed; retrying its ops one by one");
                for (op, reply) in ops.into_iter().zip(replies) {
                    match store.repo().write_batch(std::slice::from_ref(&op)).await {
                        Ok(mut outcomes) => {
                            // One op, one outcome; without one the waiter hears "stopped".
                            if let Some(outcome) = outcomes.pop() {
                                let _ = reply.send(Ok(outcome));
                            }
                        }
                        Err(e) => {
                            let _ = reply.send(Err(e));
                        }
                    }
                }
            }
        }
    }
}
