//! The Discord adapter: customers write in DMs or support channels and get answers as
//! embeds with buttons; a handoff opens a private thread in the queue's staff channel where
//! staff talk to the customer (the Modmail pattern) and use slash commands. Everything goes
//! through the core's [`Desk`], so tickets, permissions and redaction are the same as in the
//! terminal. Only this crate knows serenity.
#![deny(missing_docs)]

mod config;

pub use config::{ConfigError, DiscordConfig, Shards, StaffChannel, SupportChannel, Trigger};

use serenity::all::{
    ButtonStyle, ChannelId, ChannelType, Client, CommandDataOptionValue, CommandInteraction,
    CommandOptionType, ComponentInteraction, Context, CreateActionRow, CreateAllowedMentions, CreateButton,
    CreateCommand, CreateCommandOption, CreateEmbed, CreateMessage, CreateThread, EditInteractionResponse,
    EventHandler, GatewayIntents, GuildId, HttpBuilder, Interaction, Message as DiscordMessage, Permissions,
    Ready, RoleId,
};
use serenity::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use switchboard_core::decision::Outcome;
use switchboard_core::desk::{CustomerTurn, Desk, Session, StaffMember};
use switchboard_core::support::TechnicalEntitlement;
use switchboard_core::tickets::{Author, CustomerIdentity, Escalation, StaffAction, Ticket};
use switchboard_knowledge::{Language, SearchRequest};

/// Button ids.
const HELPFUL_YES: &str = "sb:helpful:yes";
const HELPFUL_NO: &str = "sb:helpful:no";
const HUMAN: &str = "sb:human";
/// Discord's limits on embed text.
const EMBED_DESCRIPTION_MAX: usize = 4000;
const EMBED_FIELD_MAX: usize = 1000;
/// Attempts for one event before it is reported as failed.
const ATTEMPTS: u32 = 3;

/// A staff thread and the conversation it belongs to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct ThreadLink {
    thread: ChannelId,
    ticket: String,
    queue: String,
    customer_channel: ChannelId,
}

/// Reads the thread links saved by an earlier run; a missing or unreadable file is an empty
/// list (the problem is logged), so the bot still starts.
fn load_links(path: &std::path::Path) -> Vec<ThreadLink> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::error!(path = %path.display(), error = %e, "thread links unreadable; staff threads of earlier runs are not relayed");
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

/// Saves the links atomically (write a temporary file, then rename).
fn save_links(path: &std::path::Path, links: &[ThreadLink]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(links).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(tmp, path)
}

#[derive(Default)]
struct State {
    sessions: HashMap<u64, Session>,
    customer_channels: HashMap<u64, ChannelId>,
    threads: HashMap<ChannelId, ThreadLink>,
    ticket_threads: HashMap<String, ChannelId>,
    /// One turn at a time per customer: two messages sent at once would otherwise each find no
    /// ticket thread yet (two threads), and each take the session (one loses the other's context).
    turns: HashMap<u64, Arc<tokio::sync::Mutex<()>>>,
}

/// The bot: serenity's event handler over the desk.
pub struct Bot {
    desk: Arc<Desk>,
    config: DiscordConfig,
    state: Mutex<State>,
    links_file: Option<std::path::PathBuf>,
}

/// The customer's text with their attachments as links on lines of their own, so the ticket's
/// transcript and the staff thread carry them (the bot itself reads only the words).
fn with_attachments<'a>(content: &str, urls: impl Iterator<Item = &'a str>) -> String {
    let mut text = content.to_string();
    for url in urls {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("Attachment: {url}"));
    }
    text
}

/// A message that pings nobody: customer and staff text is relayed as written, and an
/// `@everyone` or a role mention in it must not reach anyone.
fn quiet() -> CreateMessage {
    CreateMessage::new().allowed_mentions(CreateAllowedMentions::new())
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn say(lang: Language, de: &str, en: &str) -> String {
    match lang {
        Language::De => de.into(),
        Language::En => en.into(),
    }
}

/// Runs a step for an event, retrying transient failures; a failure after the last attempt
/// is logged with the event id, never dropped silently.
async fn with_retry<F, Fut>(event: &str, mut step: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    for attempt in 1..=ATTEMPTS {
        match step().await {
            Ok(()) => return,
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(event, attempt, error = %e, "event failed, retrying");
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::error!(event, error = %e, "event could not be handled; reported, not dropped");
                eprintln!("switchboard-discord: event {event} could not be handled: {e}");
            }
        }
    }
}

impl Bot {
    /// A bot over a desk.
    pub fn new(desk: Arc<Desk>, config: DiscordConfig) -> Self {
        Bot {
            desk,
            config,
            state: Mutex::new(State::default()),
            links_file: None,
        }
    }

