//! The org clock (`GET/POST /admin/v1/clock`, docs/org-as-code.md "The org clock").

use byoc_proto::admin::{MoveOrgClock, OrgClockState};
use reqwest::Method;

use crate::{AdminClient, ClientError};

impl AdminClient {
    /// `GET /admin/v1/clock`: the org's time and its offset from real time.
    pub async fn org_clock(&self) -> Result<OrgClockState, ClientError> {
        self.get(&["clock"], &[]).await
    }

    /// `POST /admin/v1/clock`: advance, set or return to real time. Refused (403
    /// `FUNCTIONALITY_NOT_ENABLED`) unless the server runs with `--allow-clock-control`.
    pub async fn move_org_clock(
        &self,
        change: &MoveOrgClock,
    ) -> Result<OrgClockState, ClientError> {
        self.send(Method::POST, &["clock"], Some(change)).await
    }
}
