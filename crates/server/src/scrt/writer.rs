//! Group commit: every write of the Interaction API goes through one task that takes whatever
//! is queued (up to [`MAX_BATCH`]), applies it in one transaction, and only then answers each
//! waiting request. Concurrent requests share one commit (one fsync on SQLite), so durable
//! interactions cost little more than their SQL. If a batch fails, its ops are retried one by
//! one, so one bad op cannot fail its neighbours.
//!
//! After a batch committed, the end users' new messages in it are announced as
//! [`CommittedMessage`]s on a broadcast channel ([`GroupCommit::committed_messages`]): the seam
//! through which other parts of the server (the echo agent) react to inbound messages without
//! the Interaction API knowing them.

use byoc_store::conversations::{WriteOp, WriteOutcome};
use byoc_store::{Store, StoreError};
use tokio::sync::{broadcast, mpsc, oneshot};

/// The most ops committed in one transaction.
pub const MAX_BATCH: usize = 256;
/// Requests waiting for the writer before new ones wait to enqueue.
const QUEUE: usize = 8192;
/// Committed messages a slow listener may fall behind by before it misses some (and is told how
/// many it missed).
const ANNOUNCED: usize = 16_384;

/// An end user's message, announced once the transaction that stored it committed. Retries
/// (an entry id already stored) and imported history are not announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedMessage {
    pub conversation_id: String,
    pub entry_id: String,
    /// The end user's client identifier.
    pub end_user: String,
    pub text: Option<String>,
    pub attachment_name: Option<String>,
}

/// The end users' new `Message` entries that `op` stored, given its outcome.
fn committed_messages(op: &WriteOp, outcome: &WriteOutcome) -> Vec<CommittedMessage> {
    let (
        WriteOp::Append { entries, .. },
        WriteOutcome::Appended {
            conversation,
            entries: stored,
            ..
        },
    ) = (op, outcome)
    else {
        return Vec::new();
    };
    entries
        .iter()
        .zip(stored)
        .filter(|(e, s)| {
            !s.duplicate
                && e.entry_type == "Message"
                && e.sender_role == "EndUser"
                && e.source != "conversationHistory"
        })
        .map(|(e, _)| CommittedMessage {
            conversation_id: conversation.id.clone(),
            entry_id: e.entry_id.clone(),
            end_user: conversation.client_id.clone(),
            text: e.text.clone(),
            attachment_name: e.attachment.as_ref().map(|a| a.name.clone()),
        })
        .collect()
}

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
    committed: broadcast::Sender<CommittedMessage>,
}

impl GroupCommit {
    pub fn spawn(store: Store) -> GroupCommit {
        let (queue, rx) = mpsc::channel(QUEUE);
        let (committed, _) = broadcast::channel(ANNOUNCED);
        tokio::spawn(run(store, rx, committed.clone()));
        GroupCommit { queue, committed }
    }

    /// The end users' messages from now on, each once its batch committed.
    pub fn committed_messages(&self) -> broadcast::Receiver<CommittedMessage> {
        self.committed.subscribe()
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

/// Announces committed messages, when anyone listens (the common case is nobody: then the
/// ops are not even looked at).
struct Announcer {
    committed: broadcast::Sender<CommittedMessage>,
    pending: Vec<CommittedMessage>,
}

impl Announcer {
    fn note(&mut self, op: &WriteOp, outcome: &WriteOutcome) {
        if self.committed.receiver_count() > 0 {
            self.pending.extend(committed_messages(op, outcome));
        }
    }

    /// After the waiting requests were answered.
    fn flush(&mut self) {
        for m in self.pending.drain(..) {
            // No receiver left: nobody to tell.
            let _ = self.committed.send(m);
        }
    }
}

async fn run(
    store: Store,
    mut rx: mpsc::Receiver<Job>,
    committed: broadcast::Sender<CommittedMessage>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut announcer = Announcer {
        committed,
        pending: Vec::new(),
    };
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (ops, replies): (Vec<WriteOp>, Vec<_>) =
            jobs.drain(..).map(|j| (j.op, j.reply)).unzip();
        match store.repo().write_batch(&ops).await {
            Ok(outcomes) => {
                for ((reply, outcome), op) in replies.into_iter().zip(outcomes).zip(&ops) {
                    announcer.note(op, &outcome);
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
                                announcer.note(&op, &outcome);
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
        announcer.flush();
    }
}
