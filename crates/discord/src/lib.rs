//! The Discord adapter: customers write in DMs or support channels and get answers as
//! embeds with buttons; a handoff opens a private thread in the queue's staff channel where
//! staff talk to the customer (the Modmail pattern) and use slash commands. Everything goes
//! through the core's [`Desk`], so tickets, permissions and redaction are the same as in the
//! terminal. Only this crate knows serenity.
//!
//! Each call to Discord is a step retried on its own ([`retry`]), and what a handoff must
//! deliver (the customer's acknowledgement, the staff thread, the ticket post in it) is recorded
//! in the ticket database as it is done: the outbox. At start-up and every minute the bot
//! finishes what a failure or a restart left undone, so a ticket never goes unseen by staff.
#![deny(missing_docs)]

mod config;
mod present;
mod rate_limits;
mod retry;

pub use config::{ConfigError, DiscordConfig, Shards, StaffChannel, SupportChannel, Trigger};

use present::{
    answer_message, quiet, say, ticket_embed, truncate, with_attachments, CONTENT_MAX, HELPFUL_NO,
    HELPFUL_YES, HUMAN,
};
use retry::{step, StepError};
use serenity::all::{
    ChannelId, ChannelType, Client, CommandDataOptionValue, CommandInteraction, CommandOptionType,
    ComponentInteraction, Context, CreateAllowedMentions, CreateCommand, CreateCommandOption, CreateMessage,
    CreateThread, EditInteractionResponse, EventHandler, GatewayIntents, GuildId, Http, HttpBuilder,
    Interaction, Message as DiscordMessage, Permissions, Ready, RoleId,
};
use serenity::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_core::desk::{CustomerTurn, Desk, Session, StaffMember};
use switchboard_core::support::TechnicalEntitlement;
use switchboard_core::tickets::{Author, CustomerIdentity, Escalation, StaffAction, Ticket, TicketStore};
use switchboard_knowledge::{Language, SearchRequest};

/// The adapter's name on tickets and in the outbox.
const ADAPTER: &str = "discord";
/// Outbox keys: the staff thread of a queue (value: the [`ThreadLink`] as JSON), the ticket
/// posted in it with the queue's role pinged, the customer's handoff acknowledgement sent.
const THREAD: &str = "thread:";
const STAFF_NOTIFIED: &str = "staff-notified:";
const CUSTOMER_TOLD: &str = "customer-told";
/// How many of a ticket's staff messages reached the customer (value: the count).
const STAFF_REPLIES: &str = "staff-replies";
/// How often the customers of live sessions are checked for staff messages written elsewhere
/// (the web console, the terminal); those from a staff thread are relayed at once.
const STAFF_POLL: Duration = Duration::from_secs(2);
/// How often the outbox is checked for what a failure left undelivered.
const OUTBOX_INTERVAL: Duration = Duration::from_mins(1);
/// How long this process's claim on a delivery keeps other processes on the same database
/// off it: far longer than a delivery takes; after it, a claim whose process died or hung is
/// taken over.
const CLAIM_LEASE: Duration = Duration::from_mins(2);

/// A staff thread and the conversation it belongs to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct ThreadLink {
    thread: ChannelId,
    ticket: String,
    queue: String,
    customer_channel: ChannelId,
    /// The customer's Discord user (links from before it was kept have none).
    #[serde(default)]
    customer: Option<u64>,
}

#[derive(Default)]
struct State {
    /// Conversation contexts, with when each was last used.
    sessions: HashMap<u64, (Session, std::time::Instant)>,
    /// When idle sessions and turn locks were last swept.
    swept: Option<std::time::Instant>,
    /// Staff threads (one per queue a ticket was in).
    threads: HashMap<ChannelId, ThreadLink>,
    /// `(ticket, queue)` -> its staff thread.
    ticket_threads: HashMap<(String, String), ChannelId>,
    /// `(ticket, queue)` whose staff were notified in their thread.
    notified: HashSet<(String, String)>,
    /// Tickets whose customer got the handoff acknowledgement.
    told: HashSet<String>,
    /// Per ticket, how many of its staff messages the customer got.
    relayed: HashMap<String, usize>,
    /// One turn at a time per customer: two messages sent at once would otherwise each find no
    /// ticket thread yet (two threads), and each take the session (one loses the other's context).
    turns: HashMap<u64, Arc<tokio::sync::Mutex<()>>>,
    /// When the outbox was last read again for a staff thread this process did not know
    /// (another process on the same database opened it).
    outbox_reread: Option<std::time::Instant>,
}

/// How often at most the outbox is read again for an unknown thread.
const OUTBOX_REREAD: Duration = Duration::from_secs(10);

/// The bot: serenity's event handler over the desk.
pub struct Bot(Arc<Inner>);

struct Inner {
    desk: Arc<Desk>,
    config: DiscordConfig,
    state: Mutex<State>,
    /// Whether the outbox loop runs (a gateway reconnect sends READY again).
    outbox_running: AtomicBool,
    /// Event handlers running now (a stop waits for them).
    in_flight: AtomicUsize,
    /// This process among those sharing the ticket database, in its delivery claims.
    holder: String,
}

/// Counts a handler in flight while it lives.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn start(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Busy(count)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A view of a bot kept after the bot moves into the client.
#[derive(Clone)]
pub struct BotHandle(Arc<Inner>);

impl BotHandle {
    /// Event handlers running now.
    pub fn in_flight(&self) -> usize {
        self.0.in_flight.load(Ordering::SeqCst)
    }

    /// How many customers' conversation contexts the bot holds.
    pub fn live_sessions(&self) -> usize {
        self.0.state().sessions.len()
    }
}

/// The customer's channel from a ticket's conversation (`discord:<channel id>`).
fn customer_channel(ticket: &Ticket) -> Option<ChannelId> {
    ticket
        .conversation
        .strip_prefix("discord:")?
        .parse::<u64>()
        .ok()
        .filter(|id| *id != 0)
        .map(ChannelId::new)
}

