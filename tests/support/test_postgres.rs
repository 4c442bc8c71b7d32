//! A new, empty PostgreSQL database for one test, on the server that
//! `SWITCHBOARD_TEST_DATABASE_URL` names (`eval "$(.ci/throwaway-postgres start)"` starts a
//! throwaway one; CI does). Without it a test on PostgreSQL is skipped with a message, unless
//! `SWITCHBOARD_REQUIRE_POSTGRES=1` (set by CI), where it fails.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The URL of a new database for `test`, or `None` (skipped) where no server is configured.
pub fn fresh_database(test: &str) -> Option<String> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let Ok(server) = std::env::var("SWITCHBOARD_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("SWITCHBOARD_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "{test}: SWITCHBOARD_REQUIRE_POSTGRES=1 but SWITCHBOARD_TEST_DATABASE_URL is not set"
        );
        eprintln!(
            "skipped {test} on PostgreSQL: set SWITCHBOARD_TEST_DATABASE_URL (eval \"$(.ci/throwaway-postgres start)\")"
        );
        return None;
    };
    let slug: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    let name = format!(
        "sb_{slug}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = postgres::Client::connect(&server, postgres::NoTls)
        .unwrap_or_else(|e| panic!("{test}: cannot connect to {server}: {e}"));
    // One statement per call: CREATE DATABASE cannot run in the transaction a batch makes.
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        admin
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{test}: {sql}: {e:?}"));
    }
    let (base, query) = server
        .split_once('?')
        .map_or((server.as_str(), None), |(b, q)| (b, Some(q)));
    let (authority, _database) = base
        .rsplit_once('/')
        .filter(|(a, _)| a.ends_with(|c: char| c != '/'))
        .unwrap_or((base, ""));
    Some(match query {
        Some(q) => format!("{authority}/{name}?{q}"),
        None => format!("{authority}/{name}"),
    })
}
