//! Group commit: every conversation write (the Interaction API's, and the agent's side in
//! [`crate::pubsub::agent`]) goes through one task that takes whatever is queued (up to
//! [`MAX_BATCH`] jobs), applies it in one transaction, and only then answers each waiting
//! request. One writer also means SQLite never sees two write transactions race. Concurrent requests share one commit (one fsync on SQLite), so durable
//! interactions cost little more than their SQL. If a batch fails, its jobs are retried one by
//! one, so one bad job cannot fail its neighbours; the ops of one job always commit together.
//!
//! Unless the database is unavailable ([`StoreError::is_unavailable`]): then retrying job by
//! job would only make every job wait for a dead pool in turn, so the batch's jobs and every job
//! already queued fail at once (their requests answer "try again later"), and the next batch
//! tries the database afresh. A batch also has a deadline of its own ([`BATCH_DEADLINE`]): a
//! connection that stalls (the server never answers) can't hold the writer. A panic while
//! committing fails that batch's jobs and the writer goes on with the next one. Nothing is
//! answered as committed before its transaction committed.
//!
//! After a batch committed, the end users' new messages in it are announced as
//! [`CommittedMessage`]s on a broadcast channel ([`GroupCommit::committed_messages`]): the seam
//! through which other parts of the server (the echo agent) react to inbound messages without
//! the Interaction API knowing them. Every committed batch also bumps a counter
//! ([`GroupCommit::commits`]): the live feed's follower ([`crate::live`]) wakes on it and reads
//! the feed rows the batch wrote.

use std::time::Duration;

use byoc_store::conversations::{WriteOp, WriteOutcome};
use byoc_store::{Store, StoreError};
use futures::FutureExt;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// The longest one batch's transaction may take before its jobs fail as unavailable: longer
/// than PostgreSQL's `statement_timeout` (so a slow statement is normally cancelled by the
/// server first, and answered) but short enough that a stalled connection makes requests fail
/// within seconds. The commit may still land after this; its requests were not told it did,
/// and a retry with the same entry ids is recognised as one.
pub const BATCH_DEADLINE: Duration = Duration::from_secs(6);

/// The most ops committed in one transaction.
pub const MAX_BATCH: usize = 256;
/// The most attachment and payload bytes committed in one transaction (a job larger than this
/// commits alone): 256 jobs of 25 MB attachments would otherwise make one 6 GB transaction,
/// copied again into the driver's buffers.
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;
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
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>,
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
    /// How many batches committed (bumped after their requests were answered).
    commits: watch::Sender<u64>,
}

impl GroupCommit {
    pub fn spawn(store: Store) -> GroupCommit {
        let (queue, rx) = mpsc::channel(QUEUE);
        let (committed, _) = broadcast::channel(ANNOUNCED);
        let (commits, _) = watch::channel(0);
        tokio::spawn(run(store, rx, committed.clone(), commits.clone()));
        GroupCommit {
            queue,
            committed,
            commits,
        }
    }

    /// Changes after every committed batch (the live feed's local wake-up).
    pub fn commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// The end users' messages from now on, each once its batch committed.
    pub fn committed_messages(&self) -> broadcast::Receiver<CommittedMessage> {
        self.committed.subscribe()
    }

    /// Apply `op`; returns once it is committed.
    pub async fn submit(&self, op: WriteOp) -> Result<WriteOutcome, WriteError> {
        self.submit_all(vec![op])
            .await?
            .pop()
            .ok_or(WriteError::Stopped)
    }