impl Bot {
    /// A bot over a desk; staff threads and deliveries of earlier runs are read from the
    /// ticket database.
    pub fn new(desk: Arc<Desk>, config: DiscordConfig) -> Self {
        let inner = Inner {
            desk,
            config,
            state: Mutex::new(State::default()),
            outbox_running: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            holder: format!(
                "discord-{}-{}",
                std::process::id(),
                jiff::Timestamp::now().as_nanosecond()
            ),
        };
        inner.load_outbox();
        Bot(Arc::new(inner))
    }

    /// How many staff threads the bot knows.
    pub fn known_threads(&self) -> usize {
        self.0.state().threads.len()
    }

    /// A view of the bot that stays after it moves into the client.
    pub fn handle(&self) -> BotHandle {
        BotHandle(Arc::clone(&self.0))
    }
}

impl Inner {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn store(&self) -> &dyn TicketStore {
        self.desk.store()
    }

    /// Reads what earlier runs delivered; an unreadable record is logged and skipped (that
    /// ticket's delivery is then done again, never lost).
    fn load_outbox(&self) {
        let read = |prefix: &str| {
            self.store().deliveries(ADAPTER, prefix).unwrap_or_else(|e| {
                tracing::error!(error = %e, "the outbox could not be read; earlier staff threads are not relayed");
                Vec::new()
            })
        };
        let threads = read(THREAD);
        let notified = read(STAFF_NOTIFIED);
        let told = read(CUSTOMER_TOLD);
        let relayed = read(STAFF_REPLIES);
        let mut state = self.state();
        for (ticket, _, count) in relayed {
            // Read again later, a count this process has gone past stays.
            let count = count.parse().unwrap_or(0);
            let known = state.relayed.entry(ticket).or_insert(count);
            *known = (*known).max(count);
        }
        for (ticket, key, value) in threads {
            match serde_json::from_str::<ThreadLink>(&value) {
                Ok(link) => {
                    state
                        .ticket_threads
                        .insert((ticket, link.queue.clone()), link.thread);
                    state.threads.insert(link.thread, link);
                }
                Err(e) => tracing::error!(ticket, key, error = %e, "unreadable thread link"),
            }
        }
        for (ticket, key, _) in notified {
            let queue = key.trim_start_matches(STAFF_NOTIFIED).to_string();
            state.notified.insert((ticket, queue));
        }
        state.told.extend(told.into_iter().map(|(ticket, _, _)| ticket));
    }

    /// A staff thread another process on the same database opened: the outbox is read again
    /// (at most every [`OUTBOX_REREAD`]) when a staff-guild message comes from a channel this
    /// process does not know.
    async fn thread_opened_elsewhere(self: &Arc<Self>, channel: ChannelId) -> Option<ThreadLink> {
        {
            let mut state = self.state();
            if state.outbox_reread.is_some_and(|at| at.elapsed() < OUTBOX_REREAD) {
                return None;
            }
            state.outbox_reread = Some(std::time::Instant::now());
        }
        let inner = Arc::clone(self);
        tokio::task::spawn_blocking(move || inner.load_outbox())
            .await
            .ok()?;
        self.state().threads.get(&channel).cloned()
    }

    /// Records a delivery in the ticket database (on a blocking thread: SQLite does file IO).
    async fn record(&self, ticket: &str, key: String, value: String) -> Result<(), StepError> {
        let ticket = ticket.to_string();
        self.in_store(move |store| {
            let now = jiff::Timestamp::now().to_string();
            store.set_delivery(&ticket, ADAPTER, &key, &value, &now)
        })
        .await
        .map_err(StepError::from)
    }

