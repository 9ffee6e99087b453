//! Setup > View Setup Audit Trail: every setup change, newest first, with Setup's columns, in
//! pages (keyset on the trail's `seq`), and Setup's *Download setup audit trail for last six
//! months (Excel .csv file)*.
//!
//! Reads need what `GET /admin/v1/audit` needs (*View Setup and Configuration*). byoc records
//! no managed-package namespace and attributes every change to the user it was made as, so
//! *Source Namespace Prefix* and *Delegate User* stay empty (a *Login As* appears as its own
//! row, as in Setup).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use byoc_core::SetupAction;
use byoc_proto::setup::AuditEntry;
use byoc_store::Page;
use serde::Deserialize;

use super::messaging::date_time;
use super::{page, refused_page, ConsoleSession, ConsoleState, Layout};
use crate::setup_service::ServiceError;

const KEY: &str = "audit";
const TITLE: &str = "View Setup Audit Trail";
pub const HOME: &str = "/lightning/setup/SecurityEvents/home";
pub const DOWNLOAD: &str = "/lightning/setup/SecurityEvents/download";
const PAGE_SIZE: i64 = 50;
/// Six months, as Setup's download covers.
const SIX_MONTHS_MILLIS: i64 = 183 * 24 * 3600 * 1000;
/// The most rows a download holds.
const DOWNLOAD_LIMIT: i64 = 100_000;

pub fn routes() -> Router<ConsoleState> {
    Router::new()
        .route(HOME, get(list))
        .route(DOWNLOAD, get(download))
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    before: Option<String>,
    after: Option<String>,
}

struct Row {
    date: String,
    user: String,
    action: String,
    section: String,
}

#[derive(Template)]
#[template(path = "console/people/audit.html")]
struct AuditPage {
    l: Layout,
    rows: Vec<Row>,
    download: &'static str,
    previous: Option<String>,
    next: Option<String>,
}

fn link(page: Page) -> String {
    match page {
        Page::First => HOME.to_string(),
        Page::Before(seq) => format!("{HOME}?before={seq}"),
        Page::After(seq) => format!("{HOME}?after={seq}"),
    }
}

async fn list(
    State(state): State<ConsoleState>,
    session: ConsoleSession,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let parse = |s: &Option<String>| s.as_deref().and_then(|v| v.trim().parse::<i64>().ok());
    let wanted = match (parse(&q.before), parse(&q.after)) {
        (Some(b), _) => Page::Before(b),
        (None, Some(a)) => Page::After(a),
        _ => Page::First,
    };
    let mut rows = match state
        .setup
        .store()
        .repo()
        .audit_trail_page(wanted, PAGE_SIZE + 1)
        .await
    {
        Ok(r) => r,
        Err(e) => return refused_page(&session, TITLE, KEY, ServiceError::from(e)),
    };
    let more = rows.len() as i64 > PAGE_SIZE;
    if more {
        match wanted {
            Page::After(_) => {
                rows.remove(0);
            }
            _ => {
                rows.pop();
            }
        }
    }
    let (newest, oldest) = (rows.first().map(|r| r.0), rows.last().map(|r| r.0));
    let older = |more: bool| if more { oldest.map(Page::Before) } else { None };
    let (previous, next) = match wanted {
        Page::First => (None, older(more)),
        Page::Before(_) => (newest.map(Page::After), older(more)),
        Page::After(_) => (
            if more { newest.map(Page::After) } else { None },
            oldest.map(Page::Before),
        ),
    };
    page(&AuditPage {
        l: Layout::new(&session, TITLE, KEY),
        rows: rows
            .into_iter()
            .map(|(_, e)| Row {
                date: date_time(e.created_date),
                user: e.created_by,
                action: e.action,
                section: e.section,
            })
            .collect(),
        download: DOWNLOAD,
        previous: previous.map(link),
        next: next.map(link),
    })
}

/// One CSV field, quoted as Excel reads it; a leading `=`, `+`, `-` or `@` is prefixed with `'`
/// so that a spreadsheet never runs what a user typed into a setup record as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The audit trail of the last six months as Setup's download names its columns.
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out =
        String::from("Date,User,Source Namespace Prefix,Action,Section,Delegate User\r\n");
    for e in entries {
        let fields = [
            csv_field(&date_time(e.created_date)),
            csv_field(&e.created_by),
            csv_field(""),
            csv_field(&e.action),
            csv_field(&e.section),
            csv_field(""),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

async fn download(State(state): State<ConsoleState>, session: ConsoleSession) -> Response {
    if let Err(e) = session.actor.authorize(SetupAction::ViewSetup) {
        return refused_page(&session, TITLE, KEY, e.into());
    }
    let since = state.oauth.now() - SIX_MONTHS_MILLIS;
    let entries = match state.setup.store().audit_trail(DOWNLOAD_LIMIT).await {
        Ok(all) => all
            .into_iter()
            .filter(|e| e.created_date >= since)
            .collect::<Vec<_>>(),
        Err(e) => return refused_page(&session, TITLE, KEY, ServiceError::from(e)),
    };
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"SetupAuditTrail.csv\"",
            ),
        ],
        to_csv(&entries),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv = to_csv(&[AuditEntry {
            created_date: 0,
            created_by: "a@b.c".into(),
            section: "Permission Sets".into(),
            action: "=HYPERLINK(\"x\")".into(),
            changes: vec![],
        }]);
        assert!(
            csv.starts_with("Date,User,Source Namespace Prefix,Action,Section,Delegate User\r\n")
        );
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
    }
}