    /// Apply `ops` in one transaction, in order; one outcome per op, once committed.
    pub async fn submit_all(&self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, WriteError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { ops, reply })
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

type Reply = oneshot::Sender<Result<Vec<WriteOutcome>, StoreError>>;

async fn run(
    store: Store,
    mut rx: mpsc::Receiver<Job>,
    committed: broadcast::Sender<CommittedMessage>,
    commits: watch::Sender<u64>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut announcer = Announcer {
        committed,
        pending: Vec::new(),
    };
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let mut batches =
            by_bytes(std::mem::take(&mut jobs), job_bytes, MAX_BATCH_BYTES).into_iter();
        while let Some(batch) = batches.next() {
            // A panic fails the batch's jobs (their reply senders are dropped: "the writer
            // stopped", a 503) and the writer goes on: one bad batch can't stop every write.
            let committed = std::panic::AssertUnwindSafe(commit(&store, batch, &mut announcer))
                .catch_unwind()
                .await;
            let reason = match committed {
                Ok(Some(reason)) => reason,
                Ok(None) => continue,
                Err(_) => {
                    tracing::error!("the group-commit writer panicked in a batch; its requests failed, the writer goes on");
                    continue;
                }
            };
            // The database is unavailable: fail what is already waiting at once rather than
            // making each batch wait for the dead pool in turn.
            let mut failed = 0usize;
            for job in batches.by_ref().flatten() {
                let _ = job.reply.send(Err(StoreError::Unavailable(reason.clone())));
                failed += 1;
            }
            while let Ok(job) = rx.try_recv() {
                let _ = job.reply.send(Err(StoreError::Unavailable(reason.clone())));
                failed += 1;
            }
            if failed > 0 {
                tracing::warn!(
                    jobs = failed,
                    "the database is unavailable; queued writes failed at once"
                );
            }
        }
        announcer.flush();
        commits.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// The bytes a job carries: attachment contents and entry payloads (everything else is small).
fn job_bytes(job: &Job) -> usize {
    job.ops
        .iter()
        .map(|op| match op {
            WriteOp::Append { entries, .. } => entries
                .iter()
                .map(|e| e.payload.len() + e.attachment.as_ref().map_or(0, |a| a.content.len()))
                .sum(),
            _ => 0,
        })
        .sum()
}

/// `items` in order, cut into runs whose weights add up to at most `max` (an item heavier than
/// `max` makes a run of its own).
fn by_bytes<T>(items: Vec<T>, weight: impl Fn(&T) -> usize, max: usize) -> Vec<Vec<T>> {
    let mut runs: Vec<Vec<T>> = Vec::new();
    let mut current: Vec<T> = Vec::new();
    let mut bytes = 0usize;
    for item in items {
        let w = weight(&item);
        if !current.is_empty() && bytes.saturating_add(w) > max {
            runs.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes = bytes.saturating_add(w);
        current.push(item);
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Commit one batch of jobs in one transaction and answer them. `Some(reason)` when the batch
/// failed because the database is unavailable (every job of it was answered so).
async fn commit(store: &Store, jobs: Vec<Job>, announcer: &mut Announcer) -> Option<String> {
    // All ops in one list (moved, not copied: attachments are large), and each job's
    // share of it.
    let mut ops: Vec<WriteOp> = Vec::with_capacity(jobs.len());
    let mut shares: Vec<(std::ops::Range<usize>, Reply)> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let start = ops.len();
        ops.extend(job.ops);
        shares.push((start..ops.len(), job.reply));
    }
    match write_batch(store, &ops).await {
        Ok(outcomes) => {
            let mut outcomes = outcomes.into_iter();
            for (range, reply) in shares {
                let mine: Vec<WriteOutcome> = outcomes.by_ref().take(range.len()).collect();
                answer(announcer, &ops[range], reply, Ok(mine));
            }
        }
        Err(e) if e.is_unavailable() => {
            tracing::warn!(error = %e, jobs = shares.len(), "a write batch failed: the database is unavailable; its jobs fail at once");
            let reason = e.to_string();
            for (_, reply) in shares {
                let _ = reply.send(Err(StoreError::Unavailable(reason.clone())));
            }
            return Some(reason);
        }
        Err(e) if shares.len() == 1 => {
            if let Some((_, reply)) = shares.pop() {
                let _ = reply.send(Err(e));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = shares.len(), "a write batch failed; retrying its jobs one by one");
            let mut shares = shares.into_iter();
            for (range, reply) in shares.by_ref() {
                let result = write_batch(store, &ops[range.clone()]).await;
                if let Err(e) = &result {
                    if e.is_unavailable() {
                        // The database went away during the retries: the rest fail at once.
                        let reason = e.to_string();
                        let _ = reply.send(result);
                        for (_, reply) in shares {
                            let _ = reply.send(Err(StoreError::Unavailable(reason.clone())));
                        }
                        return Some(reason);
                    }
                }
                answer(announcer, &ops[range], reply, result);
            }
        }
    }
    None
}

/// One transaction, within [`BATCH_DEADLINE`].
async fn write_batch(store: &Store, ops: &[WriteOp]) -> Result<Vec<WriteOutcome>, StoreError> {
    match tokio::time::timeout(BATCH_DEADLINE, store.repo().write_batch(ops)).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::TimedOut("a group-commit batch")),
    }
}

/// Answer a job whose ops committed (or failed), noting its end users' messages.
fn answer(
    announcer: &mut Announcer,
    ops: &[WriteOp],
    reply: Reply,
    result: Result<Vec<WriteOutcome>, StoreError>,
) {
    if let Ok(outcomes) = &result {
        for (op, outcome) in ops.iter().zip(outcomes) {
            announcer.note(op, outcome);
        }
    }
    let _ = reply.send(result);
}

#[cfg(test)]
mod tests {
    use super::by_bytes;

    #[test]
    fn batches_are_cut_by_bytes_in_order() {
        let mb = 1024 * 1024;
        let sizes = vec![25 * mb, 25 * mb, 25 * mb, 1, 2, 100 * mb, 3];
        let runs = by_bytes(sizes, |s| *s, 64 * mb);
        assert_eq!(
            runs,
            vec![
                vec![25 * mb, 25 * mb],
                vec![25 * mb, 1, 2],
                vec![100 * mb],
                vec![3],
            ]
        );
        assert!(by_bytes(Vec::<usize>::new(), |s| *s, 1).is_empty());
        assert_eq!(by_bytes(vec![0; 300], |s| *s, 1), vec![vec![0; 300]]);
    }
}