    /// Keeps the thread-to-ticket links in `path`, so staff threads keep working after a
    /// restart; links saved by an earlier run are loaded now.
    #[must_use]
    pub fn with_links_file(mut self, path: std::path::PathBuf) -> Self {
        {
            let mut state = self.state();
            for link in load_links(&path) {
                state.ticket_threads.insert(link.ticket.clone(), link.thread);
                state.threads.insert(link.thread, link);
            }
        }
        self.links_file = Some(path);
        self
    }

    /// How many staff threads the bot knows.
    pub fn known_threads(&self) -> usize {
        self.state().threads.len()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for `user`'s previous turn to finish; the turn lasts while the guard is held.
    async fn turn_of(&self, user: u64) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = Arc::clone(self.state().turns.entry(user).or_default());
        lock.lock_owned().await
    }

    fn session_for(&self, user: u64, name: &str, channel: ChannelId) -> Session {
        let mut state = self.state();
        state.customer_channels.insert(user, channel);
        state.sessions.remove(&user).unwrap_or_else(|| {
            let customer = CustomerIdentity {
                adapter: "discord".into(),
                user_id: user.to_string(),
                display_name: name.into(),
            };
            Session::new(customer, format!("discord:{}", channel.get()))
        })
    }

    /// One customer turn on a blocking thread (the desk does file and database IO).
    async fn customer_turn(
        &self,
        user: u64,
        name: &str,
        channel: ChannelId,
        text: String,
    ) -> Result<CustomerTurn, String> {
        let mut session = self.session_for(user, name, channel);
        let desk = Arc::clone(&self.desk);
        let (session, result) = tokio::task::spawn_blocking(move || {
            let result = desk.customer_message(&mut session, &text, jiff::Timestamp::now());
            (session, result)
        })
        .await
        .map_err(|e| e.to_string())?;
        self.state().sessions.insert(user, session);
        result.map_err(|e| e.to_string())
    }

    fn buttons(lang: Language) -> CreateActionRow {
        CreateActionRow::Buttons(vec![
            CreateButton::new(HELPFUL_YES)
                .label(say(lang, "Hilfreich: Ja", "Helpful: Yes"))
                .style(ButtonStyle::Success),
            CreateButton::new(HELPFUL_NO)
                .label(say(lang, "Nein", "No"))
                .style(ButtonStyle::Secondary),
            CreateButton::new(HUMAN)
                .label(say(lang, "Mit einem Menschen sprechen", "Talk to a human"))
                .style(ButtonStyle::Primary),
        ])
    }

    fn answer_message(turn: &CustomerTurn) -> CreateMessage {
        let lang = turn.decision.as_ref().map_or(Language::En, |d| d.language);
        let mut embed =
            CreateEmbed::new().description(truncate(&turn.replies.join("\n\n"), EMBED_DESCRIPTION_MAX));
        if let Some(d) = &turn.decision {
            for c in d.citations.iter().take(3) {
                let link = c.link.as_deref().map_or_else(
                    || format!("{} › {}", c.title, c.heading),
                    |l| format!("[{} › {}]({l})", c.title, c.heading),
                );
                embed = embed.field(
                    say(lang, "Quelle", "Source"),
                    truncate(&format!("{link}\n`{}`", c.citation), EMBED_FIELD_MAX),
                    false,
                );
            }
        }
        let mut message = quiet().embed(embed);
        if turn
            .decision
            .as_ref()
            .is_some_and(|d| d.outcome != Outcome::Handoff)
        {
            message = message.components(vec![Self::buttons(lang)]);
        }
        message
    }

    fn ticket_embed(ticket: &Ticket) -> CreateEmbed {
        let transcript: Vec<String> = ticket
            .transcript
            .iter()
            .rev()
            .take(10)
            .rev()
            .map(|e| {
                let who = match &e.author {
                    Author::Customer => "customer".to_string(),
                    Author::Bot => "bot".to_string(),
                    Author::Staff { user } => user.clone(),
                };
                format!("**{who}:** {}", truncate(&e.text, 300))
            })
            .collect();
        let f = &ticket.findings;
        let text = |v: &serde_json::Value| truncate(&v.to_string(), EMBED_FIELD_MAX);
        CreateEmbed::new()
            .title(format!("Ticket {} · {}", ticket.id, ticket.queue))
            .description(truncate(
                f.get("summary").and_then(|s| s.as_str()).unwrap_or(""),
                EMBED_DESCRIPTION_MAX,
            ))
            .field(
                "Transcript",
                truncate(&transcript.join("\n"), EMBED_FIELD_MAX),
                false,
            )
            .field(
                "Decision",
                truncate(f["trace"]["reason"].as_str().unwrap_or(""), EMBED_FIELD_MAX),
                false,
            )
            .field("Suggested sections", text(&f["suggested"]), false)
            .field("Entities", text(&f["entities"]), false)
    }

