//! The org clock (`byoc clock`, docs/org-as-code.md "The org clock"): real time plus an offset
//! kept in the database (`org_clock`, migration 0014), so every instance on it reads the same
//! time; moved only when the server was started with `--allow-clock-control`.
//!
//! - [`OrgClock`]: the [`Clock`] `start` hands to everything org-visible (token and assertion
//!   expiry, certificate validity in strict mode, event retention, login history, audit trail,
//!   conversation entries, event `CreatedDate`, query cursors). The offset lives in an atomic:
//!   reading the time costs no lock and no query.
//! - [`follow`]: a supervised task keeping the offset current: it reloads on a
//!   [`Channel::Clock`] notice (PostgreSQL's `byoc_clock` trigger; on SQLite the instance
//!   announces its own move), on [`Notice::Resync`] and by a safety poll ([`SAFETY_POLL`]).
//! - [`on_moves`]: what an instance does when the clock moved: rewrite `org.json` (its `clock`
//!   object) and purge platform events that are past retention by the new time.
//! - `GET /admin/v1/clock`, `POST /admin/v1/clock` (`advance` / `set` / `real`): see
//!   [`admin_routes`]. Moving needs `--allow-clock-control` (else 403
//!   `FUNCTIONALITY_NOT_ENABLED`) and *Modify All Data* (System Administrator).
//!
//! What stays on real time: TLS certificates of the local CA (clients check them against their
//! own clocks) and everything that is plumbing rather than org data (timeouts, backoffs).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Extension, Json, Router};
use byoc_core::duration::{format_offset, parse_duration};
use byoc_core::Clock;
use byoc_proto::admin::{MoveOrgClock, OrgClockState};
use byoc_proto::files::{OrgFile, OrgFileClock};
use byoc_proto::setup::{AuditEntry, FieldChange, UserPermission};
use byoc_store::clock::StoredClock;
use byoc_store::notify::{Channel, Notice};
use byoc_store::{ChangeSet, Store, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::admin_api::{Acting, AdminState, ApiError, Body, SetupViewer};
use crate::datadir::{self, DataDir};
use crate::setup_service::ServiceError;

/// How often an instance re-reads the offset even when no notice came (a notice lost with a
/// dropped `LISTEN` connection is followed by a resync; this covers anything else).
pub const SAFETY_POLL: Duration = Duration::from_secs(5);

/// The earliest and latest time the org clock may show (Unix epoch to the end of year 9999):
/// every time byoc writes down stays a valid RFC 3339 time.
pub const MIN_TIME_MILLIS: i64 = 0;
pub const MAX_TIME_MILLIS: i64 = 253_402_300_799_999;

/// The audit trail's section for clock moves.
const AUDIT_SECTION: &str = "Org Clock";

/// Real time plus the org's offset (see the module docs).
pub struct OrgClock {
    real: Arc<dyn Clock>,
    offset: AtomicI64,
    moved_at: AtomicI64,
    moves: watch::Sender<StoredClock>,
}

impl std::fmt::Debug for OrgClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgClock")
            .field("offset_millis", &self.offset_millis())
            .finish()
    }
}

impl OrgClock {
    /// A clock on `real` time with the stored offset.
    pub fn new(real: Arc<dyn Clock>, stored: StoredClock) -> OrgClock {
        OrgClock {
            real,
            offset: AtomicI64::new(stored.offset_millis),
            moved_at: AtomicI64::new(stored.moved_at),
            moves: watch::channel(stored).0,
        }
    }

    /// The clock with the offset stored in the database now.
    pub async fn load(store: &Store, real: Arc<dyn Clock>) -> Result<OrgClock, StoreError> {
        Ok(OrgClock::new(real, store.repo().org_clock().await?))
    }

    /// Take `stored` as the current offset; tells [`OrgClock::subscribe`]rs when it changed.
    pub fn apply(&self, stored: StoredClock) {
        self.offset.store(stored.offset_millis, Ordering::Release);
        self.moved_at.store(stored.moved_at, Ordering::Release);
        self.moves.send_if_modified(|current| {
            let changed = current.offset_millis != stored.offset_millis;
            *current = stored;
            changed
        });
    }

    /// Re-read the offset from the database.
    pub async fn reload(&self, store: &Store) -> Result<(), StoreError> {
        self.apply(store.repo().org_clock().await?);
        Ok(())
    }