    /// Runs `f` on the ticket store on a blocking thread (SQLite does file IO; PostgreSQL's
    /// client blocks); a failure, of the store or of the thread, in words.
    async fn in_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn TicketStore) -> Result<T, switchboard_core::tickets::TicketError> + Send + 'static,
    ) -> Result<T, String> {
        let desk = Arc::clone(&self.desk);
        match tokio::task::spawn_blocking(move || f(desk.store())).await {
            Ok(done) => done.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Claims a ticket's delivery of `key` for this process, so that of several processes on
    /// one database only one posts it. A store that cannot be asked means no claim: the
    /// delivery waits for the next pass rather than risk a double post.
    async fn claim(&self, event: &str, ticket: &str, key: &str) -> bool {
        let (ticket, owned_key, holder) = (ticket.to_string(), key.to_string(), self.holder.clone());
        let claimed = self
            .in_store(move |store| {
                let now = jiff::Timestamp::now();
                let lease = jiff::SignedDuration::try_from(CLAIM_LEASE).unwrap_or_default();
                let stale_before = now.checked_sub(lease).unwrap_or(now);
                store.claim_delivery(
                    &ticket,
                    ADAPTER,
                    &owned_key,
                    &holder,
                    &stale_before.to_string(),
                    &now.to_string(),
                )
            })
            .await;
        match claimed {
            Ok(won) => {
                if !won {
                    tracing::debug!(event, key, "another process is delivering this");
                }
                won
            }
            Err(e) => {
                tracing::warn!(event, error = %e, "a delivery could not be claimed; tried again later");
                false
            }
        }
    }

    /// Gives up this process's claim on a delivery that failed, so the next pass (here or in
    /// another process) tries again without waiting for the claim to go stale.
    async fn release(&self, ticket: &str, key: &str) {
        let (ticket, key, holder) = (ticket.to_string(), key.to_string(), self.holder.clone());
        let released = self
            .in_store(move |store| store.release_delivery(&ticket, ADAPTER, &key, &holder))
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "a failed delivery's claim could not be given up; it goes stale");
        }
    }

    /// Waits for `user`'s previous turn to finish; the turn lasts while the guard is held.
    async fn turn_of(&self, user: u64) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = Arc::clone(self.state().turns.entry(user).or_default());
        lock.lock_owned().await
    }

    /// Forgets sessions idle longer than configured, and turn locks nobody holds (at most
    /// once a minute, or every time when sessions expire at once).
    fn sweep_idle(&self) {
        let idle = Duration::from_secs(self.config.session_idle_minutes.saturating_mul(60));
        let now = std::time::Instant::now();
        let mut state = self.state();
        if state
            .swept
            .is_some_and(|at| now.duration_since(at) < idle.min(Duration::from_mins(1)))
        {
            return;
        }
        state.swept = Some(now);
        state
            .sessions
            .retain(|_, (_, used)| now.duration_since(*used) < idle);
        state.turns.retain(|_, lock| Arc::strong_count(lock) > 1);
    }

    fn session_for(&self, user: u64, name: &str, channel: ChannelId) -> Session {
        self.sweep_idle();
        let kept = self.state().sessions.remove(&user).map(|(session, _)| session);
        kept.unwrap_or_else(|| {
            let customer = CustomerIdentity {
                adapter: ADAPTER.into(),
                user_id: user.to_string(),
                display_name: name.into(),
            };
            Session::new(customer, format!("{ADAPTER}:{}", channel.get()))
        })
    }

    /// One customer turn on a blocking thread (the desk does file and database IO). `event`
    /// (the Discord message or interaction id) is the message's id in the ticket: an event
    /// delivered again, to this process or another, is stored once.
    async fn customer_turn(
        &self,
        user: u64,
        name: &str,
        channel: ChannelId,
        text: String,
        event: &str,
    ) -> Result<CustomerTurn, String> {
        let mut session = self.session_for(user, name, channel);
        let desk = Arc::clone(&self.desk);
        let event = event.to_string();
        let (session, result) = tokio::task::spawn_blocking(move || {
            let result =
                desk.customer_message_with_id(&mut session, &text, Some(&event), jiff::Timestamp::now());
            (session, result)
        })
        .await
        .map_err(|e| e.to_string())?;
        self.state()
            .sessions
            .insert(user, (session, std::time::Instant::now()));
        result.map_err(|e| e.to_string())
    }

    /// Makes sure the staff of the ticket's queue know of it: a private thread in the queue's
    /// channel (opened once), the ticket posted there pinging the queue's role (once). Each
    /// call is its own step and recorded when done, so a retry or the outbox repeats only what
    /// is missing. After an escalation the old queue's thread is told where the ticket went.
    async fn notify_staff(&self, http: &Http, event: &str, ticket: &Ticket) -> Result<(), StepError> {
        let key = (ticket.id.clone(), ticket.queue.clone());
        if self.state().notified.contains(&key) {
            return Ok(());
        }
        let claim = format!("{STAFF_NOTIFIED}{}", ticket.queue);
        if !self.claim(event, &ticket.id, &claim).await {
            return Ok(());
        }
        let notified = self.notify_staff_claimed(http, event, ticket, key).await;
        if notified.is_err() {
            self.release(&ticket.id, &claim).await;
        }
        notified
    }

    /// `notify_staff`, once this process holds the claim.
    async fn notify_staff_claimed(
        &self,
        http: &Http,
        event: &str,
        ticket: &Ticket,
        key: (String, String),
    ) -> Result<(), StepError> {
        let staff = self
            .config
            .queues
            .get(&ticket.queue)
            .ok_or_else(|| format!("no staff channel for queue {}", ticket.queue))?;
        let customer = customer_channel(ticket)
            .ok_or_else(|| format!("ticket {} has no Discord conversation", ticket.id))?;
        let known = self.state().ticket_threads.get(&key).copied();
        let thread = if let Some(thread) = known {
            thread
        } else {
            let name = truncate(&format!("{} {}", ticket.id, ticket.customer.display_name), 100);
            let thread = step(event, "open the staff thread", || async {
                Ok(ChannelId::new(staff.channel)
                    .create_thread(
                        http,
                        CreateThread::new(name.clone()).kind(ChannelType::PrivateThread),
                    )
                    .await?
                    .id)
            })
            .await?;
            let link = ThreadLink {
                thread,
                ticket: ticket.id.clone(),
                queue: ticket.queue.clone(),
                customer_channel: customer,
                customer: ticket.customer.user_id.parse().ok(),
            };
            let value = serde_json::to_string(&link).map_err(|e| e.to_string())?;
            let earlier: Vec<ChannelId> = {
                let mut state = self.state();
                state.ticket_threads.insert(key.clone(), thread);
                state.threads.insert(thread, link);
                state
                    .threads
                    .values()
                    .filter(|l| l.ticket == ticket.id && l.queue != ticket.queue)
                    .map(|l| l.thread)
                    .collect()
            };
            self.record(&ticket.id, format!("{THREAD}{}", ticket.queue), value)
                .await?;
            for old in earlier {
                let note = format!(
                    "Ticket {} was passed to the `{}` queue: <#{}>. Replies here are no longer relayed.",
                    ticket.id, ticket.queue, thread
                );
                // Telling the old thread is a courtesy: the new queue's notification does
                // not wait for it.
                let _ = step(event, "tell the old thread", || async {
                    old.send_message(http, quiet().content(note.clone())).await?;
                    Ok(())
                })
                .await;
            }
            thread
        };
        step(event, "post the ticket in its thread", || async {
            thread
                .send_message(
                    http,
                    CreateMessage::new()
                        .allowed_mentions(CreateAllowedMentions::new().roles([RoleId::new(staff.ping_role)]))
                        .content(format!("<@&{}> new ticket {}", staff.ping_role, ticket.id))
                        .embed(ticket_embed(ticket)),
                )
                .await?;
            Ok(())
        })
        .await?;
        self.state().notified.insert(key);
        self.record(
            &ticket.id,
            format!("{STAFF_NOTIFIED}{}", ticket.queue),
            thread.get().to_string(),
        )
        .await
    }

    /// Delivers a customer's turn: the reply to the customer, then (for a ticket) the message
    /// into the staff thread, or the new ticket to its queue's staff. The turn itself ran once;
    /// each delivery is retried alone.
    async fn after_turn(&self, http: &Http, event: &str, channel: ChannelId, turn: &CustomerTurn) {
        let sent = step(event, "reply to the customer", || async {
            channel.send_message(http, answer_message(turn)).await?;
            Ok(())
        })
        .await;
        let Some(ticket) = &turn.ticket else { return };
        if sent.is_ok() {
            self.mark_told(&ticket.id, "reply sent").await;
        }
        let key = (ticket.id.clone(), ticket.queue.clone());
        let notified = self.state().notified.contains(&key);
        let thread = self.state().ticket_threads.get(&key).copied();
        match thread {
            // The staff know the ticket: the new message goes into its thread.
            Some(thread) if notified => {
                // What the desk kept, never the message as typed: a card number or password
                // the customer pasted is not repeated to the staff channel.
                let kept = turn.kept.as_deref().unwrap_or_default();
                let relay = format!("**Customer:** {}", truncate(kept, CONTENT_MAX));
                let _ = step(event, "relay to the staff thread", || async {
                    thread.send_message(http, quiet().content(relay.clone())).await?;
                    Ok(())
                })
                .await;
            }
            // The ticket post (with the transcript so far) is still to come: the whole ticket
            // is read for it (the turn carries only its head).
            _ => {
                let desk = Arc::clone(&self.desk);
                let id = ticket.id.clone();
                match tokio::task::spawn_blocking(move || desk.store().get(&id)).await {
                    Ok(Ok(full)) => {
                        let _ = self.notify_staff(http, event, &full).await;
                    }
                    // The outbox posts it at its next pass.
                    Ok(Err(e)) => tracing::warn!(event, error = %e, "the ticket could not be read"),
                    Err(e) => tracing::warn!(event, error = %e, "the ticket could not be read"),
                }
            }
        }
    }

    /// Delivers what the outbox holds undelivered: handoff acknowledgements never sent and
    /// tickets whose queue's staff were never notified (after a failure, a restart, an
    /// escalation that could not reach the new queue).
    async fn deliver_pending(&self, http: &Http) {
        let desk = Arc::clone(&self.desk);
        let pending = tokio::task::spawn_blocking(move || {
            let store = desk.store();
            let mut ids = store.undelivered(ADAPTER, &format!("{STAFF_NOTIFIED}{{queue}}"))?;
            ids.extend(store.undelivered(ADAPTER, CUSTOMER_TOLD)?);
            ids.sort_unstable();
            ids.dedup();
            ids.into_iter()
                .map(|id| store.get(&id))
                .collect::<Result<Vec<Ticket>, _>>()
        })
        .await;
        let tickets = match pending {
            Ok(Ok(tickets)) => tickets,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the outbox could not be read");
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "the outbox check failed");
                return;
            }
        };
        for ticket in tickets {
            let event = format!("outbox:{}", ticket.id);
            let _turn = self.turn_of_ticket(&ticket).await;
            let told = self.state().told.contains(&ticket.id);
            if !told && self.claim(&event, &ticket.id, CUSTOMER_TOLD).await {
                self.retell_customer(http, &event, &ticket).await;
                if !self.state().told.contains(&ticket.id) {
                    self.release(&ticket.id, CUSTOMER_TOLD).await;
                }
            }
            if let Err(e) = self.notify_staff(http, &event, &ticket).await {
                tracing::warn!(event, error = %e, "still undelivered; tried again later");
            }
        }
    }

    /// Sends the customer the bot's last message of the ticket (the handoff acknowledgement
    /// that did not go out).
    async fn retell_customer(&self, http: &Http, event: &str, ticket: &Ticket) {
        let (Some(channel), Some(last)) = (
            customer_channel(ticket),
            ticket.transcript.iter().rev().find(|e| e.author == Author::Bot),
        ) else {
            return;
        };
        let text = truncate(&last.text, CONTENT_MAX);
        let sent = step(event, "acknowledge the handoff", || async {
            channel.send_message(http, quiet().content(text.clone())).await?;
            Ok(())
        })
        .await;
        if sent.is_ok() {
            self.mark_told(&ticket.id, "sent by the outbox").await;
        }
    }

    /// Records that the customer got the handoff acknowledgement (once per ticket).
    async fn mark_told(&self, ticket: &str, how: &str) {
        if self.state().told.insert(ticket.to_string()) {
            let _ = self.record(ticket, CUSTOMER_TOLD.into(), how.into()).await;
        }
    }

    /// The turn lock of the ticket's customer: deliveries for a ticket wait for that customer's
    /// own turn, which delivers the same things.
    async fn turn_of_ticket(&self, ticket: &Ticket) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match ticket.customer.user_id.parse::<u64>() {
            Ok(user) => Some(self.turn_of(user).await),
            Err(_) => None,
        }
    }

    /// Relays to a customer every staff message of their tickets they have not had, in order,
    /// wherever it was written (the staff thread, the web console, the terminal); each is
    /// recorded in the outbox once sent, so none goes twice and none is skipped after a restart.
    async fn relay_staff_messages(&self, http: &Http, event: &str, user: u64) {
        let _turn = self.turn_of(user).await;
        let desk = Arc::clone(&self.desk);
        let customer_id = format!("{ADAPTER}:{user}");
        let found = tokio::task::spawn_blocking(move || desk.store().staff_messages(&customer_id)).await;
        let tickets = match found {
            Ok(Ok(tickets)) => tickets,
            Ok(Err(e)) => return tracing::warn!(event, error = %e, "staff messages could not be read"),
            Err(e) => return tracing::warn!(event, error = %e, "staff messages could not be read"),
        };
        for (ticket, staff) in tickets {
            let (sent, channel) = {
                let state = self.state();
                let channel = state
                    .threads
                    .values()
                    .find(|l| l.ticket == ticket)
                    .map(|l| l.customer_channel);
                (state.relayed.get(&ticket).copied().unwrap_or(0), channel)
            };
            // Without a staff thread the ticket's channel is not known yet; the outbox opens
            // the thread and the next look relays.
            let Some(channel) = channel.filter(|_| staff.len() > sent) else {
                continue;
            };
            // Another process on the database may relay to this customer too: the one that
            // claims the ticket's relays goes on from the count recorded last.
            if !self.claim(event, &ticket, STAFF_REPLIES).await {
                continue;
            }
            let sent = sent.max(self.recorded_relays(&ticket).await);
            self.state().relayed.insert(ticket.clone(), sent);
            for (i, entry) in staff.iter().enumerate().skip(sent) {
                let who = match &entry.author {
                    Author::Staff { user } => user.as_str(),
                    _ => "",
                };
                let relay = format!("**{who}** (support): {}", truncate(&entry.text, CONTENT_MAX));
                let sent = step(event, "relay to the customer", || async {
                    channel.send_message(http, quiet().content(relay.clone())).await?;
                    Ok(())
                })
                .await;
                if sent.is_err() {
                    self.release(&ticket, STAFF_REPLIES).await;
                    return;
                }
                self.state().relayed.insert(ticket.clone(), i + 1);
                let _ = self
                    .record(&ticket, STAFF_REPLIES.into(), (i + 1).to_string())
                    .await;
            }
            // The count is recorded: the next reply may go out through whichever process sees
            // it first, without waiting for this claim to go stale.
            self.release(&ticket, STAFF_REPLIES).await;
        }
    }

    /// How many of a ticket's staff messages the outbox says reached the customer.
    async fn recorded_relays(&self, ticket: &str) -> usize {
        let ticket = ticket.to_string();
        self.in_store(move |store| store.delivery(&ticket, ADAPTER, STAFF_REPLIES))
            .await
            .ok()
            .flatten()
            .and_then(|count| count.parse().ok())
            .unwrap_or(0)
    }

    /// Relays staff messages to the customers of live sessions and of known staff threads.
    async fn relay_all_staff_messages(&self, http: &Http, with_threads: bool) {
        let users: HashSet<u64> = {
            let state = self.state();
            let mut users: HashSet<u64> = state.sessions.keys().copied().collect();
            if with_threads {
                users.extend(state.threads.values().filter_map(|l| l.customer));
            }
            users
        };
        for user in users {
            self.relay_staff_messages(http, "staff-poll", user).await;
        }
    }

    fn is_for_bot(&self, ctx: &Context, msg: &DiscordMessage) -> bool {
        if msg.guild_id.is_none() {
            return true;
        }
        let me = ctx.cache.current_user().id;
        self.config.support_channels.iter().any(|c| {
            c.id == msg.channel_id.get()
                && (c.trigger == Trigger::Every || msg.mentions.iter().any(|u| u.id == me))
        })
    }

    /// The staff role, among the member's, that may work `queue`.
    fn staff_member(&self, user: &str, roles: &[u64], queue: &str) -> Option<StaffMember> {
        let allowed = self
            .desk
            .router()
            .support()
            .queue(queue)
            .map(|q| q.roles.clone())
            .unwrap_or_default();
        self.config
            .staff_roles_of(roles)
            .into_iter()
            .find(|r| allowed.contains(r))
            .map(|role| StaffMember {
                user: user.to_string(),
                role,
            })
    }

    async fn staff_act(
        &self,
        staff: StaffMember,
        ticket: String,
        action: StaffAction,
    ) -> Result<Ticket, String> {
        let desk = Arc::clone(&self.desk);
        tokio::task::spawn_blocking(move || {
            let now = jiff::Timestamp::now();
            if matches!(action, StaffAction::Reply(_)) {
                // Replying to an unclaimed ticket claims it for the replier.
                let current = desk.staff_view(&staff, &ticket).map_err(|e| e.to_string())?;
                if current.status == switchboard_core::tickets::TicketStatus::Open {
                    desk.staff_act(&staff, &ticket, StaffAction::Claim, now)
                        .map_err(|e| e.to_string())?;
                }
            }
            desk.staff_act(&staff, &ticket, action, now)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// A message in a staff thread: relayed to the customer when its author may work the
    /// thread's queue; otherwise the author is told why not, in the thread.
    async fn on_thread_message(&self, http: &Http, event: &str, msg: &DiscordMessage, link: ThreadLink) {
        let roles: Vec<u64> = msg
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.get()).collect())
            .unwrap_or_default();
        let mut customer = None;
        let refusal = match self.staff_member(&msg.author.name, &roles, &link.queue) {
            None => Some(format!(
                "you do not have a staff role for the `{}` queue; not relayed.",
                link.queue
            )),
            Some(staff) => match self
                .staff_act(
                    staff,
                    link.ticket.clone(),
                    StaffAction::Reply(msg.content.clone()),
                )
                .await
            {
                Ok(ticket) => {
                    customer = ticket.customer.user_id.parse::<u64>().ok();
                    None
                }
                Err(e) => Some(format!("not relayed: {e}")),
            },
        };
        if let Some(refusal) = refusal {
            let content = format!("<@{}> {refusal}", msg.author.id);
            let _ = step(event, "tell staff why not", || async {
                msg.channel_id
                    .send_message(
                        http,
                        CreateMessage::new()
                            .allowed_mentions(CreateAllowedMentions::new().users([msg.author.id]))
                            .content(content.clone()),
                    )
                    .await?;
                Ok(())
            })
            .await;
            return;
        }
        // The reply is in the ticket now; it goes out with any other staff message the
        // customer has not had (from the web console, say), in order.
        if let Some(user) = customer {
            self.relay_staff_messages(http, event, user).await;
        }
    }

    async fn on_component(&self, http: &Http, event: &str, c: &ComponentInteraction) {
        // Acknowledge first (once): Discord allows three seconds, routing may take longer.
        if step(event, "acknowledge the button", || async {
            c.defer(http).await?;
            Ok(())
        })
        .await
        .is_err()
        {
            return;
        }
        let lang = self
            .state()
            .sessions
            .get(&c.user.id.get())
            .and_then(|(s, _)| s.context.language)
            .unwrap_or(Language::En);
        let text = match c.data.custom_id.as_str() {
            HUMAN => say(
                lang,
                "Ich möchte mit einem Menschen sprechen",
                "I want to talk to a human",
            ),
            HELPFUL_NO => say(lang, "nein", "no"),
            HELPFUL_YES => {
                let thanks = say(lang, "Danke für die Rückmeldung!", "Thanks for the feedback!");
                let _ = step(event, "thank for the feedback", || async {
                    c.channel_id
                        .send_message(http, quiet().content(thanks.clone()))
                        .await?;
                    Ok(())
                })
                .await;
                return;
            }
            other => {
                tracing::warn!(event, button = other, "unknown button");
                return;
            }
        };
        match self
            .customer_turn(c.user.id.get(), &c.user.name, c.channel_id, text, event)
            .await
        {
            Ok(turn) => self.after_turn(http, event, c.channel_id, &turn).await,
            Err(e) => tracing::error!(event, error = %e, "button turn could not be handled"),
        }
    }

    async fn on_command(&self, http: &Http, event: &str, cmd: &CommandInteraction) {
        // Acknowledged once; the action runs once; only the deliveries after it are retried.
        if step(event, "acknowledge the command", || async {
            cmd.defer_ephemeral(http).await?;
            Ok(())
        })
        .await
        .is_err()
        {
            return;
        }
        let (reply, acted) = self.command_reply(cmd).await;
        let content = truncate(&reply, CONTENT_MAX);
        let _ = step(event, "answer the command", || async {
            cmd.edit_response(http, EditInteractionResponse::new().content(content.clone()))
                .await?;
            Ok(())
        })
        .await;
        let Some((link, ticket)) = acted else { return };
        let note = self.desk.customer_status_note(&ticket);
        let _ = step(event, "tell the customer", || async {
            link.customer_channel
                .send_message(http, quiet().content(note.clone()))
                .await?;
            Ok(())
        })
        .await;
        if ticket.queue != link.queue {
            // Escalated to another queue: its staff get the ticket in their own channel.
            let _turn = self.turn_of_ticket(&ticket).await;
            let _ = self.notify_staff(http, event, &ticket).await;
        }
    }

    fn link_of(&self, channel: ChannelId) -> Result<ThreadLink, String> {
        self.state()
            .threads
            .get(&channel)
            .cloned()
            .ok_or_else(|| "use this command in a ticket thread".to_string())
    }

    /// The command's answer for staff, and the thread and ticket when it acted on a ticket.
    async fn command_reply(&self, cmd: &CommandInteraction) -> (String, Option<(ThreadLink, Ticket)>) {
        let roles: Vec<u64> = cmd
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.get()).collect())
            .unwrap_or_default();
        let option = |name: &str| {
            cmd.data
                .options
                .iter()
                .find(|o| o.name == name)
                .and_then(|o| match &o.value {
                    CommandDataOptionValue::String(s) => Some(s.clone()),
                    _ => None,
                })
        };
        if cmd.data.name == "kb" {
            // Staff-only search: any configured staff role will do.
            if self.config.staff_roles_of(&roles).is_empty() {
                return ("Only staff may search the knowledge base here.".into(), None);
            }
            let query = option("query").unwrap_or_default();
            let desk = Arc::clone(&self.desk);
            let hits = tokio::task::spawn_blocking(move || {
                desk.router()
                    .knowledge()
                    .search(&SearchRequest::new(&query, 3))
                    .map(|o| o.hits)
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
            let reply = match hits {
                Ok(hits) if hits.is_empty() => "No matching guidance.".into(),
                Ok(hits) => hits
                    .iter()
                    .map(|h| format!("`{}` {} › {}\n{}", h.citation, h.title, h.heading, h.snippet))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
                Err(e) => format!("Search failed: {e}"),
            };
            return (reply, None);
        }
        let link = match self.link_of(cmd.channel_id) {
            Ok(l) => l,
            Err(e) => return (e, None),
        };
        let Some(staff) = self.staff_member(&cmd.user.name, &roles, &link.queue) else {
            return (
                format!("You do not have a staff role for the `{}` queue.", link.queue),
                None,
            );
        };
        let action = match cmd.data.name.as_str() {
            "claim" => StaffAction::Claim,
            "resolve" => StaffAction::Resolve,
            "escalate" => match (option("queue"), option("microsoft").as_deref()) {
                (Some(queue), _) => StaffAction::Escalate(Escalation::Queue { queue }),
                (None, Some("technical")) => StaffAction::Escalate(Escalation::MicrosoftTechnical {
                    entitlement: TechnicalEntitlement::None,
                    case_number: option("case"),
                }),
                (None, Some(_)) => StaffAction::Escalate(Escalation::MicrosoftCommercial {
                    case_number: option("case"),
                }),
                (None, None) => return ("escalate needs `queue` or `microsoft`".into(), None),
            },
            other => return (format!("unknown command `{other}`"), None),
        };
        match self.staff_act(staff, link.ticket.clone(), action).await {
            Ok(t) => (
                format!("Ticket {} is now {}.", t.id, t.status.as_str()),
                Some((link, t)),
            ),
            Err(e) => (format!("Refused: {e}"), None),
        }
    }
}

