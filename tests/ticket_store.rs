//! The ticket stores: the contract both keep (lifecycle, concurrency, retention, the outbox),
//! run on SQLite and on PostgreSQL, and what only SQLite's file brings (migrations of an old
//! file, a database that is locked or read-only, nothing deleted left on disk).

use std::sync::Arc;
use switchboard_core::support::TechnicalEntitlement;
use switchboard_core::tickets::{
    Author, CustomerIdentity, Escalation, NewTicket, StaffAction, TicketError, TicketFilter, TicketHead,
    TicketStatus, TicketStore, TranscriptEntry,
};
use switchboard_tickets::{PostgresTicketStore, SqliteTicketStore};

#[path = "support/test_postgres.rs"]
mod test_postgres;

/// Where stores of one kind are opened: every `open` is a new connection to one database, as
/// another process would make.
trait Backend: Sync {
    fn open(&self) -> Arc<dyn TicketStore>;
}

struct Sqlite {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl Sqlite {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        Sqlite { _dir: dir, path }
    }
}

impl Backend for Sqlite {
    fn open(&self) -> Arc<dyn TicketStore> {
        Arc::new(SqliteTicketStore::open(&self.path).unwrap())
    }
}

struct Postgres {
    url: String,
}

impl Backend for Postgres {
    fn open(&self) -> Arc<dyn TicketStore> {
        Arc::new(PostgresTicketStore::connect(&self.url).unwrap())
    }
}

/// Each test of the store contract, once on SQLite and once on PostgreSQL.
macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $test() {
                super::$test(&super::Sqlite::new());
            })*
        }
        mod postgres {
            $(#[test]
            fn $test() {
                if let Some(url) = super::test_postgres::fresh_database(stringify!($test)) {
                    super::$test(&super::Postgres { url });
                }
            })*
        }
    };
}

on_both_stores!(
    lifecycle_with_audit_log,
    unknown_ids_are_clear_errors,
    concurrent_writers_lose_and_duplicate_nothing,
    retention_purge_and_erasure,
    reopening_an_existing_database_keeps_everything,
    concurrent_handoffs_of_one_customer_give_one_ticket_and_concurrent_claims_one_owner,
    the_outbox_finds_what_was_not_delivered_to_the_tickets_current_queue,
    a_reply_naming_the_ticket_and_a_turn_of_two_entries_are_written_whole,
    staff_messages_are_read_alone_and_match_the_transcripts,
    a_message_sent_again_is_stored_once,
    of_processes_claiming_a_delivery_at_once_one_wins_until_its_claim_goes_stale,
    a_conversation_without_a_ticket_is_kept_replaced_erased_and_purged,
    a_customers_latest_ticket_is_read_with_its_due_time,
);

/// What the desk reads on every customer message: the latest ticket's id, status, queue and the
/// time the handoff promised a reply by ("when will you get back to me?" is told it).
fn a_customers_latest_ticket_is_read_with_its_due_time(backend: &dyn Backend) {
    let store = backend.open();
    let at = "2026-11-28T10:00:00Z";
    assert_eq!(
        store.latest_for_customer(&customer(1).customer_id(), at).unwrap(),
        None
    );
    let due = "Fri 2026-12-04 17:00 CET";
    let t = store
        .create(
            NewTicket {
                due: Some(due.into()),
                ..new_ticket(1)
            },
            at,
        )
        .unwrap();
    store.create(new_ticket(2), at).unwrap();
    let head = store
        .latest_for_customer(&customer(1).customer_id(), at)
        .unwrap()
        .expect("the customer's ticket");
    assert_eq!(head, TicketHead::from(&t));
    assert_eq!(head.due.as_deref(), Some(due));
    let other = store
        .latest_for_customer(&customer(2).customer_id(), at)
        .unwrap()
        .expect("the other customer's ticket");
    assert_eq!((other.id.as_str(), other.due), ("T-2", None));
}

fn customer(n: usize) -> CustomerIdentity {
    CustomerIdentity {
        adapter: "test".into(),
        user_id: format!("u{n}"),
        display_name: format!("User {n}"),
    }
}

fn new_ticket(n: usize) -> NewTicket {
    NewTicket {
        customer: customer(n),
        conversation: format!("c{n}"),
        queue: "billing".into(),
        transcript: vec![TranscriptEntry {
            author: Author::Customer,
            text: format!("message {n}"),
            at: "2026-11-28T10:00:00Z".into(),
            id: None,
        }],
        findings: serde_json::json!({"amount": "1234.56"}),
        due: None,
    }
}