    /// Changes of the offset seen by this instance.
    pub fn subscribe(&self) -> watch::Receiver<StoredClock> {
        self.moves.subscribe()
    }

    /// Real time (the machine's clock), for what must not move with the org.
    pub fn real_now(&self) -> i64 {
        self.real.now_millis()
    }

    /// Whether the org runs on real time.
    pub fn is_real(&self) -> bool {
        self.offset_millis() == 0
    }

    /// What `GET /admin/v1/clock` answers.
    pub fn state(&self) -> OrgClockState {
        let offset = self.offset_millis();
        OrgClockState {
            now: rfc3339(self.now_millis()),
            offset_millis: offset,
            real: offset == 0,
            moved_at: self.moved_at_millis().map(rfc3339),
        }
    }

    /// `org.json`'s `clock` object: `None` on real time.
    pub fn org_file_clock(&self) -> Option<OrgFileClock> {
        let offset = self.offset_millis();
        (offset != 0).then(|| OrgFileClock {
            offset_millis: offset,
            now: rfc3339(self.now_millis()),
        })
    }

    /// The console header's line, `Org clock: 2027-01-01 00:00:00 UTC (+3h)`; `None` on real
    /// time.
    pub fn header_note(clock: &dyn Clock) -> Option<String> {
        let offset = clock.offset_millis();
        (offset != 0).then(|| {
            format!(
                "Org clock: {} ({})",
                human(clock.now_millis()),
                format_offset(offset)
            )
        })
    }

    /// What a refused token request's diagnosis adds when the org clock is moved: that it is,
    /// since when, and (when it is so) that the app's certificate has expired by the org's time.
    /// `None` on real time.
    pub fn refusal_note(clock: &dyn Clock, certificate_not_after: Option<i64>) -> Option<String> {
        let offset = clock.offset_millis();
        if offset == 0 {
            return None;
        }
        let now = clock.now_millis();
        let mut note = format!(
            "The org clock was moved{} to {} ({} from real time): expiry is judged by the org's time, while a partner signs with real time. Back to real time: (byoc clock real).",
            clock
                .moved_at_millis()
                .map(|at| format!(" at {} real time", human(at)))
                .unwrap_or_default(),
            human(now),
            format_offset(offset),
        );
        if let Some(not_after) = certificate_not_after.filter(|t| *t < now) {
            note.push_str(&format!(
                " The app's certificate expired at {} by the org clock: Salesforce still accepts an expired certificate for JWT Bearer, byoc serve --strict refuses it; make a new one with byoc cert new --out DIR and upload it.",
                human(not_after)
            ));
        }
        Some(note)
    }
}

impl Clock for OrgClock {
    fn now_millis(&self) -> i64 {
        self.real
            .now_millis()
            .saturating_add(self.offset.load(Ordering::Acquire))
    }

    fn offset_millis(&self) -> i64 {
        self.offset.load(Ordering::Acquire)
    }

    fn moved_at_millis(&self) -> Option<i64> {
        (self.offset_millis() != 0).then(|| self.moved_at.load(Ordering::Acquire))
    }
}

