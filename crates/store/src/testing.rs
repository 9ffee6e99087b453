//! Throwaway PostgreSQL databases for tests.
//!
//! Tests that exercise the PostgreSQL backend call [`postgres_url`]: it creates a fresh database
//! on the server named by `BYOC_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and returns its URL, or `None` with a printed notice when no server answers. With
//! `BYOC_REQUIRE_POSTGRES=1` (set by `.ci/run`) a missing server is an error instead of a skip.

use sqlx::{Connection, Executor, PgConnection};

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Kill every `LISTEN` connection of the database at `url` (each instance's change-notice
/// listener, [`crate::notify`]) with `pg_terminate_backend`, as a lost connection would end
/// them; returns how many. Only ever point it at a test's own database.
pub async fn terminate_listeners(url: &str) -> Result<usize, sqlx::Error> {
    let mut conn = PgConnection::connect(url).await?;
    let killed: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE '%LISTEN%'",
    )
    .fetch_all(&mut conn)
    .await?;
    Ok(killed.into_iter().filter(|k| *k).count())
}

/// A fresh, empty database's URL, or `None` if PostgreSQL is not reachable and not required.
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
    let mut attempt = 0;
    let name = loop {
        attempt += 1;
        let name = database_name(std::process::id());
        match conn
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
        {
            Ok(_) => break name,
            // Names are random, so a clash is next to impossible; if one happens anyway, draw
            // again rather than fail the test.
            Err(e) if attempt < 5 && is_name_taken(&e) => continue,
            Err(e) => {
                assert!(!required, "could not create test database: {e}");
                eprintln!("SKIPPED (PostgreSQL): {label}: cannot create a database ({e})");
                return None;
            }
        }
    };
    let mut url = url::Url::parse(&admin).ok()?;
    url.set_path(&format!("/{name}"));
    Some(url.to_string())
}

/// `byoc_test_<pid>_<random>`: the pid lets [`drop_leftovers`] find databases of dead processes;
/// the random part (a v4 UUID, 122 random bits) keeps names of one process apart. The clock is
/// not used: two tests of one process can read the same clock value (coarse clocks, fast
/// machines), which once made two test databases collide.
fn database_name(pid: u32) -> String {
    format!("byoc_test_{pid}_{}", uuid::Uuid::new_v4().simple())
}

/// Whether creating a database failed because its name is taken: `duplicate_database`, or the
/// catalog's unique index when two creations race.
fn is_name_taken(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|db| db.code())
        .is_some_and(|code| code == "42P04" || code == "23505")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_of_one_process_differ_and_carry_the_pid() {
        let names: std::collections::HashSet<String> =
            (0..10_000).map(|_| database_name(4242)).collect();
        assert_eq!(names.len(), 10_000);
        for name in &names {
            assert!(name.starts_with("byoc_test_4242_"), "{name}");
            // A plain identifier: lowercase letters, digits and underscores only.
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
        }
    }
}
