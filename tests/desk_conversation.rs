//! The desk with an open ticket: a follow-up goes to the ticket, a new question the guidance
//! answers is answered (and noted on the ticket), a resolved ticket is reopened only by a
//! message about it.

use std::path::Path;
use std::sync::Arc;
use switchboard_core::desk::{Desk, Session};
use switchboard_core::plugins::{load_plugins, load_support_model};
use switchboard_core::tickets::{Author, CustomerIdentity, StaffAction, TicketStatus, TicketStore};
use switchboard_core::{Outcome, Router, RouterConfig};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;
use switchboard_tickets::SqliteTicketStore;

fn repo(dir: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

const AT: &str = "2026-11-27T09:00:00Z";

fn desk(dir: &Path) -> (Desk, Arc<SqliteTicketStore>) {
    let store = Arc::new(SqliteTicketStore::open(&dir.join("tickets.sqlite3")).unwrap());
    let kb = KnowledgeBase::build_in_ram(&ingest_roots(&[repo("knowledge")]).sections).unwrap();
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(&repo("plugins"), &support);
    let router = Router::new(kb, plugins, support, RouterConfig::default());
    (Desk::new(router, store.clone(), 72), store)
}

fn session() -> Session {
    session_of("dana", "c1")
}

/// A test customer's session in a conversation of its own.
fn session_of(user: &str, conversation: &str) -> Session {
    Session::new(
        CustomerIdentity {
            adapter: "test".into(),
            user_id: user.into(),
            display_name: user.into(),
        },
        conversation,
    )
}

/// A refund request: it opens a ticket.
fn refund_request(
    desk: &Desk,
    s: &mut Session,
    now: jiff::Timestamp,
) -> switchboard_core::desk::CustomerTurn {
    desk.customer_message(s, "please refund the two licences we cancelled yesterday", now)
        .unwrap()
}

#[test]
fn with_an_open_ticket_a_new_question_is_answered_and_a_follow_up_goes_to_the_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, store) = desk(dir.path());
    let mut s = session();
    let now = AT.parse().unwrap();
    let first = refund_request(&desk, &mut s, now);
    let ticket = first.ticket.expect("a refund request opens a ticket");

    // A new, unrelated question the guidance answers: answered, not swallowed by the ticket.
    let turn = desk
        .customer_message(
            &mut s,
            "what happens to our access if we do not pay an invoice?",
            now,
        )
        .unwrap();
    let decision = turn.decision.expect("routed");
    assert_eq!(decision.outcome, Outcome::Answer, "{:#?}", decision.trace);
    assert!(
        !turn
            .replies
            .iter()
            .any(|r| r.contains("added this to your ticket")),
        "{:?}",
        turn.replies
    );
    // ... and noted on the open ticket, so staff see what else was asked.
    let noted = store.get(&ticket.id).unwrap();
    assert!(noted
        .transcript
        .iter()
        .any(|e| e.author == Author::Customer && e.text.contains("do not pay an invoice")));

    // A new question the guidance may answer gets its suggestions, and is noted too.
    let turn = desk
        .customer_message(&mut s, "how do we change the billing address?", now)
        .unwrap();
    let decision = turn.decision.expect("routed");
    assert_eq!(decision.outcome, Outcome::Suggest, "{:#?}", decision.trace);
    // It may be a detail for the team as well: the customer is told it reached them.
    assert!(
        turn.replies.iter().any(|r| r.contains("renewals-and-terms.md")
            && r.contains(&format!("also added your message to your ticket {}", ticket.id))),
        "{:?}",
        turn.replies
    );
    assert!(store
        .get(&ticket.id)
        .unwrap()
        .transcript
        .iter()
        .any(|e| e.author == Author::Customer && e.text.contains("billing address")));

    // A follow-up about the ticket goes to it.
    let turn = desk
        .customer_message(&mut s, "any news on the refund? it is still not on our card", now)
        .unwrap();
    assert_eq!(
        turn.ticket.as_ref().map(|t| t.id.as_str()),
        Some(ticket.id.as_str())
    );
    assert!(
        turn.replies.iter().any(|r| r.contains(&ticket.id)),
        "{:?}",
        turn.replies
    );
}

