//! Customer conversations of the web chat: unguessable tokens, the events a page shows, and
//! the desk turn behind each message.
//!
//! A token is `<id>.<mac>`: a random id and its keyed BLAKE3 hash under the server's secret, so
//! a token survives a restart (the conversation is rebuilt from its tickets) and a forged or
//! guessed one is refused without a lookup. The customer id on tickets is `web:<id>`; the
//! token itself is stored nowhere.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use switchboard_core::desk::{CustomerTurn, Desk, Session};
use switchboard_core::tickets::{Author, CustomerIdentity, TicketError, TranscriptEntry};
use switchboard_core::Outcome;
use switchboard_knowledge::Language;
use tokio::sync::watch;

/// The adapter name on web tickets.
pub const ADAPTER: &str = "web";

/// Who wrote an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventAuthor {
    /// The customer.
    Customer,
    /// The bot's answer, suggestion, handoff or decline.
    Bot,
    /// A staff member.
    Staff,
    /// A note from the desk (a secret removed, a message added to a ticket).
    Notice,
}

/// A guidance section an answer cites, with the page that shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CitedSection {
    /// `path#anchor`.
    pub citation: String,
    /// Document title.
    pub title: String,
    /// Section heading.
    pub heading: String,
    /// Where the section can be read: the guidance's own link, else this server's `/kb/` page.
    pub href: String,
}

/// What the customer is told about a handoff.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TicketNotice {
    /// Ticket id.
    pub id: String,
    /// Queue id.
    pub queue: String,
    /// Queue name.
    pub queue_name: String,
    /// Service hours.
    pub hours: String,
    /// Whether the queue is staffed now.
    pub open_now: bool,
    /// The next opening when it is not.
    pub next_open: Option<String>,
    /// How to reach the team.
    pub contact: String,
    /// The price, where support is charged.
    pub price: Option<String>,
}

/// One thing shown in the chat.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChatEvent {
    /// Position in the conversation, from 1.
    pub id: u64,
    /// Who wrote it.
    pub author: EventAuthor,
    /// The text (never HTML: pages show it as text).
    pub text: String,
    /// When (RFC 3339).
    pub at: String,
    /// The staff member's name, for staff messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// The decision's outcome, for bot messages: answer, suggest, handoff, decline or reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub outcome: Option<Outcome>,
    /// Sections the message cites.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub citations: Vec<CitedSection>,
    /// The ticket a handoff opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketNotice>,
    /// Show "Helpful? yes / no".
    pub asks_feedback: bool,
    /// Show "Talk to a person".
    pub offers_human: bool,
}

impl ChatEvent {
    fn plain(author: EventAuthor, text: String, at: String) -> Self {
        ChatEvent {
            id: 0,
            author,
            text,
            at,
            staff: None,
            outcome: None,
            citations: Vec::new(),
            ticket: None,
            asks_feedback: false,
            offers_human: false,
        }
    }
}

struct State {
    session: Session,
    events: Vec<ChatEvent>,
    /// A ticket of this customer exists (only their own turns make one): until then no staff
    /// message can come, and live connections do not ask the store.
    has_ticket: bool,
    /// The last turns sent with the sender's id and what they added: a send repeated to this
    /// process (a retry after a lost response) gets the same events back instead of a second
    /// turn. Repeats to another process are caught by the ticket store.
    recent_sends: std::collections::VecDeque<(String, Vec<ChatEvent>)>,
}

/// How many identified sends a conversation remembers.
const RECENT_SENDS: usize = 16;

impl State {
    fn push(&mut self, mut event: ChatEvent) {
        event.id = self.events.len() as u64 + 1;
        self.events.push(event);
    }
}

/// What a store shared by several processes keeps of a conversation that has no ticket yet,
/// so its next message may reach any of them: the name given at the start, the language, and
/// the conversation so far (which goes into the ticket on a handoff).
#[derive(Serialize, serde::Deserialize)]
struct SharedConversation {
    name: String,
    language: Option<Language>,
    transcript: Vec<TranscriptEntry>,
}

