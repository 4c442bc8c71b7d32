//! The help desk: customer messages in (routed, and turned into tickets on handoff), staff
//! actions on tickets (each checked against the support model's roles), and the customer's
//! view of staff replies. Adapters (terminal, Discord, web) all go through this.

use crate::decision::{Decision, Outcome};
use crate::language::say;
use crate::redact::redact;
use crate::router::{ConversationContext, Message, Router};
use crate::support::{stored_time_text, StaffRole, TechnicalEntitlement};
use crate::tickets::{
    Author, CustomerIdentity, Escalation, NewTicket, StaffAction, Ticket, TicketError, TicketFilter,
    TicketHead, TicketStatus, TicketStore, TranscriptEntry,
};
use jiff::Timestamp;
use std::sync::Arc;
use switchboard_knowledge::Language;

/// Messages longer than this are refused with a clear reply (the customer keeps their text).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// One adapter: platform events in, core messages out; core outcomes in, platform replies out.
/// Nothing more: routing, tickets and permissions live in the core.
pub trait Adapter {
    /// What the platform delivers.
    type Event;
    /// What the platform sends back.
    type Reply;
    /// Turns a platform event into a customer message, or `None` for events to ignore.
    fn to_message(&self, event: &Self::Event) -> Option<Message>;
    /// Turns the outcome of a turn into a platform reply.
    fn to_reply(&self, turn: &CustomerTurn) -> Self::Reply;
}

/// A staff member acting in some role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffMember {
    /// User name.
    pub user: String,
    /// Role.
    pub role: StaffRole,
}

/// What one customer conversation remembers.
#[derive(Debug, Clone)]
pub struct Session {
    /// The customer.
    pub customer: CustomerIdentity,
    /// Conversation id.
    pub conversation: String,
    /// Routing context.
    pub context: ConversationContext,
    /// The conversation so far (goes into a ticket on handoff).
    pub transcript: Vec<TranscriptEntry>,
    /// The customer was told not to post card numbers or IBANs.
    pub warned_about_secrets: bool,
    /// Staff messages already shown, per ticket id.
    pub staff_seen: Vec<(String, usize)>,
    /// A language hint from the adapter.
    pub language_hint: Option<Language>,
    /// What the customer said of answers ("was this helpful?"): `true` helped.
    pub feedback: Vec<bool>,
}

impl Session {
    /// A new conversation.
    pub fn new(customer: CustomerIdentity, conversation: impl Into<String>) -> Self {
        Session {
            customer,
            conversation: conversation.into(),
            context: ConversationContext::default(),
            transcript: Vec::new(),
            warned_about_secrets: false,
            staff_seen: Vec::new(),
            language_hint: None,
            feedback: Vec::new(),
        }
    }
}

/// The result of one customer message.
#[derive(Debug, Clone)]
pub struct CustomerTurn {
    /// Everything to show the customer, in order.
    pub replies: Vec<String>,
    /// The routing decision, when the message was routed.
    pub decision: Option<Decision>,
    /// The ticket the message went into, if any.
    pub ticket: Option<TicketHead>,
    /// The message as it was kept (secrets removed): what anyone else is ever shown of it.
    /// `None` when it was not kept (too long, or no text).
    pub kept: Option<String>,
    /// Whether secrets were removed from it: an adapter whose channel shows the message to
    /// others removes it there too.
    pub secrets_removed: bool,
}

/// The help desk.
pub struct Desk {
    /// Swapped whole when the guidance or plugins change ([`Desk::replace_router`]); a message
    /// holds the router it started with until it is answered.
    router: std::sync::RwLock<Arc<Router>>,
    store: Arc<dyn TicketStore>,
    reopen_window_hours: i64,
}

fn now_text(now: Timestamp) -> String {
    now.to_string()
}

fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

