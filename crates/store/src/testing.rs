//! Throwaway PostgreSQL databases for tests.
//!
//! Tests that exercise the PostgreSQL backend call [`postgres_url`]: it creates a fresh database
//! on the server named by `BYOC_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and returns its URL, or `None` with a printed notice when no server answers. With
//! `BYOC_REQUIRE_POSTGRES=1` (set by `.ci/run`) a missing server is an error instead of a skip.

use sqlx::{Connection, Executor, PgConnection};

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh, empty database's URL, or `None` if PostgreSQL is not reachable and not required.
// Test database names only need to be unique: the wall clock is fine here.
#[allow(clippy::disallowed_methods)]
pub async fn postgres_url(label: &str) -> Option<String> {
    let admin =
        std::env::var("BYOC_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string());
    let required = std::env::var("BYOC_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let mut conn = match PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) => {
            assert!(
                !required,
                "BYOC_REQUIRE_POSTGRES=1 but PostgreSQL at {admin} is unreachable: {e}"
            );
            eprintln!("SKIPPED (PostgreSQL): {label}: no PostgreSQL at {admin} ({e})");
            return None;
        }
    };
    drop_leftovers(&mut conn).await;
    let name = format!(
        "byoc_test_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    if let Err(e) = conn
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
    {
        assert!(!required, "could not create test database: {e}");
        eprintln!("SKIPPED (PostgreSQL): {label}: cannot create a database ({e})");
        return None;
    }
    let mut url = url::Url::parse(&admin).ok()?;
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// Drop test databases whose creating process is gone (their name carries its pid), so repeated
/// runs on one machine don't pile them up.
async fn drop_leftovers(conn: &mut PgConnection) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'byoc_test_%'",
    )
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    for name in names {
        let pid = name
            .strip_prefix("byoc_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}
