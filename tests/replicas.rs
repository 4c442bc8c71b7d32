//! Two `serve --http` processes on one PostgreSQL database: 1,000 customer conversations
//! spread over both (each request to either replica), one replica killed with SIGKILL and
//! restarted in the middle; a request that fails is sent again, with its id, to the other.
//! Afterwards the database holds one ticket per conversation, and each message once, and a
//! staff reply given through one replica reaches the customer's live stream on the other.
//! Skipped without a PostgreSQL server (see `support/test_postgres.rs`), failing in CI.

#[path = "support/test_postgres.rs"]
mod test_postgres;

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CONVERSATIONS: usize = 1_000;
const WORKERS: usize = 50;
const STAFF_TOKEN: &str = "replica-test-staff-token-0123456789abcdef";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request on a new connection: the status and the JSON body, or `None` when the
/// connection failed or broke (the replica is down or died mid-request).
fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, serde_json::Value)> {
    http_as(port, method, path, body, "")
}

/// As [`http`], with extra header lines (each ending in `\r\n`).
fn http_as(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    headers: &str,
) -> Option<(u16, serde_json::Value)> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let (_, json) = answer.split_once("\r\n\r\n")?;
    // Not JSON (`/readyz` answers in words): the status alone.
    Some((status, serde_json::from_str(json).unwrap_or_default()))
}