    /// Opens the private staff thread for a new ticket and posts it, pinging the queue's role.
    async fn open_thread(
        &self,
        ctx: &Context,
        ticket: &Ticket,
        customer_channel: ChannelId,
    ) -> Result<(), String> {
        if self.state().ticket_threads.contains_key(&ticket.id) {
            return Ok(());
        }
        let staff = self
            .config
            .queues
            .get(&ticket.queue)
            .ok_or_else(|| format!("no staff channel for queue {}", ticket.queue))?;
        let thread = ChannelId::new(staff.channel)
            .create_thread(
                &ctx.http,
                CreateThread::new(format!("{} {}", ticket.id, ticket.customer.display_name))
                    .kind(ChannelType::PrivateThread),
            )
            .await
            .map_err(|e| e.to_string())?;
        {
            let mut state = self.state();
            let link = ThreadLink {
                thread: thread.id,
                ticket: ticket.id.clone(),
                queue: ticket.queue.clone(),
                customer_channel,
            };
            state.threads.insert(thread.id, link);
            state.ticket_threads.insert(ticket.id.clone(), thread.id);
            if let Some(path) = &self.links_file {
                let links: Vec<ThreadLink> = state.threads.values().cloned().collect();
                if let Err(e) = save_links(path, &links) {
                    tracing::error!(path = %path.display(), error = %e, "could not save thread links");
                }
            }
        }
        thread
            .id
            .send_message(
                &ctx.http,
                CreateMessage::new()
                    .allowed_mentions(CreateAllowedMentions::new().roles([RoleId::new(staff.ping_role)]))
                    .content(format!("<@&{}> new ticket {}", staff.ping_role, ticket.id))
                    .embed(Self::ticket_embed(ticket)),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn after_turn(
        &self,
        ctx: &Context,
        channel: ChannelId,
        turn: &CustomerTurn,
        customer_text: &str,
    ) -> Result<(), String> {
        channel
            .send_message(&ctx.http, Self::answer_message(turn))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(ticket) = &turn.ticket {
            let thread = self.state().ticket_threads.get(&ticket.id).copied();
            match thread {
                // A customer message for an existing ticket goes into its thread.
                Some(thread) if turn.decision.is_none() => {
                    thread
                        .send_message(
                            &ctx.http,
                            quiet().content(format!("**Customer:** {}", truncate(customer_text, 1900))),
                        )
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Some(_) => {}
                None => self.open_thread(ctx, ticket, channel).await?,
            }
        }
        Ok(())
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

    async fn on_thread_message(
        &self,
        ctx: &Context,
        msg: &DiscordMessage,
        link: ThreadLink,
    ) -> Result<(), String> {
        let roles: Vec<u64> = msg
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.get()).collect())
            .unwrap_or_default();
        let Some(staff) = self.staff_member(&msg.author.name, &roles, &link.queue) else {
            msg.channel_id
                .send_message(
                    &ctx.http,
                    CreateMessage::new()
                        .allowed_mentions(CreateAllowedMentions::new().users([msg.author.id]))
                        .content(format!(
                            "<@{}> you do not have a staff role for the `{}` queue; not relayed.",
                            msg.author.id, link.queue
                        )),
                )
                .await
                .map_err(|e| e.to_string())?;
            return Ok(());
        };
        self.staff_act(
            staff,
            link.ticket.clone(),
            StaffAction::Reply(msg.content.clone()),
        )
        .await?;
        link.customer_channel
            .send_message(
                &ctx.http,
                quiet().content(format!(
                    "**{}** (support): {}",
                    msg.author.name,
                    truncate(&msg.content, 1900)
                )),
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn on_component(&self, ctx: &Context, c: &ComponentInteraction) -> Result<(), String> {
        // Acknowledge first: Discord allows three seconds, routing may take longer.
        c.defer(&ctx.http).await.map_err(|e| e.to_string())?;
        let lang = self
            .state()
            .sessions
            .get(&c.user.id.get())
            .and_then(|s| s.context.language)
            .unwrap_or(Language::En);
        let text = match c.data.custom_id.as_str() {
            HUMAN => say(
                lang,
                "Ich möchte mit einem Menschen sprechen",
                "I want to talk to a human",
            ),
            HELPFUL_NO => say(lang, "nein", "no"),
            HELPFUL_YES => {
                c.channel_id
                    .send_message(
                        &ctx.http,
                        quiet().content(say(
                            lang,
                            "Danke für die Rückmeldung!",
                            "Thanks for the feedback!",
                        )),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                return Ok(());
            }
            other => return Err(format!("unknown button `{other}`")),
        };
        let turn = self
            .customer_turn(c.user.id.get(), &c.user.name, c.channel_id, text.clone())
            .await?;
        self.after_turn(ctx, c.channel_id, &turn, &text).await
    }

    async fn on_command(&self, ctx: &Context, cmd: &CommandInteraction) -> Result<(), String> {
        cmd.defer_ephemeral(&ctx.http).await.map_err(|e| e.to_string())?;
        let reply = self.command_reply(cmd).await;
        cmd.edit_response(
            &ctx.http,
            EditInteractionResponse::new().content(truncate(&reply, 1900)),
        )
        .await
        .map_err(|e| e.to_string())?;
        if let (Ok(link), "resolve" | "claim" | "escalate") =
            (self.link_of(cmd.channel_id), cmd.data.name.as_str())
        {
            if reply.starts_with("Ticket") {
                link.customer_channel
                    .send_message(
                        &ctx.http,
                        quiet().content(format!(
                            "Your ticket {}: {}",
                            link.ticket,
                            reply
                                .trim_start_matches("Ticket ")
                                .split_once(' ')
                                .map_or("", |x| x.1)
                        )),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    fn link_of(&self, channel: ChannelId) -> Result<ThreadLink, String> {
        self.state()
            .threads
            .get(&channel)
            .cloned()
            .ok_or_else(|| "use this command in a ticket thread".to_string())
    }

    async fn command_reply(&self, cmd: &CommandInteraction) -> String {
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
                return "Only staff may search the knowledge base here.".into();
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
            return match hits {
                Ok(hits) if hits.is_empty() => "No matching guidance.".into(),
                Ok(hits) => hits
                    .iter()
                    .map(|h| format!("`{}` {} › {}\n{}", h.citation, h.title, h.heading, h.snippet))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
                Err(e) => format!("Search failed: {e}"),
            };
        }
        let link = match self.link_of(cmd.channel_id) {
            Ok(l) => l,
            Err(e) => return e,
        };
        let Some(staff) = self.staff_member(&cmd.user.name, &roles, &link.queue) else {
            return format!("You do not have a staff role for the `{}` queue.", link.queue);
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
                (None, None) => return "escalate needs `queue` or `microsoft`".into(),
            },
            other => return format!("unknown command `{other}`"),
        };
        match self.staff_act(staff, link.ticket.clone(), action).await {
            Ok(t) => format!("Ticket {} is now {}.", t.id, t.status.as_str()),
            Err(e) => format!("Refused: {e}"),
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
        with_retry("ready:commands", || async {
            GuildId::new(self.config.guild)
                .set_commands(&ctx.http, staff_commands())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await;
    }

    async fn message(&self, ctx: Context, msg: DiscordMessage) {
        if msg.author.bot {
            return;
        }
        let event = format!("message:{}", msg.id);
        let link = self.state().threads.get(&msg.channel_id).cloned();
        if let Some(link) = link {
            with_retry(&event, || self.on_thread_message(&ctx, &msg, link.clone())).await;
            return;
        }
        if !self.is_for_bot(&ctx, &msg) {
            return;
        }
        let _turn = self.turn_of(msg.author.id.get()).await;
        let text = with_attachments(&msg.content, msg.attachments.iter().map(|a| a.url.as_str()));
        // The turn runs once (it is recorded by the desk); only delivery is retried, so a
        // message is never processed twice.
        let turn = match self
            .customer_turn(
                msg.author.id.get(),
                &msg.author.name,
                msg.channel_id,
                text.clone(),
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
        with_retry(&event, || self.after_turn(&ctx, msg.channel_id, &turn, &text)).await;
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Component(c) => {
                let _turn = self.turn_of(c.user.id.get()).await;
                with_retry(&format!("interaction:{}", c.id), || self.on_component(&ctx, &c)).await;
            }
            Interaction::Command(cmd) => {
                with_retry(&format!("interaction:{}", cmd.id), || self.on_command(&ctx, &cmd)).await;
            }
            _ => {}
        }
    }
}

/// Builds the serenity client. Production and tests share this wiring; only `api_base`
/// differs (`None` for Discord itself, or a proxy / fake base URL from DISCORD_API_BASE).
pub async fn build_client(bot: Bot, token: &str, api_base: Option<&str>) -> serenity::Result<Client> {
    let intents = GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT
        | GatewayIntents::GUILDS;
    let builder = match api_base {
        // The rate limiter must be off for the proxy to be used (serenity 0.12).
        Some(base) => serenity::all::ClientBuilder::new_with_http(
            HttpBuilder::new(token)
                .proxy(base)
                .ratelimiter_disabled(true)
                .build(),
            intents,
        )
        .event_handler(bot),
        None => Client::builder(token, intents).event_handler(bot),
    };
    builder.await
}

/// Connects and runs until the client stops.
pub async fn run(client: &mut Client, shards: Shards) -> serenity::Result<()> {
    match shards {
        Shards::Auto => client.start_autosharded().await,
        Shards::Fixed(n) => client.start_shards(n.max(1)).await,
    }
}
