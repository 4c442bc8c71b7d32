//! `switchboard chat` driven through a pipe, with the staff side in `switchboard tickets`:
//! the end-to-end handoff, a crash right after a handoff (both on SQLite and on PostgreSQL),
//! and hostile input.

#[path = "support/test_postgres.rs"]
mod test_postgres;

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

thread_local! {
    /// The PostgreSQL database of the test running on this thread; `None`: SQLite in the data
    /// directory.
    static DATABASE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `test` with its tickets on a new PostgreSQL database (skipped without a server).
fn on_postgres(name: &str, test: impl FnOnce()) {
    if let Some(url) = test_postgres::fresh_database(name) {
        DATABASE.set(Some(url));
        test();
    }
}

fn command(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    c.arg("--data-dir")
        .arg(data)
        .env_remove("SWITCHBOARD_KNOWLEDGE")
        .env_remove("SWITCHBOARD_PLUGINS");
    match DATABASE.with_borrow(Clone::clone) {
        Some(url) => c.env("SWITCHBOARD_DATABASE_URL", url),
        None => c.env_remove("SWITCHBOARD_DATABASE_URL"),
    };
    c
}

/// A running chat: write lines, wait for output.
struct Chat {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Chat {
    fn start(data: &Path, user: &str) -> Chat {
        Chat::start_with(data, &["--user", user])
    }

    /// A chat with these arguments after `chat`.
    fn start_with(data: &Path, args: &[&str]) -> Chat {
        let mut child = command(data)
            .arg("chat")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Chat {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    fn say(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a line containing `needle`; returns it.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!(
            "`{needle}` never appeared; output so far:\n{}",
            self.seen.join("\n")
        );
    }

    fn finish(mut self) -> std::process::ExitStatus {
        drop(self.stdin.take());
        self.child.wait().unwrap()
    }
}

fn staff(data: &Path, user: &str, role: &str, args: &[&str]) -> Output {
    command(data)
        .args(["tickets", "--as", user, "--role", role])
        .args(args)
        .output()
        .unwrap()
}

fn ticket_json(data: &Path, id: &str) -> serde_json::Value {
    let out = staff(data, "root", "global-admin", &["show", id, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ticket_id(line: &str) -> String {
    let at = line.find("T-").expect("ticket id in line");
    line[at..]
        .chars()
        .take_while(|c| *c == 'T' || *c == '-' || c.is_ascii_digit())
        .collect()
}

#[test]
fn answer_handoff_and_the_staff_workflow_end_to_end() {
    answer_handoff_and_the_staff_workflow();
}

#[test]
fn answer_handoff_and_the_staff_workflow_end_to_end_on_postgres() {
    on_postgres("chat_end_to_end", answer_handoff_and_the_staff_workflow);
}

fn answer_handoff_and_the_staff_workflow() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let mut chat = Chat::start(data, "alice");
    chat.say(b"what happens to our access if we do not pay an invoice?");
    chat.expect("en-us/billing-policy.md#nonpayment");
    chat.say("Wir wurden diesen Monat doppelt abgebucht, 1.234,56 €, bitte erstatten".as_bytes());
    let line = chat.expect("Ihre Ticketnummer: T-");
    let id = ticket_id(&line);
    // The status line stays in the customer's language too.
    chat.expect("Team Abrechnungsteam | jetzt");

    let t = ticket_json(data, &id);
    assert_eq!(t["queue"], "billing");
    assert_eq!(
        t["findings"]["entities"]["amounts"][0]["amount"], "1234.56",
        "exact decimal: {}",
        t["findings"]
    );
    assert_eq!(t["findings"]["entities"]["amounts"][0]["currency"], "EUR");
    assert_eq!(
        t["transcript"].as_array().unwrap().len(),
        4,
        "both turns, both directions, before the handoff"
    );

    // The wrong role is refused, every time.
    let out = staff(data, "sam", "sales-agent", &["claim", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("may not act on queue `billing`"));
    let out = staff(data, "sam", "sales-agent", &["show", &id]);
    assert!(!out.status.success(), "nor may it read the ticket");

    let out = staff(data, "carol", "billing-admin", &["claim", &id]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // A staff action is confirmed in one line, not the whole ticket.
    let confirmed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(confirmed.lines().count(), 1, "{confirmed}");
    assert!(
        confirmed.starts_with(&format!("claimed {id} (claimed, queue billing")),
        "{confirmed}"
    );
    let out = staff(
        data,
        "carol",
        "billing-admin",
        &["reply", &id, "Wir prüfen die doppelte Abbuchung."],
    );
    assert!(out.status.success());
    // The customer writes again and sees the reply; the message joins the same ticket.
    chat.say("gibt es schon etwas Neues?".as_bytes());
    chat.expect("carol (Support-Team): Wir prüfen die doppelte Abbuchung.");
    chat.expect(&format!("Ticket {id}"));
    // The customer's own ticket list speaks the conversation's language, with the team's time.
    chat.say(b"/tickets");
    let listed = chat.expect(&format!("{id}: Abrechnungsteam, in Bearbeitung, eröffnet "));
    assert!(listed.ends_with(" Uhr"), "{listed}");

    let out = staff(
        data,
        "carol",
        "billing-admin",
        &[
            "escalate",
            &id,
            "--microsoft",
            "commercial",
            "--case",
            "2611280010009",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = staff(data, "carol", "billing-admin", &["resolve", &id]);
    assert!(out.status.success());
    let t = ticket_json(data, &id);
    assert_eq!(t["status"], "resolved");
    assert_eq!(t["escalations"][0]["to"], "microsoft-commercial");
    assert_eq!(t["escalations"][0]["case_number"], "2611280010009");
    let actions: Vec<&str> = t["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "opened for queue billing");
    assert!(
        actions.contains(&"claimed") && actions.contains(&"replied") && actions.contains(&"resolved"),
        "{actions:?}"
    );
    assert_eq!(chat.finish().code(), Some(0));
}

#[test]
fn a_handoff_survives_sigkill_right_after_it_is_acknowledged() {
    a_handoff_survives_sigkill();
}

#[test]
fn a_handoff_survives_sigkill_right_after_it_is_acknowledged_on_postgres() {
    on_postgres("chat_sigkill", a_handoff_survives_sigkill);
}

fn a_handoff_survives_sigkill() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let mut chat = Chat::start(data, "bob");
    chat.say(b"hello, how is azure billed?");
    chat.say(b"i was charged twice for my e3 licenses, please refund");
    let line = chat.expect("Your ticket: T-");
    let id = ticket_id(&line);
    // SIGKILL: no destructors, no flushing.
    chat.child.kill().unwrap();
    chat.child.wait().unwrap();
    let t = ticket_json(data, &id);
    let texts: Vec<&str> = t["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts[0], "hello, how is azure billed?");
    assert_eq!(texts[2], "i was charged twice for my e3 licenses, please refund");
    assert!(
        texts[3].contains(&id),
        "the acknowledgement is in the transcript too"
    );
    // After a restart the customer continues in the same ticket.
    let mut chat = Chat::start(data, "bob");
    chat.say(b"any update?");
    chat.expect(&format!("ticket {id}"));
    chat.finish();
}

#[test]
fn hostile_input_gets_clear_messages_and_the_chat_keeps_serving() {
    let data = tempfile::tempdir().unwrap();
    let mut chat = Chat::start(data.path(), "mallory");
    chat.say(&vec![b'a'; 1024 * 1024]);
    chat.expect("Your message is too long (1048576 bytes");
    chat.say(b"\x1b[31mred\x07 \x00what happens if we do not pay an invoice?");
    chat.expect("billing-policy.md#nonpayment");
    chat.say(b"where do I find my invoice \xff\xfe date?");
    chat.expect("not valid UTF-8");
    chat.say(b"my card is 4111 1111 1111 1111, exp 12/27, CVV 9173, please refund the double charge");
    chat.expect("Please do not post card numbers, security codes, passwords, access keys or IBANs");
    let id = ticket_id(&chat.expect("Your ticket: T-"));
    chat.say(b"/tickets");
    chat.expect(&format!("{id}: billing team, open, opened "));
    // Told in words, and pasted without a name: neither reaches the ticket.
    chat.say(b"the password for admin@contoso.com is Winter2026! and the app uses xYz8Q~Kd81LmQpR3vT6wN0bZcF4hJ2sA9eU7gY5i");
    chat.expect("I have added this to your ticket");
    assert_eq!(chat.finish().code(), Some(0));
    let t = ticket_json(data.path(), &id);
    let stored = t.to_string();
    // The number in any spacing (not a digit run alone: timestamps and scores hold "4111" by
    // chance).
    assert!(
        !stored.contains("4111 1111") && !stored.replace(' ', "").contains("4111111111111111"),
        "the card number never reached the database"
    );
    assert!(stored.contains("[card number removed]"));
    assert!(
        !stored.contains("CVV 9173"),
        "the security code never reached the database"
    );
    assert!(stored.contains("[security code removed]"));
    assert!(
        !stored.contains("Winter2026") && !stored.contains("Kd81LmQpR3vT6wN0bZcF4hJ2sA9eU7gY5i"),
        "the password and the key never reached the database"
    );
    assert!(stored.contains("admin@contoso.com is [secret removed]"));
}

#[test]
fn staff_commands_report_unknown_tickets_and_missing_roles() {
    let data = tempfile::tempdir().unwrap();
    let out = staff(data.path(), "carol", "billing-admin", &["show", "T-4711"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ticket `T-4711`"));
    let out = staff(data.path(), "carol", "cfo", &["list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role `cfo`"));
    let out = command(data.path()).args(["tickets", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as USER and --role ROLE"));
    let out = staff(
        data.path(),
        "carol",
        "billing-admin",
        &["erase", "terminal:alice"],
    );
    assert!(!out.status.success(), "only global admins erase");
}

#[test]
fn escape_sequences_and_bidi_controls_reach_staff_inert() {
    let data = tempfile::tempdir().unwrap();
    let name = "Eve\u{1b}[2J\u{1b}]0;pwned\u{7}";
    let mut chat = Chat::start_with(data.path(), &["--user", "eve", "--name", name]);
    chat.say("please refund invoice INV-\u{202e}0001 we paid \u{1b}[31m twice".as_bytes());
    let line = chat.expect("T-");
    let id = ticket_id(&line);
    assert!(chat.finish().success());
    for args in [&["show", id.as_str()][..], &["list"][..]] {
        let out = staff(data.path(), "root", "global-admin", args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text
                .chars()
                .any(|c| c == '\u{1b}' || c == '\u{7}' || ('\u{202a}'..='\u{202e}').contains(&c)),
            "{args:?}: {text:?}"
        );
        assert!(text.contains("<U+001B>"), "{args:?}: shown, not obeyed: {text}");
        if args == ["list"] {
            // For people: the customer's id beside the name, the time in the queue's zone to
            // the minute (it was UTC to the nanosecond).
            assert!(text.contains("(terminal:eve)"), "{text}");
            assert!(
                text.contains("opened ") && (text.contains(" CET") || text.contains(" CEST")),
                "{text}"
            );
        }
    }
}

#[test]
fn a_held_ticket_is_taken_over_only_on_purpose_and_staff_errors_are_consistent() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let mut chat = Chat::start(data, "bob");
    chat.say("Wir wurden diesen Monat doppelt abgebucht, 1.234,56 €, bitte erstatten".as_bytes());
    let id = ticket_id(&chat.expect("Ihre Ticketnummer: T-"));
    assert_eq!(chat.finish().code(), Some(0));
    let ok = |out: &Output| {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    ok(&staff(data, "carol", "billing-admin", &["claim", &id]));
    // Another staff member neither claims nor works a ticket carol holds...
    for args in [
        vec!["claim", id.as_str()],
        vec!["reply", id.as_str(), "hello"],
        vec!["resolve", id.as_str()],
    ] {
        let out = staff(data, "root", "global-admin", &args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("carol"),
            "says who holds it: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // ...until taking it over, which is audited; then carol is the one refused.
    let out = staff(data, "root", "global-admin", &["claim", &id, "--take-over"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("took over {id}")));
    let out = staff(data, "carol", "billing-admin", &["reply", &id, "still mine?"]);
    assert_eq!(out.status.code(), Some(3));
    let t = ticket_json(data, &id);
    assert_eq!(t["assignee"], "root");
    assert!(t["audit"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action"] == "took over from carol"));
    // Usage errors name what is accepted (exit 2); refusals exit 3 for every command.
    let out = staff(
        data,
        "root",
        "global-admin",
        &["escalate", &id, "--microsoft", "premier", "--case", "1"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`commercial`") && err.contains("`technical`"),
        "{err}"
    );
    let out = staff(
        data,
        "root",
        "global-admin",
        &["escalate", &id, "--microsoft", "commercial"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--case-pending"));
    ok(&staff(
        data,
        "root",
        "global-admin",
        &["escalate", &id, "--microsoft", "commercial", "--case-pending"],
    ));
    let out = staff(data, "carol", "billing-admin", &["export", "terminal:bob"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only a global admin may export"));
    // `show` is for people: times to the minute in the queue's zone, escalations in words.
    let out = staff(data, "root", "global-admin", &["show", &id]);
    ok(&out);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("escalated to Microsoft commercial support"),
        "{shown}"
    );
    assert!(!shown.contains("\"to\"") && !shown.contains("Z]"), "{shown}");
    assert!(shown.contains(" CET]") || shown.contains(" CEST]"), "{shown}");
    // A bare user id is not a customer id: said so, not a silent empty list.
    let out = staff(data, "root", "global-admin", &["export", "bob"]);
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("terminal:bob"));
}

#[test]
fn a_staff_reply_reaches_an_idle_customer_without_a_keypress() {
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let mut chat = Chat::start(data, "erin");
    chat.say("please call me back, I want to talk to a person".as_bytes());
    let id = ticket_id(&chat.expect("T-"));
    let queue = ticket_json(data, &id)["queue"].as_str().unwrap().to_string();
    let role = if queue == "helpdesk" {
        "helpdesk-agent"
    } else {
        "global-admin"
    };
    for args in [
        vec!["claim", id.as_str()],
        vec!["reply", id.as_str(), "Calling you in five minutes."],
    ] {
        let out = staff(data, "hana", role, &args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // The customer types nothing more: the reply still appears.
    let started = Instant::now();
    chat.expect("hana (staff): Calling you in five minutes.");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(chat.finish().code(), Some(0));
}

/// `tickets migrate` moves a data directory's tickets to PostgreSQL, where staff then work them
/// with `--database-url`; a second run into the same database is refused.
#[test]
fn tickets_migrate_moves_the_data_directory_to_postgres() {
    let Some(url) = test_postgres::fresh_database("cli_migrate") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let data = data.path();
    let mut chat = Chat::start(data, "dora");
    chat.say(b"we were charged twice this month, 1,234.56 EUR, please refund it");
    let id = ticket_id(&chat.expect("Your ticket: T-"));
    chat.finish();
    let before = ticket_json(data, &id);

    let from = format!("sqlite:{}", data.join("tickets.sqlite3").display());
    let migrate = |extra: &[&str]| {
        command(data)
            .args(["tickets", "migrate", "--from", &from, "--to", &url])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = migrate(&["--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["tickets"], 1);
    assert_eq!(report["source_checksum"], report["target_checksum"]);

    DATABASE.set(Some(url.clone()));
    assert_eq!(
        ticket_json(data, &id),
        before,
        "the same ticket, read from PostgreSQL"
    );
    let out = migrate(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already holds 1 tickets"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = command(data)
        .args(["tickets", "migrate", "--from", "tickets.sqlite3", "--to", &url])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--from must be sqlite:PATH"));
}