/// The slash commands staff use in ticket threads: registered in the staff guild only, never
/// usable in DMs, and shown by default only to members who may manage threads (a server admin
/// can widen that in the server's integration settings; every use is still checked against the
/// queue's staff roles).
pub fn staff_commands() -> Vec<CreateCommand> {
    let commands = vec![
        CreateCommand::new("claim").description("Take this ticket"),
        CreateCommand::new("resolve").description("Close this ticket"),
        CreateCommand::new("escalate")
            .description("Pass this ticket to another queue or to Microsoft")
            .add_option(CreateCommandOption::new(
                CommandOptionType::String,
                "queue",
                "Another queue",
            ))
            .add_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "microsoft",
                    "Microsoft support channel",
                )
                .add_string_choice("commercial", "commercial")
                .add_string_choice("technical", "technical"),
            )
            .add_option(CreateCommandOption::new(
                CommandOptionType::String,
                "case",
                "Microsoft case number",
            )),
        CreateCommand::new("kb")
            .description("Search the knowledge base (only you see the result)")
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "query", "What to search for")
                    .required(true),
            ),
    ];
    commands
        .into_iter()
        .map(|c| {
            c.dm_permission(false)
                .default_member_permissions(Permissions::MANAGE_THREADS)
        })
        .collect()
}