/// "How long will that take?" right after a handoff is about the ticket (it was answered from a
/// guidance section about term lengths); without a ticket the same words are an ordinary
/// question, and a follow-up is never a reason to open one.
#[test]
fn a_question_that_only_follows_up_goes_to_the_ticket_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, store) = desk(dir.path());
    let now = AT.parse().unwrap();
    for (user, request, follow_up) in [
        (
            "ed",
            "please refund the two licences we cancelled yesterday",
            "how long will that take?",
        ),
        (
            "eva",
            "Bitte erstattet uns die zwei Lizenzen, die wir gestern gekündigt haben",
            "wie lange dauert das?",
        ),
    ] {
        let mut s = session_of(user, user);
        let ticket = desk
            .customer_message(&mut s, request, now)
            .unwrap()
            .ticket
            .expect("a refund request opens a ticket");
        let turn = desk.customer_message(&mut s, follow_up, now).unwrap();
        assert_eq!(
            turn.ticket.as_ref().map(|t| t.id.as_str()),
            Some(ticket.id.as_str()),
            "{follow_up}: {:?}",
            turn.replies
        );
        assert!(
            turn.replies.iter().any(|r| r.contains(&ticket.id)),
            "{:?}",
            turn.replies
        );
        let stored = store.get(&ticket.id).unwrap();
        assert!(stored.transcript.iter().any(|e| e.text == follow_up));
        // "How long?" is told the time the handoff promised, in the customer's language.
        let lang = stored.language();
        let due = switchboard_core::support::stored_due(
            stored.due.as_deref().expect("a handoff promises a time"),
            &desk.router().support().queue_zone(&stored.queue),
        )
        .expect("the stored due time reads back");
        let by = switchboard_core::support::time_text(&due, lang);
        assert!(
            turn.replies.iter().any(|r| r.contains(&by)),
            "{by}: {:?}",
            turn.replies
        );
        // After that time has passed, the customer is told it is overdue.
        let later = due.timestamp() + jiff::SignedDuration::from_hours(1);
        let turn = desk.customer_message(&mut s, follow_up, later).unwrap();
        assert!(
            turn.replies
                .iter()
                .any(|r| r.contains(&by) && (r.contains("overdue") || r.contains("überfällig"))),
            "{:?}",
            turn.replies
        );

        // Without a ticket, the follow-up intent is not among the classes at all.
        let mut fresh = session_of(&format!("{user}-new"), "c9");
        let turn = desk.customer_message(&mut fresh, follow_up, now).unwrap();
        let decision = turn.decision.expect("routed");
        assert!(
            !decision
                .trace
                .fired
                .iter()
                .any(|f| f.intent == "ticket-follow-up"),
            "{:#?}",
            decision.trace.fired
        );
        assert!(
            decision
                .trace
                .learnt_intents
                .iter()
                .all(|(name, _)| !name.contains("ticket-follow-up")),
            "{:?}",
            decision.trace.learnt_intents
        );
    }
}

#[test]
fn a_resolved_ticket_is_reopened_only_by_a_message_about_it() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, store) = desk(dir.path());
    let mut s = session();
    let now = AT.parse().unwrap();
    let ticket = refund_request(&desk, &mut s, now).ticket.unwrap();
    store.act(&ticket.id, "carol", &StaffAction::Claim, AT).unwrap();
    store.act(&ticket.id, "carol", &StaffAction::Resolve, AT).unwrap();

    let turn = desk.customer_message(&mut s, "Danke, das hilft!", now).unwrap();
    assert_eq!(turn.decision.map(|d| d.outcome), Some(Outcome::Reply));
    assert_eq!(store.get(&ticket.id).unwrap().status, TicketStatus::Resolved);

    let turn = desk
        .customer_message(&mut s, "the refund still hasn't arrived, please check again", now)
        .unwrap();
    assert_eq!(turn.ticket.map(|t| t.id), Some(ticket.id.clone()));
    assert_ne!(store.get(&ticket.id).unwrap().status, TicketStatus::Resolved);
}

#[test]
fn a_purge_period_too_long_to_compute_deletes_nothing_and_huge_windows_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    let (desk, store) = desk(dir.path());
    let mut s = session();
    let now: jiff::Timestamp = AT.parse().unwrap();
    let ticket = refund_request(&desk, &mut s, now).ticket.unwrap();
    store.act(&ticket.id, "carol", &StaffAction::Claim, AT).unwrap();
    store.act(&ticket.id, "carol", &StaffAction::Resolve, AT).unwrap();
    let root = switchboard_core::desk::StaffMember {
        user: "root".into(),
        role: switchboard_core::StaffRole::GlobalAdmin,
    };
    for days in [i64::MAX, i64::MAX / 24, -1, i64::MIN] {
        assert_eq!(desk.purge_resolved(&root, days, now).unwrap(), 0, "{days} days");
    }
    assert!(
        store.get(&ticket.id).is_ok(),
        "the ticket resolved seconds ago is kept"
    );
    // A reopen window of any size neither panics nor loses the message.
    let huge = Desk::new((*desk.router()).clone(), store.clone(), i64::MAX);
    let turn = huge
        .customer_message(&mut session(), "the refund is still missing", now)
        .unwrap();
    assert!(!turn.replies.is_empty());
}
