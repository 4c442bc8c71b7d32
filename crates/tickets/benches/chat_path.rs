//! The cost of one chat line through the desk as the ticket database and the conversation
//! grow: CPU time per customer message (routing, the ticket lookups, the appends) with 1, 10,000
//! and 100,000 other tickets in the database, and over 4,000 lines of one conversation with an
//! open ticket. Ratios are against the first measurement of the same run. With
//! `CHAT_PATH_DATABASE_URL` (an empty PostgreSQL database), the first measurement is repeated on
//! PostgreSQL, against SQLite in the same run.
//!
//! Run: `cargo bench -p switchboard-tickets --bench chat_path`

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_core::desk::{Desk, Session};
use switchboard_core::plugins::{load_plugins, load_support_model};
use switchboard_core::tickets::CustomerIdentity;
use switchboard_core::{Router, RouterConfig};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;
use switchboard_tickets::{PostgresTicketStore, SqliteTicketStore};

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

fn router() -> Router {
    let kb = KnowledgeBase::build_in_ram(&ingest_roots(&[repo("knowledge")]).sections).unwrap();
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(&repo("plugins"), &support);
    Router::new(kb, plugins, support, RouterConfig::default())
}

/// `n` tickets of other customers, each with a short transcript, written in one transaction.
fn fill(path: &Path, n: usize) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < {n})
         INSERT INTO tickets (customer_id, adapter, user_id, display_name, conversation, queue, status, findings, due, created_at, updated_at)
           SELECT 'bench:' || i, 'bench', i, 'Customer ' || i, 'c' || i, 'billing',
                  CASE WHEN i % 3 = 0 THEN 'resolved' ELSE 'open' END, '{{}}', NULL,
                  '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z'
           FROM k;
         INSERT INTO transcript (ticket, pos, author, staff_user, text, at)
           SELECT seq, 0, 'customer', NULL, 'please refund the duplicate charge', created_at FROM tickets;
         INSERT INTO transcript (ticket, pos, author, staff_user, text, at)
           SELECT seq, 1, 'staff', 'anna', 'we are on it', created_at FROM tickets;
         COMMIT;"
    ))
    .unwrap();
}

const LINES: [&str; 4] = [
    "who sends us the invoice for our subscriptions?",
    "please refund the 80 EUR you charged twice",
    "and when will that be?",
    "thanks",
];

/// Mean time per line over `lines` lines of one conversation.
fn per_line(desk: &Desk, session: &mut Session, lines: usize) -> Duration {
    let now = jiff::Timestamp::now();
    let started = Instant::now();
    for i in 0..lines {
        desk.customer_message(session, LINES[i % LINES.len()], now)
            .unwrap();
        let _ = desk.new_staff_messages(session).unwrap();
    }
    started.elapsed() / lines as u32
}

fn session(name: &str) -> Session {
    Session::new(
        CustomerIdentity {
            adapter: "bench".into(),
            user_id: name.into(),
            display_name: name.into(),
        },
        name,
    )
}

fn main() {
    let router = router();
    let mut baseline = None;
    println!("| tickets in the database | per line (mean of 200) | vs 1 ticket |");
    println!("|---|---|---|");
    let mut router = Some(router);
    for n in [1, 10_000, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        drop(SqliteTicketStore::open(&path).unwrap());
        fill(&path, n);
        let store = Arc::new(SqliteTicketStore::open(&path).unwrap());
        let desk = Desk::new(router.take().unwrap(), store, 72);
        let mut s = session("measured");
        let _ = per_line(&desk, &mut s, 20);
        let mut s = session("measured-2");
        let t = per_line(&desk, &mut s, 200);
        let base = *baseline.get_or_insert(t);
        println!(
            "| {n} | {:.0} µs | {:.2}x |",
            t.as_secs_f64() * 1e6,
            t.as_secs_f64() / base.as_secs_f64()
        );
        // The same index for the next size: building it again would only add noise.
        let shared = desk.router();
        router = Some(shared.with_config(*shared.config()));
    }

    // One conversation of 4,000 lines with an open ticket (every line goes to it).
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteTicketStore::open(&dir.path().join("t.sqlite3")).unwrap());
    let desk = Desk::new(router.take().unwrap(), store, 72);
    let mut s = session("long");
    println!("\n| lines so far | per line (mean of the next 200) | vs the first 200 |");
    println!("|---|---|---|");
    let mut first = None;
    for block in 0..20 {
        let t = per_line(&desk, &mut s, 200);
        let base = *first.get_or_insert(t);
        if block % 5 == 0 || block == 19 {
            println!(
                "| {} | {:.0} µs | {:.2}x |",
                block * 200,
                t.as_secs_f64() * 1e6,
                t.as_secs_f64() / base.as_secs_f64()
            );
        }
    }

    let Ok(url) = std::env::var("CHAT_PATH_DATABASE_URL") else {
        return;
    };
    let shared = desk.router();
    let desk = Desk::new(
        shared.with_config(*shared.config()),
        Arc::new(PostgresTicketStore::connect(&url).unwrap()),
        72,
    );
    let mut s = session("measured");
    let _ = per_line(&desk, &mut s, 20);
    let mut s = session("measured-2");
    let t = per_line(&desk, &mut s, 200);
    let base = baseline.expect("measured on SQLite first");
    println!("\n| store | per line (mean of 200) | vs SQLite with 1 ticket |");
    println!("|---|---|---|");
    println!(
        "| PostgreSQL (loopback, empty database) | {:.0} µs | {:.2}x |",
        t.as_secs_f64() * 1e6,
        t.as_secs_f64() / base.as_secs_f64()
    );
}