#[async_trait]
impl EventHandler for Bot {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, "connected to Discord");
        let guild = GuildId::new(self.0.config.guild);
        let _ = step("ready", "register the staff commands", || async {
            guild.set_commands(&ctx.http, staff_commands()).await?;
            Ok(())
        })
        .await;
        // The outbox: now (a restart finishes what the last run left) and every minute.
        if !self.0.outbox_running.swap(true, Ordering::SeqCst) {
            let inner = Arc::clone(&self.0);
            let http = Arc::clone(&ctx.http);
            tokio::spawn({
                let (inner, http) = (Arc::clone(&inner), Arc::clone(&http));
                async move {
                    loop {
                        inner.deliver_pending(&http).await;
                        // Customers whose sessions expired still get replies written elsewhere.
                        inner.relay_all_staff_messages(&http, true).await;
                        tokio::time::sleep(OUTBOX_INTERVAL).await;
                    }
                }
            });
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(STAFF_POLL).await;
                    inner.relay_all_staff_messages(&http, false).await;
                }
            });
        }
    }

    async fn message(&self, ctx: Context, msg: DiscordMessage) {
        if msg.author.bot {
            return;
        }
        let bot = &self.0;
        let _busy = Busy::start(&bot.in_flight);
        let event = format!("message:{}", msg.id);
        let mut link = bot.state().threads.get(&msg.channel_id).cloned();
        if link.is_none() && msg.guild_id.is_some_and(|g| g.get() == bot.config.guild) {
            link = bot.thread_opened_elsewhere(msg.channel_id).await;
        }
        if let Some(link) = link {
            bot.on_thread_message(&ctx.http, &event, &msg, link).await;
            return;
        }
        if !bot.is_for_bot(&ctx, &msg) {
            return;
        }
        let _turn = bot.turn_of(msg.author.id.get()).await;
        let text = with_attachments(&msg.content, msg.attachments.iter().map(|a| a.url.as_str()));
        // The turn runs once (it is recorded by the desk); only delivery is retried, so a
        // message is never processed twice.
        let turn = match bot
            .customer_turn(
                msg.author.id.get(),
                &msg.author.name,
                msg.channel_id,
                text,
                &event,
            )
            .await
        {
            Ok(turn) => turn,
            Err(e) => {
                tracing::error!(event, error = %e, "customer message could not be handled");
                let _ = msg
                    .channel_id
                    .say(
                        &ctx.http,
                        "Sorry, something went wrong; your message is kept. Please try again.",
                    )
                    .await;
                return;
            }
        };
        // Kept without its secrets, but a support channel still shows the message to everyone
        // in it: it goes (the bot needs Manage Messages there), beside the reply. A direct
        // message is seen by the customer alone, and a bot cannot delete it.
        let remove = async {
            if !(turn.secrets_removed && msg.guild_id.is_some()) {
                return;
            }
            let removed = step(&event, "remove the message holding secrets", || async {
                msg.channel_id.delete_message(&ctx.http, msg.id).await?;
                Ok(())
            })
            .await;
            if removed.is_err() {
                tracing::warn!(
                    event,
                    channel = msg.channel_id.get(),
                    "a message with secrets stays in its channel; the bot needs Manage Messages there"
                );
            }
        };
        tokio::join!(remove, bot.after_turn(&ctx.http, &event, msg.channel_id, &turn));
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let bot = &self.0;
        let _busy = Busy::start(&bot.in_flight);
        match interaction {
            Interaction::Component(c) => {
                let _turn = bot.turn_of(c.user.id.get()).await;
                bot.on_component(&ctx.http, &format!("interaction:{}", c.id), &c)
                    .await;
            }
            Interaction::Command(cmd) => {
                bot.on_command(&ctx.http, &format!("interaction:{}", cmd.id), &cmd)
                    .await;
            }
            _ => {}
        }
    }
}