impl Desk {
    /// A desk over a router and a ticket store; resolved tickets reopen when the customer
    /// writes within `reopen_window_hours`.
    pub fn new(router: Router, store: Arc<dyn TicketStore>, reopen_window_hours: i64) -> Self {
        Desk {
            router: std::sync::RwLock::new(Arc::new(router)),
            store,
            // Longer than ten years is a typo; `SignedDuration::from_hours` would overflow.
            reopen_window_hours: reopen_window_hours.clamp(0, 87_600),
        }
    }

    /// The router now.
    pub fn router(&self) -> Arc<Router> {
        Arc::clone(
            &self
                .router
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Puts a new router (new guidance, plugins, support model) in place for the next
    /// messages; messages being answered finish with the one they started with.
    pub fn replace_router(&self, router: Router) {
        *self
            .router
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(router);
    }

    /// The store.
    pub fn store(&self) -> &dyn TicketStore {
        self.store.as_ref()
    }

    fn language_of(&self, session: &Session, text: &str) -> Language {
        crate::language::detect(text, session.language_hint, session.context.language).0
    }

    /// Handles one customer message.
    pub fn customer_message(
        &self,
        session: &mut Session,
        text: &str,
        now: Timestamp,
    ) -> Result<CustomerTurn, TicketError> {
        self.customer_message_with_id(session, text, None, now)
    }

    /// Handles one customer message that carries the sender's id for it: sent again (a retry,
    /// a redelivered event, on this process or another), it is answered again but stored once.
    pub fn customer_message_with_id(
        &self,
        session: &mut Session,
        text: &str,
        message_id: Option<&str>,
        now: Timestamp,
    ) -> Result<CustomerTurn, TicketError> {
        let lang = self.language_of(session, text);
        let mut replies = Vec::new();
        if text.len() > MAX_MESSAGE_BYTES {
            replies.push(say(
                lang,
                &format!("Ihre Nachricht ist zu lang ({} Bytes; höchstens {MAX_MESSAGE_BYTES}). Bitte kürzen Sie sie oder teilen Sie sie auf.", text.len()),
                &format!("Your message is too long ({} bytes; at most {MAX_MESSAGE_BYTES}). Please shorten it or split it up.", text.len()),
            ));
            return Ok(CustomerTurn {
                replies,
                decision: None,
                ticket: None,
                kept: None,
                secrets_removed: false,
            });
        }
        let redacted = redact(&clean(text));
        if redacted.text.trim().is_empty() {
            // Only control characters, or an image with no words: never an empty reply.
            replies.push(say(
                lang,
                "Ich habe in Ihrer Nachricht keinen Text gefunden. Bitte schreiben Sie Ihre Frage in Worten; Bilder kann ich nicht lesen.",
                "I found no text in your message. Please write your question in words; I cannot read images.",
            ));
            return Ok(CustomerTurn {
                replies,
                decision: None,
                ticket: None,
                kept: None,
                secrets_removed: false,
            });
        }
        if redacted.removed && !session.warned_about_secrets {
            session.warned_about_secrets = true;
            replies.push(say(
                lang,
                "Bitte schreiben Sie hier keine Kartennummern, Prüfnummern, Passwörter, Zugangsschlüssel oder IBANs; ich habe sie aus Ihrer Nachricht entfernt.",
                "Please do not post card numbers, security codes, passwords, access keys or IBANs here; I have removed them from your message.",
            ));
        }
        let at = now_text(now);
        let entry = TranscriptEntry {
            author: Author::Customer,
            text: redacted.text.clone(),
            at: at.clone(),
            id: message_id.map(str::to_string),
        };
        let since = now
            .checked_sub(jiff::SignedDuration::from_hours(self.reopen_window_hours))
            .unwrap_or(now);
        let existing = self
            .store
            .latest_for_customer(&session.customer.customer_id(), &now_text(since))?;
        let mut message = Message {
            text: redacted.text.clone(),
            conversation: session.conversation.clone(),
            user: session.customer.user_id.clone(),
            adapter: session.customer.adapter.clone(),
            language_hint: session.language_hint,
        };
        message.language_hint = message.language_hint.or(session.context.language);
        session.context.has_ticket = existing.is_some();
        let decision = self
            .router()
            .decide(&message, &mut session.context, now)
            .map_err(|e| TicketError::Store(format!("routing failed: {e}")))?;
        if let Some(feedback) = decision.feedback {
            session.feedback.push(feedback);
        }
        // The reply as noted on an open ticket, when the message was not about it.
        let mut noted_reply = None;
        if let Some(existing) = existing {
            // A new question the guidance answers or may answer (suggestions), or a greeting or
            // thanks, is not about the ticket: it is answered, and noted on a ticket that is
            // still open. Anything else (a follow-up, a request for a person, an unclear message)
            // goes to the ticket and reopens it if it was resolved. A question with suggestions
            // had gone to the ticket with nothing but "I have added this to your ticket".
            let unrelated = matches!(
                decision.outcome,
                Outcome::Answer | Outcome::Suggest | Outcome::Reply
            );
            if !unrelated {
                let reopen = existing.status == TicketStatus::Resolved;
                // Nothing is read back: a conversation of thousands of lines costs the same
                // per line as a short one.
                self.store
                    .append_all(&existing.id, std::slice::from_ref(&entry), reopen)?;
                let ticket = TicketHead {
                    status: if reopen {
                        TicketStatus::Open
                    } else {
                        existing.status
                    },
                    ..existing
                };
                session.transcript.push(entry);
                replies.push(self.added_to_ticket(&ticket, reopen, decision.language, now));
                return Ok(CustomerTurn {
                    replies,
                    decision: None,
                    ticket: Some(ticket),
                    kept: Some(redacted.text),
                    secrets_removed: redacted.removed,
                });
            }
            if existing.status != TicketStatus::Resolved {
                let mut reply = decision.reply.clone();
                // Suggestions are a guess: the message may be a detail for the team ("invoice
                // G012..."), so the customer is told it reached them too.
                if decision.outcome == Outcome::Suggest {
                    reply.push('\n');
                    reply.push_str(&say(
                        decision.language,
                        &format!(
                            "Ich habe Ihre Nachricht auch zu Ihrem Ticket {} hinzugefügt.",
                            existing.id
                        ),
                        &format!("I have also added your message to your ticket {}.", existing.id),
                    ));
                }
                let bot = TranscriptEntry {
                    author: Author::Bot,
                    text: reply.clone(),
                    at: at.clone(),
                    id: None,
                };
                self.store
                    .append_all(&existing.id, &[entry.clone(), bot], false)?;
                noted_reply = Some(reply);
            }
        }
        session.transcript.push(entry);
        let mut ticket = None;
        let mut reply = noted_reply.unwrap_or_else(|| decision.reply.clone());
        if decision.outcome == Outcome::Handoff {
            let handoff = decision
                .handoff
                .as_ref()
                .expect("handoff outcome carries details");
            let findings = serde_json::json!({
                "summary": handoff.summary,
                "reason": handoff.reason,
                "entities": handoff.entities,
                "suggested": handoff.suggested,
                "trace": decision.trace,
            });
            // The reply names the ticket, so it is written with it, in one commit: the ticket
            // is durable before the customer is told a person takes over.
            let body = reply.clone();
            let language = decision.language;
            let reply_for = |id: &str| TranscriptEntry {
                author: Author::Bot,
                text: format!(
                    "{body}\n{}",
                    say(
                        language,
                        &format!("Ihre Ticketnummer: {id}."),
                        &format!("Your ticket: {id}.")
                    )
                ),
                at: at.clone(),
                id: None,
            };
            let created = self.store.create_with_reply(
                NewTicket {
                    customer: session.customer.clone(),
                    conversation: session.conversation.clone(),
                    queue: handoff.queue.clone(),
                    transcript: session.transcript.clone(),
                    findings,
                    due: handoff.respond_by.clone(),
                },
                &at,
                &reply_for,
            )?;
            let bot = reply_for(&created.id);
            reply.clone_from(&bot.text);
            ticket = Some(TicketHead::from(&created));
            session.transcript.push(bot);
        } else {
            session.transcript.push(TranscriptEntry {
                author: Author::Bot,
                text: reply.clone(),
                at,
                id: None,
            });
        }
        replies.push(reply);
        Ok(CustomerTurn {
            replies,
            decision: Some(decision),
            ticket,
            kept: Some(redacted.text),
            secrets_removed: redacted.removed,
        })
    }

    /// What the customer is told when their message went to their ticket: with the time the
    /// handoff promised a reply by ("when will you get back to me?"), or that it has passed. A
    /// reopened ticket's promise was for the request before.
    fn added_to_ticket(&self, ticket: &TicketHead, reopened: bool, lang: Language, now: Timestamp) -> String {
        let zone = self.router().support().queue_zone(&ticket.queue);
        let due = ticket
            .due
            .as_deref()
            .filter(|_| !reopened)
            .and_then(|due| crate::support::stored_due(due, &zone));
        let id = &ticket.id;
        match due {
            Some(due) if due.timestamp() > now => {
                let by = crate::support::time_text(&due, lang);
                say(
                    lang,
                    &format!("Ich habe das zu Ihrem Ticket {id} hinzugefügt; das Team antwortet Ihnen hier, bis {by}."),
                    &format!("I have added this to your ticket {id}; the team will reply to you here by {by}."),
                )
            }
            Some(due) => {
                let by = crate::support::time_text(&due, lang);
                say(
                    lang,
                    &format!("Ich habe das zu Ihrem Ticket {id} hinzugefügt. Die Antwort war bis {by} zugesagt und ist überfällig; das Team sieht Ihre Nachricht im Ticket."),
                    &format!("I have added this to your ticket {id}. A reply was promised by {by} and is overdue; the team sees your message on the ticket."),
                )
            }
            None => say(
                lang,
                &format!("Ich habe das zu Ihrem Ticket {id} hinzugefügt; das Team antwortet Ihnen hier."),
                &format!("I have added this to your ticket {id}; the team will reply to you here."),
            ),
        }
    }

    /// Staff messages on the customer's tickets not yet shown in this session.
    pub fn new_staff_messages(
        &self,
        session: &mut Session,
    ) -> Result<Vec<(String, TranscriptEntry)>, TicketError> {
        let mut out = Vec::new();
        for (ticket, staff) in self.store.staff_messages(&session.customer.customer_id())? {
            let seen = session
                .staff_seen
                .iter()
                .find(|(id, _)| *id == ticket)
                .map_or(0, |(_, n)| *n);
            for entry in staff.iter().skip(seen) {
                out.push((ticket.clone(), entry.clone()));
            }
            session.staff_seen.retain(|(id, _)| *id != ticket);
            session.staff_seen.push((ticket, staff.len()));
        }
        Ok(out)
    }

    /// The staff member `user` acting on `queue` in the first of `roles` the queue allows;
    /// refused (naming the first role) when none does.
    fn member_for_queue(
        &self,
        user: &str,
        roles: &[StaffRole],
        queue: &str,
    ) -> Result<StaffMember, TicketError> {
        let router = self.router();
        let allowed = router
            .support()
            .queue(queue)
            .map(|q| q.roles.as_slice())
            .unwrap_or_default();
        match roles.iter().find(|role| allowed.contains(role)) {
            Some(role) => Ok(StaffMember {
                user: user.to_string(),
                role: *role,
            }),
            None => Err(TicketError::Forbidden {
                role: roles.first().map_or("none", |r| role_name(*r)).into(),
                queue: queue.into(),
            }),
        }
    }

    /// A ticket, if the staff member's role may see its queue.
    pub fn staff_view(&self, staff: &StaffMember, id: &str) -> Result<Ticket, TicketError> {
        self.staff_view_as(&staff.user, &[staff.role], id)
    }

    /// A ticket, if one of the staff member's roles may see its queue (a web account may hold
    /// several): the ticket is read once, its queue decides the role.
    pub fn staff_view_as(&self, user: &str, roles: &[StaffRole], id: &str) -> Result<Ticket, TicketError> {
        let ticket = self.store.get(id)?;
        self.member_for_queue(user, roles, &ticket.queue)?;
        Ok(ticket)
    }

    /// Tickets of the queues the staff member's role may see.
    pub fn staff_list(
        &self,
        staff: &StaffMember,
        status: Option<TicketStatus>,
    ) -> Result<Vec<Ticket>, TicketError> {
        let queues: Vec<String> = self
            .router()
            .support()
            .queues
            .iter()
            .filter(|q| q.roles.contains(&staff.role))
            .map(|q| q.id.clone())
            .collect();
        if queues.is_empty() {
            return Ok(Vec::new());
        }
        self.store.list(&TicketFilter {
            queues,
            status,
            customer_id: None,
        })
    }

    /// Applies a staff action after checking the role against the ticket's queue (and, for
    /// an escalation to another queue, that queue too).
    pub fn staff_act(
        &self,
        staff: &StaffMember,
        id: &str,
        action: StaffAction,
        now: Timestamp,
    ) -> Result<Ticket, TicketError> {
        self.staff_act_as(&staff.user, &[staff.role], id, action, now)
    }

    /// [`Self::staff_act`] for a staff member with several roles: the first one the ticket's
    /// queue allows acts (the ticket is read once for it).
    pub fn staff_act_as(
        &self,
        user: &str,
        roles: &[StaffRole],
        id: &str,
        action: StaffAction,
        now: Timestamp,
    ) -> Result<Ticket, TicketError> {
        let ticket = self.store.get(id)?;
        let staff = self.member_for_queue(user, roles, &ticket.queue)?;
        let action = match action {
            StaffAction::Escalate(Escalation::Queue { queue }) => {
                if self.router().support().queue(&queue).is_none() {
                    return Err(TicketError::Store(format!("unknown queue `{queue}`")));
                }
                StaffAction::Escalate(Escalation::Queue { queue })
            }
            StaffAction::Escalate(Escalation::MicrosoftTechnical { case_number, .. }) => {
                let entitlement = self.router().support().microsoft.technical;
                if entitlement == TechnicalEntitlement::None {
                    return Err(TicketError::Store(
                        "the partner has no Microsoft technical support entitlement".into(),
                    ));
                }
                StaffAction::Escalate(Escalation::MicrosoftTechnical {
                    entitlement,
                    case_number,
                })
            }
            StaffAction::Reply(text) => StaffAction::Reply(redact(&clean(&text)).text),
            other => other,
        };
        self.store.act(id, &staff.user, &action, &now_text(now))
    }

    /// All tickets of a customer (global admins only), for export.
    pub fn export_customer(
        &self,
        staff: &StaffMember,
        customer_id: &str,
    ) -> Result<Vec<Ticket>, TicketError> {
        require_global_admin(staff, "export a customer's data")?;
        self.store.list(&TicketFilter {
            customer_id: Some(customer_id.into()),
            ..TicketFilter::default()
        })
    }

    /// Erases every ticket of a customer (global admins only).
    pub fn erase_customer(&self, staff: &StaffMember, customer_id: &str) -> Result<usize, TicketError> {
        require_global_admin(staff, "erase a customer's data")?;
        self.store.erase_customer(customer_id)
    }

    /// Purges resolved tickets older than `days` (global admins only).
    pub fn purge_resolved(
        &self,
        staff: &StaffMember,
        days: i64,
        now: Timestamp,
    ) -> Result<usize, TicketError> {
        require_global_admin(staff, "purge tickets")?;
        // A period too long to compute (or negative) reaches back before any ticket: nothing is
        // older. Wrapping it round to "now" would delete what was resolved a second ago.
        let cutoff = days
            .checked_mul(3600 * 24)
            .filter(|secs| *secs >= 0)
            .map(jiff::SignedDuration::from_secs)
            .and_then(|period| now.checked_sub(period).ok());
        match cutoff {
            Some(cutoff) => self.store.purge_resolved_before(&now_text(cutoff)),
            None => Ok(0),
        }
    }

    /// The language to speak to the customer of `session` in when no message says it: the
    /// adapter's hint, else the conversation's so far, else English.
    pub fn session_language(session: &Session) -> Language {
        session
            .language_hint
            .or(session.context.language)
            .unwrap_or(Language::En)
    }

    /// The customer's own tickets; a customer never sees anyone else's.
    pub fn customer_tickets(&self, customer: &CustomerIdentity) -> Result<Vec<Ticket>, TicketError> {
        self.store.list(&TicketFilter {
            customer_id: Some(customer.customer_id()),
            ..TicketFilter::default()
        })
    }

    /// The customer's own tickets as they read them in `lang`: a line each with the team's
    /// name, the status and when it was opened in the team's time zone, or a sentence saying
    /// there are none.
    pub fn customer_ticket_lines(
        &self,
        customer: &CustomerIdentity,
        lang: Language,
    ) -> Result<Vec<String>, TicketError> {
        let tickets = self.customer_tickets(customer)?;
        if tickets.is_empty() {
            return Ok(vec![say(
                lang,
                "Sie haben keine Tickets.",
                "You have no tickets.",
            )]);
        }
        let router = self.router();
        let support = router.support();
        let opened = say(lang, "eröffnet", "opened");
        Ok(tickets
            .iter()
            .map(|t| {
                let at = stored_time_text(&t.created_at, &support.queue_zone(&t.queue), lang);
                format!(
                    "{}: {}, {}, {opened} {at}",
                    t.id,
                    support.queue_name(&t.queue, lang),
                    status_word(t.status, lang)
                )
            })
            .collect())
    }

    /// What the customer is told when staff change their ticket's status, in the customer's
    /// language: `Your ticket T-1: being worked on (billing team).`
    pub fn customer_status_note(&self, ticket: &Ticket) -> String {
        let lang = ticket.language();
        let router = self.router();
        let team = router.support().queue_name(&ticket.queue, lang);
        let status = status_word(ticket.status, lang);
        say(
            lang,
            &format!("Ihr Ticket {}: {status} ({team}).", ticket.id),
            &format!("Your ticket {}: {status} ({team}).", ticket.id),
        )
    }
}

/// A ticket's status as a customer of `lang` reads it.
fn status_word(status: TicketStatus, lang: Language) -> &'static str {
    match (lang, status) {
        (Language::De, TicketStatus::Open) => "offen",
        (Language::De, TicketStatus::Claimed) => "in Bearbeitung",
        (Language::De, TicketStatus::Escalated) => "weitergeleitet",
        (Language::De, TicketStatus::Resolved) => "erledigt",
        (Language::En, TicketStatus::Open) => "open",
        (Language::En, TicketStatus::Claimed) => "being worked on",
        (Language::En, TicketStatus::Escalated) => "passed on",
        (Language::En, TicketStatus::Resolved) => "resolved",
    }
}

fn role_name(role: StaffRole) -> &'static str {
    match role {
        StaffRole::GlobalAdmin => "global-admin",
        StaffRole::UserAdmin => "user-admin",
        StaffRole::HelpdeskAgent => "helpdesk-agent",
        StaffRole::BillingAdmin => "billing-admin",
        StaffRole::SalesAgent => "sales-agent",
    }
}

fn require_global_admin(staff: &StaffMember, what: &str) -> Result<(), TicketError> {
    if staff.role == StaffRole::GlobalAdmin {
        Ok(())
    } else {
        Err(TicketError::AdminOnly {
            role: role_name(staff.role).into(),
            action: what.into(),
        })
    }
}