fn lifecycle_with_audit_log(backend: &dyn Backend) {
    let store = backend.open();
    let t = store.create(new_ticket(1), "2026-11-28T10:00:00Z").unwrap();
    assert_eq!(t.id, "T-1");
    assert_eq!(t.status, TicketStatus::Open);
    let err = store
        .act(
            &t.id,
            "carol",
            &StaffAction::Reply("hi".into()),
            "2026-11-28T10:01:00Z",
        )
        .unwrap_err();
    assert!(
        matches!(err, TicketError::InvalidTransition { .. }),
        "reply before claim: {err}"
    );
    store
        .act(&t.id, "carol", &StaffAction::Claim, "2026-11-28T10:01:00Z")
        .unwrap();
    store
        .act(
            &t.id,
            "carol",
            &StaffAction::Reply("checking".into()),
            "2026-11-28T10:02:00Z",
        )
        .unwrap();
    let escalation = Escalation::MicrosoftTechnical {
        entitlement: TechnicalEntitlement::SignatureCloudSupport,
        case_number: Some("123".into()),
    };
    store
        .act(
            &t.id,
            "carol",
            &StaffAction::Escalate(escalation.clone()),
            "2026-11-28T10:03:00Z",
        )
        .unwrap();
    let t = store
        .act(&t.id, "carol", &StaffAction::Resolve, "2026-11-28T10:04:00Z")
        .unwrap();
    assert_eq!(t.status, TicketStatus::Resolved);
    assert_eq!(t.escalations, [escalation]);
    let actions: Vec<&str> = t.audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions[1..],
        [
            "claimed",
            "replied",
            "escalated to Microsoft technical support (Signature Cloud Support), case 123",
            "resolved"
        ]
    );
    assert_eq!(t.transcript.len(), 2);
    assert!(matches!(t.transcript[1].author, Author::Staff { ref user } if user == "carol"));
    // A new message reopens it.
    let t = store
        .append(
            &t.id,
            TranscriptEntry {
                author: Author::Customer,
                text: "again".into(),
                at: "2026-11-28T11:00:00Z".into(),
                id: None,
            },
            true,
        )
        .unwrap();
    assert_eq!(t.status, TicketStatus::Open);
    assert!(t.audit.last().unwrap().action.contains("reopened"));
}

fn unknown_ids_are_clear_errors(backend: &dyn Backend) {
    let store = backend.open();
    for id in ["T-99", "nonsense", "", "T--1"] {
        let err = store.get(id).unwrap_err();
        assert!(matches!(err, TicketError::NotFound(_)), "{id}: {err}");
        assert!(err.to_string().contains("no ticket"));
    }
}