/// The REST client: Discord itself (serenity's rate limiter waits out 429s), or the rate limit
/// forwarder to the base URL from DISCORD_API_BASE (`rest_base`).
fn http(token: &str, rest_base: Option<&str>) -> Http {
    match rest_base {
        // The rate limiter must be off for the proxy to be used (serenity 0.12); the forwarder
        // does its work.
        Some(base) => HttpBuilder::new(token)
            .proxy(base)
            .ratelimiter_disabled(true)
            .build(),
        None => Http::new(token),
    }
}

/// Where REST calls go: nowhere else for Discord itself, or a rate limit forwarder to
/// `api_base` (see `rate_limits`), with the handle that stops it.
async fn rest_base(api_base: Option<&str>) -> std::io::Result<Option<(String, tokio::task::AbortHandle)>> {
    match api_base {
        Some(upstream) => rate_limits::start(upstream).await.map(Some),
        None => Ok(None),
    }
}

/// Why the bot cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// DISCORD_API_BASE is not an http(s) URL.
    #[error("DISCORD_API_BASE `{0}` is not an http:// or https:// URL")]
    BadApiBase(String),
    /// Discord refused the token.
    #[error("Discord rejected the bot token ({0}): check DISCORD_TOKEN")]
    Token(String),
    /// The API did not answer.
    #[error("cannot reach the Discord API at {base}: {error}")]
    Unreachable {
        /// The API base tried.
        base: String,
        /// What went wrong.
        error: String,
    },
}

