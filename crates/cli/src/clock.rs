//! `byoc clock show|advance|set|real`: the org clock every instance reads (docs/org-as-code.md),
//! through the admin API (`GET/POST /admin/v1/clock`); moving it needs
//! `serve --allow-clock-control` and *Modify All Data*.
//!
//! Durations and times are checked here first, so a typo is answered without a server and
//! with what is accepted.

use byoc_core::duration::{format_offset, parse_duration};
use byoc_proto::admin::{MoveOrgClock, OrgClockState};
use clap::Subcommand;

use crate::context::Context;
use crate::output::{fields, CliError, Output};

#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Print the org's time and how far it is from real time
    Show,
    /// Move the clock forward by a duration: 90s, 15m, 3h, 2d, 1h30m (-1h moves it back)
    Advance {
        #[arg(value_name = "DURATION", allow_hyphen_values = true)]
        duration: String,
    },
    /// Set the clock to a time (RFC 3339, e.g. 2027-01-01T00:00:00Z); it runs on from there
    Set {
        #[arg(value_name = "TIME")]
        time: String,
    },
    /// Back to real time
    Real,
}

pub async fn execute(ctx: &Context, command: ClockCommand) -> Result<Output, CliError> {
    let change = match command {
        ClockCommand::Show => {
            let state = ctx.admin_client()?.org_clock().await?;
            return Output::new(&state, clock_text(&state));
        }
        ClockCommand::Advance { duration } => {
            parse_duration(&duration).map_err(CliError::usage)?;
            MoveOrgClock {
                advance: Some(duration),
                ..MoveOrgClock::default()
            }
        }
        ClockCommand::Set { time } => {
            chrono::DateTime::parse_from_rfc3339(time.trim()).map_err(|e| {
                CliError::usage(format!(
                    "{time:?} is not an RFC 3339 time ({e}); write it like 2027-01-01T00:00:00Z"
                ))
            })?;
            MoveOrgClock {
                set: Some(time),
                ..MoveOrgClock::default()
            }
        }
        ClockCommand::Real => MoveOrgClock {
            real: Some(true),
            ..MoveOrgClock::default()
        },
    };
    let state = ctx
        .admin_client()?
        .move_org_clock(&change)
        .await
        .map_err(|e| {
            let e = CliError::from(e);
            if e.has_error_code("FUNCTIONALITY_NOT_ENABLED") {
                e.with_hint("restart byoc serve with --allow-clock-control (every instance on the database, for a shared one) to let byoc clock move the org's time")
            } else {
                e
            }
        })?;
    Output::new(&state, clock_text(&state))
}

/// `Org time  2027-01-01T00:00:00.000Z` and the offset, or that it is real time.
pub fn clock_text(state: &OrgClockState) -> String {
    let offset = if state.real {
        "real time".to_string()
    } else {
        format!("{} from real time", format_offset(state.offset_millis))
    };
    let mut rows = vec![("Org time", state.now.clone()), ("Offset", offset)];
    if let Some(at) = &state.moved_at {
        rows.push(("Moved at", format!("{at} (real time)")));
    }
    fields(0, &rows)
}