fn concurrent_writers_lose_and_duplicate_nothing(backend: &dyn Backend) {
    backend.open();
    let mut ids: Vec<String> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..8)
            .map(|w| {
                scope.spawn(move || {
                    // One connection per writer, as separate processes would have.
                    let store = backend.open();
                    (0..25)
                        .map(|i| {
                            store
                                .create(new_ticket(w * 100 + i), "2026-11-28T10:00:00Z")
                                .unwrap()
                                .id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        writers.into_iter().flat_map(|t| t.join().unwrap()).collect()
    });
    assert_eq!(ids.len(), 200);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "no duplicate ids");
    let store = backend.open();
    let all = store.list(&TicketFilter::default()).unwrap();
    assert_eq!(all.len(), 200, "none lost");
    assert!(all.iter().all(|t| t.transcript.len() == 1));
}

fn retention_purge_and_erasure(backend: &dyn Backend) {
    let store = backend.open();
    let old = store.create(new_ticket(1), "2026-01-01T00:00:00Z").unwrap();
    store
        .act(&old.id, "c", &StaffAction::Claim, "2026-01-01T00:00:00Z")
        .unwrap();
    store
        .act(&old.id, "c", &StaffAction::Resolve, "2026-01-02T00:00:00Z")
        .unwrap();
    let open_old = store.create(new_ticket(2), "2026-01-01T00:00:00Z").unwrap();
    store.create(new_ticket(2), "2026-11-01T00:00:00Z").unwrap();
    assert_eq!(
        store.purge_resolved_before("2026-06-01T00:00:00Z").unwrap(),
        1,
        "only resolved and old"
    );
    assert!(store.get(&old.id).is_err());
    assert!(store.get(&open_old.id).is_ok(), "open tickets are never purged");
    // One open ticket per customer: the second handoff joined the first.
    assert_eq!(store.erase_customer("test:u2").unwrap(), 1);
    assert!(store.list(&TicketFilter::default()).unwrap().is_empty());
}

fn reopening_an_existing_database_keeps_everything(backend: &dyn Backend) {
    let id = backend
        .open()
        .create(new_ticket(1), "2026-11-28T10:00:00Z")
        .unwrap()
        .id;
    let store = backend.open();
    let t = store.get(&id).unwrap();
    assert_eq!(t.transcript[0].text, "message 1");
    assert_eq!(t.findings["amount"], "1234.56");
}

#[test]
fn an_unwritable_location_is_a_clear_error() {
    // A data directory that is a file cannot hold a database, whoever runs the test (file
    // permissions would not stop root, which CI may be).
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("data");
    std::fs::write(&not_a_dir, "a file").unwrap();
    let err = SqliteTicketStore::open(&not_a_dir.join("tickets.sqlite3")).unwrap_err();
    assert!(matches!(err, TicketError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("cannot be written"), "{err}");
    // A database file that is not a database: a clear error, not a panic.
    let garbage = dir.path().join("garbage.sqlite3");
    std::fs::write(&garbage, vec![0x42u8; 8192]).unwrap();
    let err = SqliteTicketStore::open(&garbage).unwrap_err();
    assert!(
        err.to_string().contains("ticket store") || err.to_string().contains("cannot"),
        "{err}"
    );
}

#[test]
fn a_locked_database_reports_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    let store = Arc::new(SqliteTicketStore::open(&path).unwrap());
    // Another process holds the write lock (here: a raw connection in an open transaction).
    let locker = rusqlite_lock(&path);
    let started = std::time::Instant::now();
    let err = store.create(new_ticket(1), "2026-11-28T10:00:00Z").unwrap_err();
    assert!(matches!(err, TicketError::Busy), "{err}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(4),
        "waited for the lock first"
    );
    let mut locker = locker;
    locker.kill().unwrap();
    locker.wait().unwrap();
    store.create(new_ticket(1), "2026-11-28T10:00:00Z").unwrap();
}

fn rusqlite_lock(path: &std::path::Path) -> std::process::Child {
    // sqlite3 may not be installed: hold the lock from a child process running this very
    // test binary is overkill; use python's sqlite3, present on the machine and in CI.
    let child = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('locked',flush=True)\ntime.sleep(30)",
            path.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut child = child;
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    child
}

#[test]
fn an_erased_customer_leaves_nothing_on_disk_and_the_database_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    let store = SqliteTicketStore::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the database is its owner's alone");
    let marker = "SECRETMARKER-4111-1111-1111-1111";
    for n in 0..20 {
        let mut ticket = new_ticket(n);
        if n == 7 {
            ticket.transcript[0].text = format!("card {marker} please refund");
        }
        store.create(ticket, "2026-11-28T10:00:00Z").unwrap();
    }
    let on_disk = |dir: &std::path::Path| -> Vec<u8> {
        std::fs::read_dir(dir)
            .unwrap()
            .flat_map(|e| std::fs::read(e.unwrap().path()).unwrap_or_default())
            .collect()
    };
    let contains = |haystack: &[u8]| haystack.windows(marker.len()).any(|w| w == marker.as_bytes());
    assert!(
        contains(&on_disk(dir.path())),
        "the marker is stored before the erase"
    );
    assert_eq!(store.erase_customer(&customer(7).customer_id()).unwrap(), 1);
    assert!(
        !contains(&on_disk(dir.path())),
        "no copy in freed pages or the write-ahead log"
    );
    assert_eq!(
        store.list(&TicketFilter::default()).unwrap().len(),
        19,
        "the others stay"
    );
}

fn concurrent_handoffs_of_one_customer_give_one_ticket_and_concurrent_claims_one_owner(
    backend: &dyn Backend,
) {
    backend.open();
    // Separate stores (connections), as separate processes would have.
    let ids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|k| {
                scope.spawn(move || {
                    let store = backend.open();
                    let mut ticket = new_ticket(1);
                    ticket.transcript[0].text = format!("double send {k}");
                    store.create(ticket, "2026-11-28T10:00:00Z").unwrap().id
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(ids.iter().all(|id| *id == ids[0]), "one ticket: {ids:?}");
    let store = backend.open();
    let ticket = store.get(&ids[0]).unwrap();
    for k in 0..8 {
        let text = format!("double send {k}");
        assert!(
            ticket.transcript.iter().any(|e| e.text == text),
            "nothing lost: {text}"
        );
    }
    assert_eq!(store.list(&TicketFilter::default()).unwrap().len(), 1);

    let results: Vec<_> = std::thread::scope(|scope| {
        let claims: Vec<_> = ["ann", "bob", "cem", "dan", "eve"]
            .into_iter()
            .map(|who| {
                let id = &ids[0];
                scope.spawn(move || {
                    let store = backend.open();
                    (
                        who,
                        store.act(id, who, &StaffAction::Claim, "2026-11-28T10:05:00Z"),
                    )
                })
            })
            .collect();
        claims.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.is_ok())
        .map(|(w, _)| *w)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one claim wins: {results:?}");
    let owner = store.get(&ids[0]).unwrap().assignee;
    assert_eq!(owner.as_deref(), Some(winners[0]));
    for (_, r) in results.iter().filter(|(_, r)| r.is_err()) {
        let message = r.as_ref().unwrap_err().to_string();
        assert!(
            message.contains(&format!("claimed by {}", winners[0])),
            "the loser is told who: {message}"
        );
    }
    // A resolved ticket does not absorb the next handoff.
    store
        .act(&ids[0], winners[0], &StaffAction::Resolve, "2026-11-28T10:06:00Z")
        .unwrap();
    let next = store.create(new_ticket(1), "2026-11-28T10:07:00Z").unwrap();
    assert_ne!(next.id, ids[0]);
}

#[test]
fn a_current_database_opens_without_writing_even_while_another_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    SqliteTicketStore::open(&path)
        .unwrap()
        .create(new_ticket(1), "2026-11-28T10:00:00Z")
        .unwrap();
    // Another process holds the write lock (a long transaction, or a disk that takes no writes).
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE;").unwrap();
    let started = std::time::Instant::now();
    let store = SqliteTicketStore::open(&path).expect("opening needs no write");
    assert!(started.elapsed().as_secs() < 2, "did not wait for the lock");
    assert_eq!(store.list(&TicketFilter::default()).unwrap().len(), 1);
    other.execute_batch("ROLLBACK;").unwrap();
}

fn the_outbox_finds_what_was_not_delivered_to_the_tickets_current_queue(backend: &dyn Backend) {
    let store = backend.open();
    let now = "2026-11-28T10:00:00Z";
    let a = store.create(new_ticket(1), now).unwrap();
    let b = store.create(new_ticket(2), now).unwrap();
    let key = "staff-notified:{queue}";
    assert_eq!(
        store.undelivered("test", key).unwrap(),
        [a.id.clone(), b.id.clone()]
    );
    assert!(store.undelivered("other-adapter", key).unwrap().is_empty());
    store
        .set_delivery(&a.id, "test", "staff-notified:billing", "thread 9", now)
        .unwrap();
    assert_eq!(
        store.undelivered("test", key).unwrap(),
        std::slice::from_ref(&b.id)
    );
    // Escalated to another queue: the billing staff's notification no longer counts.
    store.act(&a.id, "carol", &StaffAction::Claim, now).unwrap();
    store
        .act(
            &a.id,
            "carol",
            &StaffAction::Escalate(Escalation::Queue {
                queue: "sales".into(),
            }),
            now,
        )
        .unwrap();
    assert_eq!(
        store.undelivered("test", key).unwrap(),
        [a.id.clone(), b.id.clone()]
    );
    // Replaced, not duplicated; read back by prefix.
    store
        .set_delivery(&a.id, "test", "staff-notified:billing", "thread 10", now)
        .unwrap();
    store
        .set_delivery(&a.id, "test", "thread:sales", "{}", now)
        .unwrap();
    assert_eq!(
        store.deliveries("test", "staff-notified:").unwrap(),
        [(
            a.id.clone(),
            "staff-notified:billing".to_string(),
            "thread 10".to_string()
        )]
    );
    assert!(matches!(
        store.set_delivery("T-99", "test", "thread:sales", "{}", now),
        Err(TicketError::NotFound(_))
    ));
    // Resolved tickets are done, whatever was delivered.
    store.act(&b.id, "carol", &StaffAction::Claim, now).unwrap();
    store.act(&b.id, "carol", &StaffAction::Resolve, now).unwrap();
    assert_eq!(
        store.undelivered("test", key).unwrap(),
        std::slice::from_ref(&a.id)
    );
}

#[test]
fn tickets_from_before_the_outbox_count_as_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    {
        let store = SqliteTicketStore::open(&path).unwrap();
        store.create(new_ticket(1), "2026-11-28T10:00:00Z").unwrap();
    }
    // Back to the schema before the outbox (version 1), as an older release left it.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE deliveries; DROP TABLE conversations; DROP INDEX transcript_client_id;
             ALTER TABLE transcript DROP COLUMN client_id;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let store = SqliteTicketStore::open(&path).unwrap();
    assert!(store
        .undelivered("test", "staff-notified:{queue}")
        .unwrap()
        .is_empty());
    assert!(store.undelivered("test", "customer-told").unwrap().is_empty());
    let after = store.create(new_ticket(2), "2026-11-28T11:00:00Z").unwrap();
    assert_eq!(store.undelivered("test", "customer-told").unwrap(), [after.id]);
}

fn a_reply_naming_the_ticket_and_a_turn_of_two_entries_are_written_whole(backend: &dyn Backend) {
    let store = backend.open();
    let reply = |id: &str| TranscriptEntry {
        author: Author::Bot,
        text: format!("Your ticket: {id}."),
        at: "2026-11-27T09:00:01Z".into(),
        id: None,
    };
    let ticket = store
        .create_with_reply(new_ticket(1), "2026-11-27T09:00:00Z", &reply)
        .unwrap();
    let last = ticket.transcript.last().unwrap();
    assert_eq!(last.text, format!("Your ticket: {}.", ticket.id));
    assert_eq!(ticket.transcript.len(), new_ticket(1).transcript.len() + 1);

    let turn = [
        TranscriptEntry {
            author: Author::Customer,
            text: "and one more thing".into(),
            at: "2026-11-27T09:05:00Z".into(),
            id: None,
        },
        TranscriptEntry {
            author: Author::Bot,
            text: "noted".into(),
            at: "2026-11-27T09:05:00Z".into(),
            id: None,
        },
    ];
    store.append_all(&ticket.id, &turn, false).unwrap();
    let after = store.get(&ticket.id).unwrap();
    assert_eq!(&after.transcript[after.transcript.len() - 2..], &turn);
    assert_eq!(after.updated_at, "2026-11-27T09:05:00Z");
    assert!(matches!(
        store.append_all("T-999", &turn, false),
        Err(TicketError::NotFound(_))
    ));
}

fn staff_messages_are_read_alone_and_match_the_transcripts(backend: &dyn Backend) {
    let store = backend.open();
    let first = store.create(new_ticket(1), "2026-11-27T09:00:00Z").unwrap();
    store
        .act(&first.id, "anna", &StaffAction::Claim, "2026-11-27T09:00:30Z")
        .unwrap();
    store
        .act(
            &first.id,
            "anna",
            &StaffAction::Reply("first reply".into()),
            "2026-11-27T09:01:00Z",
        )
        .unwrap();
    store
        .act(&first.id, "anna", &StaffAction::Resolve, "2026-11-27T09:02:00Z")
        .unwrap();
    let second = store.create(new_ticket(1), "2026-11-27T10:00:00Z").unwrap();
    store
        .append(
            &second.id,
            TranscriptEntry {
                author: Author::Customer,
                text: "still there?".into(),
                at: "2026-11-27T10:01:00Z".into(),
                id: None,
            },
            false,
        )
        .unwrap();
    store
        .act(&second.id, "ben", &StaffAction::Claim, "2026-11-27T10:01:30Z")
        .unwrap();
    store
        .act(
            &second.id,
            "ben",
            &StaffAction::Reply("yes".into()),
            "2026-11-27T10:02:00Z",
        )
        .unwrap();
    store.create(new_ticket(2), "2026-11-27T10:00:00Z").unwrap();

    let expected: Vec<(String, Vec<TranscriptEntry>)> = [&first.id, &second.id]
        .iter()
        .map(|id| {
            let t = store.get(id).unwrap();
            let staff = t
                .transcript
                .into_iter()
                .filter(|e| matches!(e.author, Author::Staff { .. }))
                .collect();
            (t.id, staff)
        })
        .collect();
    let got = store.staff_messages(&customer(1).customer_id()).unwrap();
    assert_eq!(got, expected);
    assert_eq!(got[0].1[0].text, "first reply");
    assert_eq!(got[1].1[0].author, Author::Staff { user: "ben".into() });
    assert!(store.staff_messages("test:nobody").unwrap().is_empty());
}

/// The queries of every chat line and live poll search indexes; none scans a table, so their
/// cost does not grow with the number of tickets or the length of a conversation.
#[test]
fn every_per_message_query_searches_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteTicketStore::open(&dir.path().join("t.sqlite3")).unwrap();
    let plans = store.per_message_query_plans().unwrap();
    assert_eq!(plans.len(), 3);
    for (sql, plan) in plans {
        assert!(plan.contains("SEARCH"), "{sql}: {plan}");
        assert!(!plan.contains("SCAN"), "{sql} scans: {plan}");
    }
}

/// `tickets migrate`: a SQLite database of 10,000 tickets (written in bulk in the store's own
/// schema, plus some through the store's life cycle) arrives in PostgreSQL with the same ids,
/// transcripts, escalations, audit and outbox, and new tickets continue after the highest id.
#[test]
fn a_sqlite_database_of_ten_thousand_tickets_moves_to_postgres_whole() {
    let Some(url) = test_postgres::fresh_database("migrate_ten_thousand") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    let source = SqliteTicketStore::open(&path).unwrap();
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for n in 1..=10_000_i64 {
            let status = ["open", "claimed", "escalated", "resolved"][(n % 4) as usize];
            let customer = format!("web:c{n}");
            tx.execute(
                "INSERT INTO tickets (seq, customer_id, adapter, user_id, display_name, conversation, queue, status, assignee, findings, due, created_at, updated_at)
                 VALUES (?1, ?2, 'web', ?3, ?4, ?5, 'billing', ?6, ?7, ?8, NULL, '2026-11-01T09:00:00Z', '2026-11-01T09:05:00Z')",
                rusqlite::params![n, customer, format!("c{n}"), format!("Kundin {n} – Müller"), format!("conv-{n}"), status,
                    (status != "open").then_some("anna"), serde_json::json!({"amount": format!("{n}.50"), "summary": "Rückerstattung"}).to_string()],
            )
            .unwrap();
            for (pos, (author, text)) in [
                ("customer", format!("Bitte Rechnung {n} prüfen, 1.234,56 €")),
                ("bot", "Ticket angelegt".to_string()),
                ("staff", format!("erledigt {n}")),
            ]
            .iter()
            .enumerate()
            {
                tx.execute(
                    "INSERT INTO transcript (ticket, pos, author, staff_user, text, at) VALUES (?1, ?2, ?3, ?4, ?5, '2026-11-01T09:01:00Z')",
                    rusqlite::params![n, i64::try_from(pos).unwrap(), author, (*author == "staff").then_some("anna"), text],
                )
                .unwrap();
            }
            tx.execute(
                "INSERT INTO audit (ticket, actor, action, at) VALUES (?1, 'bot', 'opened for queue billing', '2026-11-01T09:00:00Z')",
                [n],
            )
            .unwrap();
            if n % 10 == 0 {
                tx.execute(
                    "INSERT INTO escalations (ticket, pos, detail) VALUES (?1, 0, '{\"to\":\"microsoft-commercial\",\"case_number\":\"42\"}')",
                    [n],
                )
                .unwrap();
            }
            tx.execute(
                "INSERT INTO deliveries (ticket, adapter, key, value, at) VALUES (?1, 'web', 'staff-notified:billing', 'console', '2026-11-01T09:00:00Z')",
                [n],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    // And a few through the store, so the audit and escalations are what the store writes.
    let lived = source.create(new_ticket(1), "2026-11-28T10:00:00Z").unwrap();
    source
        .act(&lived.id, "ben", &StaffAction::Claim, "2026-11-28T10:01:00Z")
        .unwrap();
    source
        .act(
            &lived.id,
            "ben",
            &StaffAction::Escalate(Escalation::Queue {
                queue: "sales".into(),
            }),
            "2026-11-28T10:02:00Z",
        )
        .unwrap();

    let target = PostgresTicketStore::connect(&url).unwrap();
    let started = std::time::Instant::now();
    let report = switchboard_tickets::copy_sqlite_to_postgres(&source, &target).unwrap();
    eprintln!(
        "copied 10,001 tickets in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(report.tickets, 10_001);
    assert_eq!(report.transcript_entries, 30_001);
    assert_eq!(report.escalations, 1_001);
    assert_eq!(report.audit_entries, 10_000 + lived.audit.len() + 2);
    assert_eq!(report.deliveries, 10_000);
    assert_eq!(report.source_checksum, report.target_checksum);
    for id in ["T-1", "T-4", "T-5000", "T-10000", lived.id.as_str()] {
        assert_eq!(target.get(id).unwrap(), source.get(id).unwrap(), "{id}");
    }
    // New tickets continue after the highest id; the copy refuses a database with tickets.
    let next = target.create(new_ticket(2), "2026-11-29T10:00:00Z").unwrap();
    assert_eq!(next.id, "T-10002");
    let again = switchboard_tickets::copy_sqlite_to_postgres(&source, &target).unwrap_err();
    assert!(
        again.to_string().contains("already holds 10002 tickets"),
        "{again}"
    );
}

/// A message with the sender's id, sent again (a retry after a lost response, to this process
/// or another, even at the same moment), is stored once, and so is what was written with it.
fn a_message_sent_again_is_stored_once(backend: &dyn Backend) {
    let store = backend.open();
    let with_id = |text: &str, id: &str| TranscriptEntry {
        author: Author::Customer,
        text: text.into(),
        at: "2026-11-28T10:00:00Z".into(),
        id: Some(id.into()),
    };
    let reply = |id: &str| TranscriptEntry {
        author: Author::Bot,
        text: format!("Your ticket: {id}."),
        at: "2026-11-28T10:00:01Z".into(),
        id: None,
    };
    let mut handoff = new_ticket(1);
    handoff.transcript = vec![with_id("refund please", "web-1")];
    let first = store
        .create_with_reply(handoff.clone(), "2026-11-28T10:00:00Z", &reply)
        .unwrap();
    let again = store
        .create_with_reply(handoff, "2026-11-28T10:00:05Z", &reply)
        .unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(
        again.transcript, first.transcript,
        "neither the message nor the reply twice"
    );
    assert_eq!(again.audit, first.audit);
    assert_eq!(again.transcript[0].id.as_deref(), Some("web-1"), "the id is kept");

    let turn = [with_id("any news?", "web-2"), reply(&first.id)];
    std::thread::scope(|scope| {
        for _ in 0..6 {
            scope.spawn(|| backend.open().append_all(&first.id, &turn, false).unwrap());
        }
    });
    let after = store.get(&first.id).unwrap();
    assert_eq!(
        after.transcript.len(),
        first.transcript.len() + 2,
        "{:?}",
        after.transcript
    );
    // Ids belong to a sender's conversation: another ticket may hold the same one.
    let mut other = new_ticket(2);
    other.transcript = vec![with_id("hello", "web-1")];
    assert_eq!(
        store
            .create(other, "2026-11-28T10:01:00Z")
            .unwrap()
            .transcript
            .len(),
        1
    );
    // Without an id, a message is stored each time it is sent.
    let plain = TranscriptEntry {
        id: None,
        ..with_id("same words", "x")
    };
    store
        .append_all(&first.id, std::slice::from_ref(&plain), false)
        .unwrap();
    store
        .append_all(&first.id, std::slice::from_ref(&plain), false)
        .unwrap();
    assert_eq!(
        store.get(&first.id).unwrap().transcript.len(),
        after.transcript.len() + 2
    );
}

/// Two processes on one database must not post the same staff notification: a delivery is
/// claimed first; of claims at once one wins, the winner may claim again, and a claim left
/// by a process that died is taken over once stale.
fn of_processes_claiming_a_delivery_at_once_one_wins_until_its_claim_goes_stale(backend: &dyn Backend) {
    let store = backend.open();
    let ticket = store.create(new_ticket(1), "2026-11-28T10:00:00Z").unwrap();
    let (now, stale_before) = ("2026-11-28T10:01:00Z", "2026-11-28T09:59:00Z");
    let won: Vec<String> = std::thread::scope(|scope| {
        let claims: Vec<_> = (0..8)
            .map(|p| {
                let id = &ticket.id;
                scope.spawn(move || {
                    let holder = format!("process-{p}");
                    let won = backend
                        .open()
                        .claim_delivery(
                            id,
                            "discord",
                            "staff-notified:billing",
                            &holder,
                            stale_before,
                            now,
                        )
                        .unwrap();
                    won.then_some(holder)
                })
            })
            .collect();
        claims.into_iter().filter_map(|c| c.join().unwrap()).collect()
    });
    assert_eq!(won.len(), 1, "exactly one claim wins: {won:?}");
    let claim = |holder: &str, stale_before: &str, now: &str| {
        store
            .claim_delivery(
                &ticket.id,
                "discord",
                "staff-notified:billing",
                holder,
                stale_before,
                now,
            )
            .unwrap()
    };
    assert!(claim(&won[0], stale_before, now), "the holder claims again");
    let other = if won[0] == "process-0" {
        "process-1"
    } else {
        "process-0"
    };
    assert!(
        !claim(other, stale_before, "2026-11-28T10:02:00Z"),
        "held, and not stale"
    );
    assert!(
        claim(other, "2026-11-28T10:05:00Z", "2026-11-28T10:06:00Z"),
        "stale: taken over"
    );
    assert!(
        !claim(&won[0], "2026-11-28T10:05:00Z", "2026-11-28T10:06:30Z"),
        "now the other's"
    );
    // Given up after a failure: free at once, but only its holder can give it up.
    store
        .release_delivery(&ticket.id, "discord", "staff-notified:billing", &won[0])
        .unwrap();
    assert!(!claim(&won[0], "2026-11-28T10:05:00Z", "2026-11-28T10:06:40Z"));
    store
        .release_delivery(&ticket.id, "discord", "staff-notified:billing", other)
        .unwrap();
    assert!(claim(&won[0], "2026-11-28T10:05:00Z", "2026-11-28T10:06:50Z"));
    // A claim is not a delivery, and another key is claimed apart.
    assert_eq!(
        store.undelivered("test", "staff-notified:{queue}").unwrap(),
        std::slice::from_ref(&ticket.id)
    );
    assert!(store.deliveries("discord", "staff-notified:").unwrap().is_empty());
    assert!(store
        .claim_delivery(&ticket.id, "discord", "customer-told", other, stale_before, now)
        .unwrap());
    assert!(!store
        .claim_delivery("T-999", "discord", "customer-told", other, stale_before, now)
        .unwrap());
}

/// What an adapter keeps of a conversation that has no ticket yet (for processes sharing the
/// store): replaced on each save, gone with the customer's erasure, purged once idle.
fn a_conversation_without_a_ticket_is_kept_replaced_erased_and_purged(backend: &dyn Backend) {
    let store = backend.open();
    assert_eq!(store.conversation("web:a").unwrap(), None);
    store
        .save_conversation("web:a", "{\"n\":1}", "2026-01-01T00:00:00Z")
        .unwrap();
    store
        .save_conversation("web:a", "{\"n\":2}", "2026-11-28T10:00:00Z")
        .unwrap();
    store
        .save_conversation("web:b", "{\"n\":3}", "2026-01-01T00:00:00Z")
        .unwrap();
    assert_eq!(store.conversation("web:a").unwrap().as_deref(), Some("{\"n\":2}"));
    store.purge_resolved_before("2026-06-01T00:00:00Z").unwrap();
    assert_eq!(
        store.conversation("web:b").unwrap(),
        None,
        "idle past the retention"
    );
    assert!(store.conversation("web:a").unwrap().is_some(), "recent");
    store.erase_customer("web:a").unwrap();
    assert_eq!(
        store.conversation("web:a").unwrap(),
        None,
        "erased with the customer"
    );
}

/// A database server that is not there is named at once (no pool timeout), with the reason and
/// without the password; a URL that is not PostgreSQL's is refused by name.
#[test]
fn an_unreachable_database_server_is_a_clear_error_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let err = PostgresTicketStore::connect(&format!("postgres://bot:s3cret@127.0.0.1:{port}/tickets"))
        .unwrap_err()
        .to_string();
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    assert!(
        err.contains(&format!(
            "cannot connect to postgres://bot:***@127.0.0.1:{port}/tickets"
        )),
        "{err}"
    );
    assert!(err.contains("refused"), "the reason: {err}");
    assert!(!err.contains("s3cret"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = switchboard_tickets::open_store(Some("mysql://bot:s3cret@db/t"), &dir.path().join("t.sqlite3"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("unsupported database URL") && !err.contains("s3cret"),
        "{err}"
    );
}

/// Pooled connections are not checked when taken (a round trip per call): one the server ended
/// meanwhile (a restart, `pg_terminate_backend`) is replaced, and the call goes through.
#[test]
fn connections_the_server_ended_are_replaced_without_an_error() {
    let Some(url) = test_postgres::fresh_database("connections_ended") else {
        return;
    };
    let store = PostgresTicketStore::connect(&url).unwrap();
    let ticket = store.create(new_ticket(1), "2026-11-28T10:00:00Z").unwrap();
    let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    for round in 0..3 {
        let ended: i64 = admin
            .query_one(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()) ended",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(ended >= 1, "round {round}: the store's connections were ended");
        // A read, then a write, each on a connection the server has ended.
        assert_eq!(store.get(&ticket.id).unwrap().id, ticket.id, "round {round}");
        store
            .append_all(
                &ticket.id,
                &[TranscriptEntry {
                    author: Author::Customer,
                    text: format!("still there? {round}"),
                    at: "2026-11-28T10:05:00Z".into(),
                    id: None,
                }],
                false,
            )
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
    }
    assert_eq!(store.get(&ticket.id).unwrap().transcript.len(), 4);
}