/// Checks the API base and the token before anything starts (`GET /users/@me`); returns the
/// bot's user name.
pub async fn check_login(token: &str, api_base: Option<&str>) -> Result<String, StartError> {
    let base = api_base.unwrap_or("https://discord.com");
    if let Some(b) = api_base {
        let host = b
            .strip_prefix("http://")
            .or_else(|| b.strip_prefix("https://"))
            .unwrap_or("");
        if host.trim_matches('/').is_empty() || host.contains(char::is_whitespace) {
            return Err(StartError::BadApiBase(b.to_string()));
        }
    }
    let unreachable = |error: String| StartError::Unreachable {
        base: base.to_string(),
        error,
    };
    let forwarder = rest_base(api_base)
        .await
        .map_err(|e| unreachable(format!("cannot start the rate limit forwarder: {e}")))?;
    let me = tokio::time::timeout(
        Duration::from_secs(15),
        http(token, forwarder.as_ref().map(|(b, _)| b.as_str())).get_current_user(),
    )
    .await;
    if let Some((_, stop)) = forwarder {
        stop.abort();
    }
    let me = me.map_err(|_| unreachable("no answer within 15 s".into()))?;
    match me {
        Ok(user) => Ok(user.name.clone()),
        Err(serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)))
            if r.status_code.as_u16() == 401 || r.status_code.as_u16() == 403 =>
        {
            Err(StartError::Token(r.status_code.to_string()))
        }
        Err(e) => Err(unreachable(e.to_string())),
    }
}