/// Sends until a replica answers with success: first to `first`, then alternating; a failed
/// request (refused, broken, 5xx) goes again, unchanged, to the other replica.
fn send(
    ports: [u16; 2],
    first: usize,
    method: &str,
    path: &str,
    body: &str,
    retries: &AtomicUsize,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    let mut which = first;
    loop {
        match http(ports[which % 2], method, path, body) {
            Some((status, json)) if status < 300 => return json,
            Some((status, json)) if status < 500 => panic!("{method} {path}: {status} {json}"),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "{method} {path}: no replica answered for two minutes"
        );
        retries.fetch_add(1, Ordering::Relaxed);
        which += 1;
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The ticket a turn's last event names.
fn ticket_named(turn: &serde_json::Value) -> Option<String> {
    let last = turn["events"].as_array()?.last()?;
    if let Some(id) = last["ticket"]["id"].as_str() {
        return Some(id.to_string());
    }
    let text = last["text"].as_str()?;
    let at = text.find("T-")?;
    Some(
        text[at..]
            .chars()
            .take_while(|c| *c == 'T' || *c == '-' || c.is_ascii_digit())
            .collect(),
    )
}

struct Replica {
    port: u16,
    data: tempfile::TempDir,
    child: Child,
}

fn start(port: u16, data: tempfile::TempDir, database: &str, config: &std::path::Path) -> Replica {
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["serve", "--http", &format!("127.0.0.1:{port}"), "--web-config"])
        .arg(config)
        .env("SWITCHBOARD_DATABASE_URL", database)
        // One key for both: a conversation's token is good on either replica.
        .env("SWITCHBOARD_WEB_SECRET", "7".repeat(64))
        .env("SWITCHBOARD_TEST_STAFF_TOKEN", STAFF_TOKEN)
        .env_remove("DISCORD_TOKEN")
        .env_remove("SWITCHBOARD_KNOWLEDGE")
        .env_remove("SWITCHBOARD_PLUGINS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Replica { port, data, child }
}

fn wait_ready(replica: &mut Replica) {
    let deadline = Instant::now() + Duration::from_mins(3);
    while http(replica.port, "GET", "/readyz", "").is_none_or(|(status, _)| status != 200) {
        assert!(
            Instant::now() < deadline,
            "replica on {} did not become ready",
            replica.port
        );
        assert!(
            replica.child.try_wait().unwrap().is_none(),
            "replica on {} exited",
            replica.port
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn two_replicas_one_killed_and_restarted_lose_and_duplicate_nothing() {
    let Some(database) = test_postgres::fresh_database("two_replicas") else {
        return;
    };
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("web.toml");
    // Every conversation comes from this one address: per-client limits out of the way.
    std::fs::write(
        &config,
        "[limits]\nrequests_per_minute_per_client = 1000000\nmessages_per_minute_per_conversation = 1000\n\n\
         [[staff]]\nuser = \"replica-test\"\nroles = [\"global-admin\"]\ntoken_env = \"SWITCHBOARD_TEST_STAFF_TOKEN\"\n",
    )
    .unwrap();
    let mut replicas = [
        start(free_port(), tempfile::tempdir().unwrap(), &database, &config),
        start(free_port(), tempfile::tempdir().unwrap(), &database, &config),
    ];
    for replica in &mut replicas {
        wait_ready(replica);
    }
    let ports = [replicas[0].port, replicas[1].port];
    let done = AtomicUsize::new(0);
    let retries = AtomicUsize::new(0);
    let total = CONVERSATIONS * 4;
    let tickets: Vec<(usize, String, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (done, retries) = (&done, &retries);
                scope.spawn(move || {
                    let mine: Vec<usize> = (w..CONVERSATIONS).step_by(WORKERS).collect();
                    // Round by round, so every conversation is open at once; each request to
                    // the replica its turn names.
                    let tokens: Vec<String> = mine
                        .iter()
                        .map(|&i| {
                            let started = send(ports, i, "POST", "/api/v1/conversations", &format!("{{\"name\":\"Kunde {i}\",\"language\":\"de\"}}"), retries);
                            done.fetch_add(1, Ordering::Relaxed);
                            started["token"].as_str().unwrap().to_string()
                        })
                        .collect();
                    // A question answered from the guidance, before there is a ticket.
                    for (&i, token) in mine.iter().zip(&tokens) {
                        let body = format!("{{\"text\":\"Wer stellt uns die Rechnung aus? Kunde {i}\",\"id\":\"question-{i}\"}}");
                        send(ports, i + 1, "POST", &format!("/api/v1/conversations/{token}/messages"), &body, retries);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    let ids: Vec<String> = mine
                        .iter()
                        .zip(&tokens)
                        .map(|(&i, token)| {
                            let body = format!("{{\"text\":\"Ich möchte mit einem Menschen sprechen, Kunde {i}\",\"id\":\"handoff-{i}\"}}");
                            let turn = send(ports, i, "POST", &format!("/api/v1/conversations/{token}/messages"), &body, retries);
                            done.fetch_add(1, Ordering::Relaxed);
                            // A handoff names its ticket; so does the answer to a handoff sent
                            // again after its first answer was lost ("added to your ticket").
                            ticket_named(&turn).unwrap_or_else(|| panic!("conversation {i} got no ticket: {turn}"))
                        })
                        .collect();
                    mine.iter()
                        .zip(&tokens)
                        .zip(ids)
                        .map(|((&i, token), id)| {
                            let body = format!("{{\"text\":\"Gibt es schon etwas Neues? Kunde {i}\",\"id\":\"follow-up-{i}\"}}");
                            send(ports, i + 1, "POST", &format!("/api/v1/conversations/{token}/messages"), &body, retries);
                            done.fetch_add(1, Ordering::Relaxed);
                            (i, token.clone(), id)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A third of the way in, the first replica dies without a word and comes back.
        while done.load(Ordering::Relaxed) < total / 3 {
            std::thread::sleep(Duration::from_millis(10));
        }
        replicas[0].child.kill().unwrap();
        replicas[0].child.wait().unwrap();
        let data = std::mem::replace(&mut replicas[0].data, tempfile::tempdir().unwrap());
        replicas[0] = start(ports[0], data, &database, &config);
        wait_ready(&mut replicas[0]);
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    // A staff reply given through one replica reaches the customer's live stream on the other.
    let bearer = format!("Authorization: Bearer {STAFF_TOKEN}\r\n");
    for (i, token, id) in tickets.iter().take(5) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", ports[1])).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        write!(
            stream,
            "GET /api/v1/conversations/{token}/events HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        .unwrap();
        for (action, body) in [
            ("claim", "{}".to_string()),
            ("reply", format!("{{\"text\":\"Antwort an Kunde {i}\"}}")),
        ] {
            let answer = http_as(
                ports[0],
                "POST",
                &format!("/api/v1/tickets/{id}/{action}"),
                &body,
                &bearer,
            );
            assert!(
                answer.as_ref().is_some_and(|(status, _)| *status == 200),
                "{action} {id}: {answer:?}"
            );
        }
        let wanted = format!("Antwort an Kunde {i}");
        let mut seen = String::new();
        let mut buffer = [0u8; 4096];
        while !seen.contains(&wanted) {
            let n = stream
                .read(&mut buffer)
                .expect("the reply within 15 s on the other replica");
            assert!(n > 0, "the stream ended without the reply: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }
    for replica in &mut replicas {
        replica.child.kill().unwrap();
        replica.child.wait().unwrap();
    }
    assert_eq!(tickets.len(), CONVERSATIONS);
    eprintln!(
        "{CONVERSATIONS} conversations, {total} requests, {} sent again after a failure",
        retries.load(Ordering::Relaxed)
    );
    assert!(
        retries.load(Ordering::Relaxed) > 0,
        "the kill interrupted nothing: the test proves nothing"
    );

    let mut db = postgres::Client::connect(&database, postgres::NoTls).unwrap();
    let count: i64 = db.query_one("SELECT COUNT(*) FROM tickets", &[]).unwrap().get(0);
    assert_eq!(
        count,
        i64::try_from(CONVERSATIONS).unwrap(),
        "one ticket per conversation"
    );
    let customers: i64 = db
        .query_one("SELECT COUNT(DISTINCT customer_id) FROM tickets", &[])
        .unwrap()
        .get(0);
    assert_eq!(customers, i64::try_from(CONVERSATIONS).unwrap());
    let rows = db
        .query(
            "SELECT 'T-' || t.seq, t.display_name,
                    COUNT(*) FILTER (WHERE x.client_id LIKE 'question-%'),
                    COUNT(*) FILTER (WHERE x.client_id LIKE 'handoff-%'),
                    COUNT(*) FILTER (WHERE x.client_id LIKE 'follow-up-%'),
                    COUNT(*) FILTER (WHERE x.author = 'customer')
             FROM tickets t JOIN transcript x ON x.ticket = t.seq GROUP BY t.seq, t.display_name",
            &[],
        )
        .unwrap();
    let by_ticket: std::collections::HashMap<String, (String, [i64; 4])> = rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), [r.get(2), r.get(3), r.get(4), r.get(5)])))
        .collect();
    for (i, _token, id) in &tickets {
        let (name, [questions, handoffs, follow_ups, customer_lines]) = by_ticket
            .get(id)
            .unwrap_or_else(|| panic!("conversation {i}: ticket {id} is not in the database"));
        // Started on one replica, asked on the other, handed off on the first: the name and
        // the question before the ticket are in it, whichever replica served what.
        assert_eq!(name, &format!("Kunde {i}"), "{id}");
        assert_eq!(
            *questions, 1,
            "conversation {i}, {id}: the question before the handoff, once"
        );
        assert_eq!(
            (*handoffs, *follow_ups, *customer_lines),
            (1, 1, 3),
            "conversation {i}, {id}: each message once"
        );
    }
}