/// RFC 3339 with milliseconds, UTC (`2027-01-01T00:00:00.000Z`).
pub fn rfc3339(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// For people: `2027-01-01 00:00:00 UTC`.
fn human(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

/// Keep `clock` current until `shutdown` (run under [`crate::supervise`]).
pub async fn follow(
    clock: Arc<OrgClock>,
    store: Store,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Subscribe before the first read, so a move committed in between is not missed.
    let mut notices = store.notices();
    let mut poll = tokio::time::interval(SAFETY_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            notice = notices.recv() => match notice {
                Ok(Notice::Changed { channel: Channel::Clock, .. })
                | Ok(Notice::Resync)
                | Err(RecvError::Lagged(_)) => {}
                Ok(Notice::Changed { .. }) => continue,
                // The store is gone: the server is stopping.
                Err(RecvError::Closed) => return Ok(()),
            },
            // The first tick is at once: the read that catches up after (re)starting.
            _ = poll.tick() => {}
        }
        if let Err(e) = clock.reload(&store).await {
            // The next notice or poll tries again; the offset held meanwhile is the last known.
            tracing::warn!(error = %e, "reading the org clock failed");
        }
    }
}

/// When the clock moves: rewrite `org.json` with its `clock` object, and purge platform events
/// past `retention` by the new time (the hourly purge would otherwise wait up to an hour).
pub async fn on_moves(
    clock: Arc<OrgClock>,
    store: Store,
    data: DataDir,
    org_file: OrgFile,
    retention: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut moves = clock.subscribe();
    let retention_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            changed = moves.changed() => if changed.is_err() { return Ok(()) },
        }
        moves.borrow_and_update();
        let file = OrgFile {
            clock: clock.org_file_clock(),
            ..org_file.clone()
        };
        data.write(
            datadir::ORG_FILE,
            &serde_json::to_string_pretty(&file)?,
            true,
        )?;
        tracing::info!(offset = %format_offset(clock.offset_millis()), now = %rfc3339(clock.now_millis()), "the org clock moved");
        match store
            .repo()
            .purge_events(clock.now_millis().saturating_sub(retention_ms))
            .await
        {
            Ok(0) => {}
            Ok(purged) => {
                tracing::info!(purged, "purged platform events past the retention period")
            }
            Err(e) => tracing::warn!(error = %e, "purging platform events failed"),
        }
    }
}

/// What the admin routes need beyond [`AdminState`]: the clock and whether it may move. A
/// request extension, layered on the login host by `start`.
#[derive(Clone)]
pub struct ClockControl {
    pub clock: Arc<OrgClock>,
    /// `serve --allow-clock-control`.
    pub allowed: bool,
}

/// The admin API routes of this module (merged into [`crate::admin_api::router`]).
pub fn admin_routes() -> Router<AdminState> {
    Router::new().route("/admin/v1/clock", get(show).post(move_clock))
}

/// The refusal of a server without `--allow-clock-control`, or without an org clock at all.
fn not_enabled() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "FUNCTIONALITY_NOT_ENABLED",
        "Moving the org clock is not enabled on this server: start byoc serve with --allow-clock-control (every instance sharing the database reads the same clock).",
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_FIELD", message)
}

/// `GET /admin/v1/clock`: anyone who may view Setup.
async fn show(
    SetupViewer(_): SetupViewer,
    control: Option<Extension<ClockControl>>,
) -> Result<Json<OrgClockState>, ApiError> {
    let Some(Extension(control)) = control else {
        return Err(not_enabled());
    };
    Ok(Json(control.clock.state()))
}