/// Builds the serenity client. Production and tests share this wiring; only `api_base`
/// differs (`None` for Discord itself, or a proxy / fake base URL from DISCORD_API_BASE).
pub async fn build_client(bot: Bot, token: &str, api_base: Option<&str>) -> serenity::Result<Client> {
    let intents = GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::GUILDS;
    // The forwarder serves the client for as long as the runtime runs.
    let forwarder = rest_base(api_base).await?;
    serenity::all::ClientBuilder::new_with_http(
        http(token, forwarder.as_ref().map(|(b, _)| b.as_str())),
        intents,
    )
    .event_handler(bot)
    .await
}

/// Connects and runs until the client stops.
pub async fn run(client: &mut Client, shards: Shards) -> serenity::Result<()> {
    match shards {
        Shards::Auto => client.start_autosharded().await,
        Shards::Fixed(n) => client.start_shards(n.max(1)).await,
        // serenity counts the range's end in (shards `first` to `last`).
        Shards::Range { first, last, total } => client.start_shard_range(first..last, total).await,
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reports a shard that has not been connected for `after` (serenity retries quietly, below the
/// default log level), and again when it is back.
async fn watch_connection(manager: Arc<serenity::all::ShardManager>, after: Duration) {
    let poll = (after / 3).clamp(Duration::from_millis(200), Duration::from_secs(5));
    let mut down_since: HashMap<serenity::all::ShardId, std::time::Instant> = HashMap::new();
    let mut reported: HashSet<serenity::all::ShardId> = HashSet::new();
    loop {
        tokio::time::sleep(poll).await;
        let stages: Vec<(serenity::all::ShardId, serenity::gateway::ConnectionStage)> = manager
            .runners
            .lock()
            .await
            .iter()
            .map(|(id, info)| (*id, info.stage))
            .collect();
        let now = std::time::Instant::now();
        for (id, stage) in stages {
            if stage == serenity::gateway::ConnectionStage::Connected {
                down_since.remove(&id);
                if reported.remove(&id) {
                    tracing::error!(shard = %id, "connected to Discord again");
                    eprintln!("switchboard-discord: shard {id} is connected to Discord again");
                }
            } else {
                let since = *down_since.entry(id).or_insert(now);
                if now.duration_since(since) >= after && reported.insert(id) {
                    tracing::error!(shard = %id, ?stage, "not connected to Discord; retrying");
                    eprintln!(
                        "switchboard-discord: shard {id} has not been connected to Discord for {} s ({stage:?}); still retrying",
                        after.as_secs()
                    );
                }
            }
        }
    }
}

/// Runs until the client stops or `stop` completes (SIGTERM, SIGINT): then the gateway is
/// closed (code 1000, so Discord ends the session cleanly and sends nothing more) and the
/// handlers in flight get up to `drain` to finish; what they leave undone is in the outbox.
pub async fn run_until(
    client: &mut Client,
    shards: Shards,
    bot: &BotHandle,
    stop: impl std::future::Future<Output = ()>,
    drain: Duration,
) -> serenity::Result<()> {
    let manager = Arc::clone(&client.shard_manager);
    let after = Duration::from_secs(bot.0.config.report_disconnected_after_seconds);
    let watchdog = tokio::spawn(watch_connection(Arc::clone(&manager), after));
    let _stop_watching = AbortOnDrop(watchdog);
    tokio::select! {
        result = run(client, shards) => result,
        () = stop => {
            tracing::info!("stopping: closing the gateway");
            manager.shutdown_all().await;
            let deadline = tokio::time::Instant::now() + drain;
            while bot.in_flight() > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if bot.in_flight() > 0 {
                tracing::warn!(handlers = bot.in_flight(), "stopped with handlers in flight; the outbox finishes them at the next start");
            }
            Ok(())
        }
    }
}
