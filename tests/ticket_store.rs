//! The SQLite ticket store: lifecycle, concurrency, migrations, retention, and a database
//! that is locked or read-only.

use std::sync::Arc;
use switchboard_core::support::TechnicalEntitlement;
use switchboard_core::tickets::{
    Author, CustomerIdentity, Escalation, NewTicket, StaffAction, TicketError, TicketFilter, TicketStatus,
    TicketStore, TranscriptEntry,
};
use switchboard_tickets::SqliteTicketStore;

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
        }],
        findings: serde_json::json!({"amount": "1234.56"}),
        due: None,
    }
}

#[test]
fn lifecycle_with_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteTicketStore::open(&dir.path().join("t.sqlite3")).unwrap();
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
            },
            true,
        )
        .unwrap();
    assert_eq!(t.status, TicketStatus::Open);
    assert!(t.audit.last().unwrap().action.contains("reopened"));
}

#[test]
fn unknown_ids_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteTicketStore::open(&dir.path().join("t.sqlite3")).unwrap();
    for id in ["T-99", "nonsense", "", "T--1"] {
        let err = store.get(id).unwrap_err();
        assert!(matches!(err, TicketError::NotFound(_)), "{id}: {err}");
        assert!(err.to_string().contains("no ticket"));
    }
}

#[test]
fn concurrent_writers_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    SqliteTicketStore::open(&path).unwrap();
    let threads: Vec<_> = (0..8)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                // One connection per writer, as separate processes would have.
                let store = SqliteTicketStore::open(&path).unwrap();
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
    let mut ids: Vec<String> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(ids.len(), 200);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "no duplicate ids");
    let store = SqliteTicketStore::open(&path).unwrap();
    let all = store.list(&TicketFilter::default()).unwrap();
    assert_eq!(all.len(), 200, "none lost");
    assert!(all.iter().all(|t| t.transcript.len() == 1));
}

#[test]
fn retention_purge_and_erasure() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteTicketStore::open(&dir.path().join("t.sqlite3")).unwrap();
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

#[test]
fn reopening_an_existing_database_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    let id = SqliteTicketStore::open(&path)
        .unwrap()
        .create(new_ticket(1), "2026-11-28T10:00:00Z")
        .unwrap()
        .id;
    let store = SqliteTicketStore::open(&path).unwrap();
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

#[test]
fn concurrent_handoffs_of_one_customer_give_one_ticket_and_concurrent_claims_one_owner() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.sqlite3");
    SqliteTicketStore::open(&path).unwrap();
    // Separate stores (connections), as separate processes would have.
    let handles: Vec<_> = (0..8)
        .map(|k| {
            let path = path.clone();
            std::thread::spawn(move || {
                let store = SqliteTicketStore::open(&path).unwrap();
                let mut ticket = new_ticket(1);
                ticket.transcript[0].text = format!("double send {k}");
                store.create(ticket, "2026-11-28T10:00:00Z").unwrap().id
            })
        })
        .collect();
    let ids: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one ticket: {ids:?}");
    let store = SqliteTicketStore::open(&path).unwrap();
    let ticket = store.get(&ids[0]).unwrap();
    for k in 0..8 {
        let text = format!("double send {k}");
        assert!(
            ticket.transcript.iter().any(|e| e.text == text),
            "nothing lost: {text}"
        );
    }
    assert_eq!(store.list(&TicketFilter::default()).unwrap().len(), 1);

    let claims: Vec<_> = ["ann", "bob", "cem", "dan", "eve"]
        .into_iter()
        .map(|who| {
            let path = path.clone();
            let id = ids[0].clone();
            std::thread::spawn(move || {
                let store = SqliteTicketStore::open(&path).unwrap();
                (
                    who,
                    store.act(&id, who, &StaffAction::Claim, "2026-11-28T10:05:00Z"),
                )
            })
        })
        .collect();
    let results: Vec<_> = claims.into_iter().map(|h| h.join().unwrap()).collect();
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

#[test]
fn the_outbox_finds_what_was_not_delivered_to_the_tickets_current_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteTicketStore::open(&dir.path().join("t.sqlite3")).unwrap();
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
        conn.execute_batch("DROP TABLE deliveries; PRAGMA user_version = 1;")
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

#[test]
fn a_reply_naming_the_ticket_and_a_turn_of_two_entries_are_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteTicketStore::open(&dir.path().join("t.sqlite3")).unwrap();
    let reply = |id: &str| TranscriptEntry {
        author: Author::Bot,
        text: format!("Your ticket: {id}."),
        at: "2026-11-27T09:00:01Z".into(),
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
        },
        TranscriptEntry {
            author: Author::Bot,
            text: "noted".into(),
            at: "2026-11-27T09:05:00Z".into(),
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

#[test]
fn staff_messages_are_read_alone_and_match_the_transcripts() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteTicketStore::open(&dir.path().join("t.sqlite3")).unwrap();
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