/// `POST /admin/v1/clock`: *Modify All Data* (System Administrator), on a server started with
/// `--allow-clock-control`.
async fn move_clock(
    State(state): State<AdminState>,
    Acting(actor): Acting,
    control: Option<Extension<ClockControl>>,
    Body(change): Body<MoveOrgClock>,
) -> Result<Json<OrgClockState>, ApiError> {
    if !actor.user.is_active || !actor.permissions.contains(&UserPermission::ModifyAllData) {
        return Err(
            ServiceError::Setup(byoc_core::SetupError::InsufficientAccess(format!(
                "User {} can't move the org clock: missing the user permission Modify All Data.",
                actor.user.username
            )))
            .into(),
        );
    }
    let control = match control {
        Some(Extension(control)) if control.allowed => control,
        _ => return Err(not_enabled()),
    };
    let clock = &control.clock;
    let store = state.setup.store();
    let before = clock.state();
    let real_now = clock.real_now();
    // The offsets that keep the org's time within [MIN_TIME_MILLIS, MAX_TIME_MILLIS] now.
    let (min_offset, max_offset) = (MIN_TIME_MILLIS - real_now, MAX_TIME_MILLIS - real_now);
    let (stored, what) = match (&change.advance, &change.set, change.real) {
        (Some(duration), None, None) => {
            let delta = parse_duration(duration).map_err(|e| invalid(format!("advance: {e}")))?;
            let stored = store
                .repo()
                .advance_org_clock(delta, min_offset, max_offset, real_now)
                .await
                .map_err(|e| ApiError::from(ServiceError::Store(e)))?
                .ok_or_else(|| {
                    invalid(format!(
                        "advance: moving the org clock by {} would take it outside the years 1970 to 9999",
                        format_offset(delta)
                    ))
                })?;
            (stored, format!("Advanced the org clock by {}", format_offset(delta)))
        }
        (None, Some(time), None) => {
            let target = DateTime::parse_from_rfc3339(time.trim())
                .map_err(|e| {
                    let shown: String = time.chars().filter(|c| !c.is_control()).take(60).collect();
                    invalid(format!("set: {shown:?} is not an RFC 3339 time ({e}); write it like 2027-01-01T00:00:00Z"))
                })?
                .timestamp_millis();
            if !(MIN_TIME_MILLIS..=MAX_TIME_MILLIS).contains(&target) {
                return Err(invalid("set: the org clock can show times from 1970 to 9999 only"));
            }
            let stored = store
                .repo()
                .set_org_clock(target - real_now, real_now)
                .await
                .map_err(|e| ApiError::from(ServiceError::Store(e)))?;
            (stored, format!("Set the org clock to {}", rfc3339(target)))
        }
        (None, None, Some(true)) => {
            let stored = store
                .repo()
                .set_org_clock(0, real_now)
                .await
                .map_err(|e| ApiError::from(ServiceError::Store(e)))?;
            (stored, "Returned the org clock to real time".to_string())
        }
        (None, None, Some(false)) => {
            return Err(invalid(
                "real: only true is accepted (to leave real time, advance or set the clock)",
            ))
        }
        _ => {
            return Err(invalid(
                "give exactly one of advance (a duration such as 3h), set (an RFC 3339 time) or real (true)",
            ))
        }
    };
    // This instance at once; the others on the notice (PostgreSQL's trigger) or, on SQLite,
    // this process's own announcement.
    clock.apply(stored);
    store.announce(Channel::Clock, &stored.offset_millis.to_string());
    let after = clock.state();
    let audit = AuditEntry {
        created_date: clock.now_millis(),
        created_by: actor.user.username.clone(),
        section: AUDIT_SECTION.into(),
        action: what,
        changes: vec![FieldChange {
            field: "Org Time".into(),
            old_value: Some(format!(
                "{} ({})",
                before.now,
                format_offset(before.offset_millis)
            )),
            new_value: Some(format!(
                "{} ({})",
                after.now,
                format_offset(after.offset_millis)
            )),
        }],
    };
    if let Err(e) = store.apply(ChangeSet::new().audit([audit])).await {
        // The clock moved; only its audit row is missing. Say so in the log, not to the caller.
        tracing::warn!(error = %e, "the org clock moved but its audit trail entry was not written");
    }
    Ok(Json(after))
}

#[cfg(test)]
mod tests {
    use byoc_core::FixedClock;

    use super::*;

    #[test]
    fn the_org_clock_is_real_time_plus_the_offset() {
        let clock = OrgClock::new(Arc::new(FixedClock(1_000_000)), StoredClock::REAL);
        assert_eq!(clock.now_millis(), 1_000_000);
        assert!(clock.is_real() && clock.org_file_clock().is_none());
        assert_eq!(OrgClock::header_note(&clock), None);
        assert_eq!(OrgClock::refusal_note(&clock, Some(0)), None);
        let mut moves = clock.subscribe();
        clock.apply(StoredClock {
            offset_millis: 3 * 3_600_000,
            moved_at: 1_000_000,
        });
        assert!(moves.has_changed().unwrap());
        assert_eq!(clock.now_millis(), 1_000_000 + 3 * 3_600_000);
        assert_eq!(clock.state().now, "1970-01-01T03:16:40.000Z");
        assert_eq!(clock.state().offset_millis, 10_800_000);
        assert_eq!(
            OrgClock::header_note(&clock).unwrap(),
            "Org clock: 1970-01-01 03:16:40 UTC (+3h)"
        );
        let note = OrgClock::refusal_note(&clock, Some(2_000_000)).unwrap();
        assert!(note.contains("moved at 1970-01-01 00:16:40 UTC"), "{note}");
        assert!(
            note.contains("certificate expired at 1970-01-01 00:33:20 UTC"),
            "{note}"
        );
        let note = OrgClock::refusal_note(&clock, Some(i64::MAX)).unwrap();
        assert!(!note.contains("certificate"), "{note}");
        // The same offset again is no move.
        moves.borrow_and_update();
        clock.apply(StoredClock {
            offset_millis: 3 * 3_600_000,
            moved_at: 5,
        });
        assert!(!moves.has_changed().unwrap());
    }
}