impl SharedConversation {
    fn of(session: &Session) -> Self {
        SharedConversation {
            name: session.customer.display_name.clone(),
            language: session.language_hint,
            transcript: session.transcript.clone(),
        }
    }

    /// Keeps the conversation in a shared store (nothing for a store only this process uses).
    fn save(session: &Session, desk: &Desk) -> Result<(), TicketError> {
        if !desk.store().shared() {
            return Ok(());
        }
        let state = serde_json::to_string(&Self::of(session)).expect("a conversation serialises");
        desk.store().save_conversation(
            &session.customer.customer_id(),
            &state,
            &jiff::Timestamp::now().to_string(),
        )
    }
}

/// One customer conversation.
pub struct Conversation {
    id: String,
    state: Mutex<State>,
    changed: watch::Sender<u64>,
    last_active: AtomicI64,
}

impl Conversation {
    /// The conversation id (the customer id on tickets is `web:<id>`).
    pub fn id(&self) -> &str {
        &self.id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The events after `after` (0 for all).
    pub fn events_after(&self, after: u64) -> Vec<ChatEvent> {
        let state = self.lock();
        state
            .events
            .iter()
            .skip(usize::try_from(after).unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Whether the conversation has a ticket (then the tickets hold it, for every process).
    pub fn has_ticket(&self) -> bool {
        self.lock().has_ticket
    }

    /// The conversation's language so far.
    pub fn language(&self) -> Option<Language> {
        let state = self.lock();
        state.session.context.language.or(state.session.language_hint)
    }

    /// Wakes when events are added (the value is the number of events).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn touch(&self) {
        self.last_active
            .store(jiff::Timestamp::now().as_second(), Ordering::Relaxed);
    }

    /// One customer message through the desk. Turns of one conversation run one at a time
    /// (the state's lock is held for the whole turn). Returns the events it added.
    pub fn message(
        &self,
        desk: &Desk,
        text: &str,
        send_id: Option<&str>,
        language: Option<Language>,
        now: jiff::Timestamp,
    ) -> Result<Vec<ChatEvent>, TicketError> {
        self.touch();
        let mut state = self.lock();
        if let Some(sent) = send_id {
            if let Some((_, events)) = state.recent_sends.iter().find(|(id, _)| id == sent) {
                return Ok(events.clone());
            }
        }
        Self::catch_up(&mut state, desk)?;
        // Only another process can have answered it: this one remembers its own sends above.
        if let Some(sent) = send_id.filter(|_| desk.store().shared()) {
            // Answered by another process sharing the store (this send is a retry after its
            // answer was lost): that answer again, not a second turn.
            let transcript = &state.session.transcript;
            if let Some(at) = transcript.iter().position(|e| e.id.as_deref() == Some(sent)) {
                let answered = std::iter::once(&transcript[at])
                    .chain(
                        transcript[at + 1..]
                            .iter()
                            .take_while(|e| e.author != Author::Customer),
                    )
                    .map(event_of_entry)
                    .collect();
                return Ok(answered);
            }
        }
        if language.is_some() {
            state.session.language_hint = language;
        }
        let before = state.events.len();
        let transcript_before = state.session.transcript.len();
        let turn = desk.customer_message_with_id(&mut state.session, text, send_id, now)?;
        state.has_ticket |= turn.ticket.is_some();
        let at = now.to_string();
        // The customer's words as the desk kept them (card numbers and IBANs removed).
        let kept = state.session.transcript[transcript_before..]
            .iter()
            .find(|e| e.author == Author::Customer)
            .map(|e| e.text.clone());
        if let Some(kept) = kept {
            state.push(ChatEvent::plain(EventAuthor::Customer, kept, at.clone()));
        }
        for event in turn_events(&turn, &at) {
            state.push(event);
        }
        if !state.has_ticket {
            // The turn is done and answered; a store that cannot keep it now only means the
            // next message should come back to this replica.
            if let Err(e) = SharedConversation::save(&state.session, desk) {
                tracing::warn!(error = %e, "a conversation could not be kept in the shared store");
            }
        }
        let added = state.events[before..].to_vec();
        if let Some(sent) = send_id {
            if state.recent_sends.len() == RECENT_SENDS {
                state.recent_sends.pop_front();
            }
            state.recent_sends.push_back((sent.to_string(), added.clone()));
        }
        self.changed.send_replace(state.events.len() as u64);
        Ok(added)
    }

    /// Before a turn of a conversation without a ticket in a store several processes share:
    /// takes up what other processes added to it since (its messages may reach any of them).
    fn catch_up(state: &mut State, desk: &Desk) -> Result<(), TicketError> {
        if state.has_ticket || !desk.store().shared() {
            return Ok(());
        }
        let kept = desk
            .store()
            .conversation(&state.session.customer.customer_id())?
            .and_then(|kept| serde_json::from_str::<SharedConversation>(&kept).ok());
        if let Some(kept) = kept.filter(|k| k.transcript.len() > state.session.transcript.len()) {
            state.events.clear();
            for entry in &kept.transcript {
                state.push(event_of_entry(entry));
            }
            state.session.customer.display_name = kept.name;
            state.session.language_hint = state.session.language_hint.or(kept.language);
            state.session.transcript = kept.transcript;
        }
        Ok(())
    }

    /// Adds staff messages written since the last look (from this server, another process or
    /// another channel); wakes the live connections when there are any.
    pub fn refresh(&self, desk: &Desk) -> Result<usize, TicketError> {
        let mut state = self.lock();
        // In a store several processes share, another one may have made the ticket.
        if !state.has_ticket && !desk.store().shared() {
            return Ok(0);
        }
        let new = desk.new_staff_messages(&mut state.session)?;
        let count = new.len();
        state.has_ticket |= count > 0;
        for (_ticket, entry) in new {
            let staff = match &entry.author {
                Author::Staff { user } => Some(user.clone()),
                _ => None,
            };
            let mut event = ChatEvent::plain(EventAuthor::Staff, entry.text, entry.at);
            event.staff = staff;
            state.push(event);
        }
        if count > 0 {
            self.changed.send_replace(state.events.len() as u64);
        }
        Ok(count)
    }
}

/// Events of one desk turn: notices first, then the bot's reply with its citations, buttons
/// and ticket.
fn turn_events(turn: &CustomerTurn, at: &str) -> Vec<ChatEvent> {
    let mut events = Vec::new();
    let Some(decision) = &turn.decision else {
        // Refused (too long, empty) or added to an open ticket: notices only.
        for reply in &turn.replies {
            events.push(ChatEvent::plain(EventAuthor::Notice, reply.clone(), at.into()));
        }
        return events;
    };
    let (notices, _reply) = turn.replies.split_at(turn.replies.len().saturating_sub(1));
    for notice in notices {
        events.push(ChatEvent::plain(EventAuthor::Notice, notice.clone(), at.into()));
    }
    let text = match (&turn.ticket, decision.outcome) {
        // The ticket's number was added to the reply by the desk: keep it.
        (Some(_), _) => turn.replies.last().cloned().unwrap_or_default(),
        // The page asks "Helpful?" with buttons; the question is not repeated in the text.
        _ => decision.reply_without_feedback_question().to_string(),
    };
    let mut event = ChatEvent::plain(EventAuthor::Bot, text, at.into());
    event.outcome = Some(decision.outcome);
    event.asks_feedback = decision.asks_feedback;
    event.offers_human = decision.offers_human;
    // A handoff's suggested sections are for staff (the ticket's findings), not the customer.
    event.citations = decision
        .citations
        .iter()
        .map(|c| CitedSection {
            citation: c.citation.clone(),
            title: c.title.clone(),
            heading: c.heading.clone(),
            href: c.link.clone().unwrap_or_else(|| section_href(&c.citation)),
        })
        .collect();
    if let (Some(ticket), Some(handoff)) = (&turn.ticket, &decision.handoff) {
        event.ticket = Some(TicketNotice {
            id: ticket.id.clone(),
            queue: handoff.queue.clone(),
            queue_name: handoff.queue_name.clone(),
            hours: handoff.hours.clone(),
            open_now: handoff.open_now,
            next_open: handoff.next_open.clone(),
            contact: handoff.contact.clone(),
            price: handoff.price.clone(),
        });
    }
    events.push(event);
    events
}

/// This server's page of a guidance section (`#` encoded: it is part of the citation, not a
/// fragment).
pub fn section_href(citation: &str) -> String {
    format!("/kb/{}", citation.replace('%', "%25").replace('#', "%23"))
}

/// All conversations of this server, and the key their tokens are signed with.
pub struct Conversations {
    key: [u8; 32],
    max: usize,
    live: Mutex<HashMap<String, Arc<Conversation>>>,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the operating system's random source works");
    buf.iter().fold(String::with_capacity(bytes * 2), |mut hex, b| {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// A new unguessable token (128 random bits).
pub(crate) fn new_secret() -> String {
    random_hex(16)
}

impl Conversations {
    /// Conversations with tokens signed by `key`, at most `max` kept in memory.
    pub fn new(key: [u8; 32], max: usize) -> Self {
        Conversations {
            key,
            max: max.max(1),
            live: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, id: &str) -> blake3::Hash {
        blake3::keyed_hash(&self.key, id.as_bytes())
    }

    fn token_of(&self, id: &str) -> String {
        format!("{id}.{}", self.mac(id).to_hex())
    }

    /// The conversation id a token names, if the token was made by this server.
    fn verify(&self, token: &str) -> Option<String> {
        let (id, mac) = token.split_once('.')?;
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let given = blake3::Hash::from_hex(mac).ok()?;
        // `blake3::Hash` compares in constant time.
        (given == self.mac(id)).then(|| id.to_string())
    }

    /// Starts a conversation; returns its token and the conversation.
    pub fn start(&self, name: Option<&str>, language: Option<Language>) -> (String, Arc<Conversation>) {
        let id = random_hex(16);
        let display_name = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            // A name is the customer's words too: no card number or IBAN reaches a ticket.
            .map_or_else(
                || "web visitor".to_string(),
                |n| switchboard_core::redact::redact(&n.chars().take(80).collect::<String>()).text,
            );
        let mut session = Session::new(
            CustomerIdentity {
                adapter: ADAPTER.into(),
                user_id: id.clone(),
                display_name,
            },
            id.clone(),
        );
        session.language_hint = language;
        let conversation = self.insert(&id, session, Vec::new());
        (self.token_of(&id), conversation)
    }

    /// Keeps a new conversation (its name and language) where several processes share the
    /// store, so its first message may reach any of them.
    pub fn share(&self, conversation: &Conversation, desk: &Desk) -> Result<(), TicketError> {
        SharedConversation::save(&conversation.lock().session, desk)
    }

    fn insert(&self, id: &str, session: Session, events: Vec<ChatEvent>) -> Arc<Conversation> {
        let count = events.len() as u64;
        let conversation = Arc::new(Conversation {
            id: id.to_string(),
            state: Mutex::new(State {
                has_ticket: !session.staff_seen.is_empty(),
                session,
                events,
                recent_sends: std::collections::VecDeque::new(),
            }),
            changed: watch::Sender::new(count),
            last_active: AtomicI64::new(jiff::Timestamp::now().as_second()),
        });
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if live.len() >= self.max && !live.contains_key(id) {
            // Full: the longest idle conversation leaves memory (its tickets stay).
            if let Some(idle) = live
                .iter()
                .min_by_key(|(_, c)| c.last_active.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone())
            {
                live.remove(&idle);
            }
        }
        Arc::clone(live.entry(id.to_string()).or_insert(conversation))
    }

    /// The conversation of a token; one not in memory (after a restart, or dropped when memory
    /// was full) is rebuilt from its tickets. `None` for a token this server did not make.
    pub fn get(&self, token: &str, desk: &Desk) -> Result<Option<Arc<Conversation>>, TicketError> {
        if let Some(found) = self.live(token) {
            return Ok(Some(found));
        }
        let Some(id) = self.verify(token) else {
            return Ok(None);
        };
        let customer = CustomerIdentity {
            adapter: ADAPTER.into(),
            user_id: id.clone(),
            display_name: "web visitor".into(),
        };
        let mut tickets = desk.customer_tickets(&customer)?;
        tickets.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        let shared = if tickets.is_empty() && desk.store().shared() {
            desk.store()
                .conversation(&customer.customer_id())?
                .and_then(|state| serde_json::from_str::<SharedConversation>(&state).ok())
        } else {
            None
        };
        let identity = tickets.first().map_or(customer, |t| t.customer.clone());
        let mut session = Session::new(identity, id.clone());
        let mut events: Vec<ChatEvent> = Vec::new();
        if let Some(kept) = shared {
            session.customer.display_name = kept.name;
            session.language_hint = kept.language;
            for entry in &kept.transcript {
                let mut event = event_of_entry(entry);
                event.id = events.len() as u64 + 1;
                events.push(event);
            }
            session.transcript = kept.transcript;
        }
        for ticket in &tickets {
            let staff = ticket
                .transcript
                .iter()
                .filter(|e| matches!(e.author, Author::Staff { .. }))
                .count();
            session.staff_seen.push((ticket.id.clone(), staff));
            for entry in &ticket.transcript {
                let mut event = event_of_entry(entry);
                event.id = events.len() as u64 + 1;
                events.push(event);
            }
        }
        Ok(Some(self.insert(&id, session, events)))
    }

    /// The conversation of a token, if it is in memory (no store access).
    pub fn live(&self, token: &str) -> Option<Arc<Conversation>> {
        let found = self.live_by_id(&self.verify(token)?)?;
        found.touch();
        Some(found)
    }

    /// A conversation in memory by id (for delivering a staff reply at once).
    pub fn live_by_id(&self, id: &str) -> Option<Arc<Conversation>> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// How many conversations are in memory.
    pub fn len(&self) -> usize {
        self.live.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn event_of_entry(entry: &TranscriptEntry) -> ChatEvent {
    let (author, staff) = match &entry.author {
        Author::Customer => (EventAuthor::Customer, None),
        Author::Bot => (EventAuthor::Bot, None),
        Author::Staff { user } => (EventAuthor::Staff, Some(user.clone())),
    };
    let mut event = ChatEvent::plain(author, entry.text.clone(), entry.at.clone());
    event.staff = staff;
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_accepted_only_as_made() {
        let conversations = Conversations::new([7; 32], 10);
        let (token, conversation) = conversations.start(None, None);
        assert_eq!(conversations.verify(&token).as_deref(), Some(conversation.id()));
        let other_key = Conversations::new([8; 32], 10);
        assert_eq!(other_key.verify(&token), None, "another server's key");
        let (id, mac) = token.split_once('.').unwrap();
        let mut flipped = mac.to_string();
        flipped.replace_range(0..1, if mac.starts_with('0') { "1" } else { "0" });
        assert_eq!(conversations.verify(&format!("{id}.{flipped}")), None);
        assert_eq!(conversations.verify(id), None);
        assert_eq!(conversations.verify(""), None);
        assert_eq!(conversations.verify("../../etc.passwd"), None);
    }

    #[test]
    fn when_memory_is_full_the_longest_idle_conversation_leaves() {
        let conversations = Conversations::new([7; 32], 2);
        let (_, first) = conversations.start(None, None);
        first.last_active.store(0, Ordering::Relaxed);
        let (_, second) = conversations.start(None, None);
        let (_, third) = conversations.start(None, None);
        assert_eq!(conversations.len(), 2);
        assert!(conversations.live_by_id(first.id()).is_none());
        assert!(conversations.live_by_id(second.id()).is_some());
        assert!(conversations.live_by_id(third.id()).is_some());
    }
}
