//! Handoff tickets: the domain types and the store trait. The store itself (SQLite) lives
//! in its own crate; the core only knows this trait.

use crate::support::{StaffRole, TechnicalEntitlement};
use serde::{Deserialize, Serialize};
use switchboard_knowledge::Language;

/// Who a customer is, on which platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerIdentity {
    /// The adapter (`terminal`, `discord`, `web`).
    pub adapter: String,
    /// The user id on that platform.
    pub user_id: String,
    /// A display name.
    pub display_name: String,
}

impl CustomerIdentity {
    /// The stable customer id: `adapter:user_id`.
    pub fn customer_id(&self) -> String {
        format!("{}:{}", self.adapter, self.user_id)
    }
}

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    /// Waiting for staff.
    Open,
    /// A staff member took it.
    Claimed,
    /// Passed to another queue or to Microsoft.
    Escalated,
    /// Done.
    Resolved,
}

impl TicketStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Claimed => "claimed",
            TicketStatus::Escalated => "escalated",
            TicketStatus::Resolved => "resolved",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "open" => TicketStatus::Open,
            "claimed" => TicketStatus::Claimed,
            "escalated" => TicketStatus::Escalated,
            "resolved" => TicketStatus::Resolved,
            _ => return None,
        })
    }
}

/// Who wrote a transcript entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Author {
    /// The customer.
    Customer,
    /// The bot.
    Bot,
    /// A staff member.
    Staff {
        /// Staff user name.
        user: String,
    },
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptEntry {
    /// Who wrote it.
    pub author: Author,
    /// What was written (already redacted).
    pub text: String,
    /// When, RFC 3339.
    pub at: String,
    /// The sender's own id for the message (a Discord message id, the web chat's id for a
    /// send), where it has one: a message sent again (a retry after a lost response, a
    /// redelivered event, possibly to another process) is stored once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Where a ticket was escalated to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "kebab-case")]
pub enum Escalation {
    /// Another queue of the partner.
    Queue {
        /// Queue id.
        queue: String,
    },
    /// Microsoft commercial (billing, licensing) support.
    MicrosoftCommercial {
        /// The Microsoft case number, once known.
        case_number: Option<String>,
    },
    /// Microsoft technical support through the partner's entitlement.
    MicrosoftTechnical {
        /// Which entitlement.
        entitlement: TechnicalEntitlement,
        /// The Microsoft case number, once known.
        case_number: Option<String>,
    },
}

impl std::fmt::Display for Escalation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let case = |case_number: &Option<String>| {
            case_number
                .as_ref()
                .map(|c| format!(", case {c}"))
                .unwrap_or_default()
        };
        match self {
            Escalation::Queue { queue } => write!(f, "escalated to queue {queue}"),
            Escalation::MicrosoftCommercial { case_number } => {
                write!(
                    f,
                    "escalated to Microsoft commercial support{}",
                    case(case_number)
                )
            }
            Escalation::MicrosoftTechnical {
                entitlement,
                case_number,
            } => write!(
                f,
                "escalated to Microsoft technical support ({}){}",
                entitlement.display_name(),
                case(case_number)
            ),
        }
    }
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Who: a staff user, `customer` or `bot`.
    pub actor: String,
    /// What, in words (`claimed`, `escalated to microsoft-commercial case 123`, ...).
    pub action: String,
    /// When, RFC 3339.
    pub at: String,
}

/// A handoff ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Short id, e.g. `T-1042`.
    pub id: String,
    /// The customer.
    pub customer: CustomerIdentity,
    /// Conversation id on the platform.
    pub conversation: String,
    /// The queue working it.
    pub queue: String,
    /// Status.
    pub status: TicketStatus,
    /// Staff member who claimed it.
    pub assignee: Option<String>,
    /// The whole conversation.
    pub transcript: Vec<TranscriptEntry>,
    /// The bot's findings at handoff (decision trace, suggested sections, entities), as JSON.
    pub findings: serde_json::Value,
    /// When the customer should hear back, in the queue's time zone.
    pub due: Option<String>,
    /// Escalations, in order.
    pub escalations: Vec<Escalation>,
    /// Every transition.
    pub audit: Vec<AuditEntry>,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
}

impl Ticket {
    /// The language the customer wrote in when the ticket was opened (from the decision trace
    /// in its findings), English where the findings do not say.
    pub fn language(&self) -> Language {
        serde_json::from_value(self.findings["trace"]["language"].clone()).unwrap_or(Language::En)
    }
}

/// What the desk reads of a customer's latest ticket on every message, and what a turn tells
/// the adapter of the ticket it went into (the rest is read when needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketHead {
    /// Ticket id.
    pub id: String,
    /// Status.
    pub status: TicketStatus,
    /// Queue.
    pub queue: String,
    /// When the customer should hear back, as stored (`Ticket::due`).
    pub due: Option<String>,
}

impl From<&Ticket> for TicketHead {
    fn from(ticket: &Ticket) -> Self {
        TicketHead {
            id: ticket.id.clone(),
            status: ticket.status,
            queue: ticket.queue.clone(),
            due: ticket.due.clone(),
        }
    }
}

/// What a new ticket starts with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewTicket {
    /// The customer.
    pub customer: CustomerIdentity,
    /// Conversation id.
    pub conversation: String,
    /// Queue.
    pub queue: String,
    /// The conversation so far.
    pub transcript: Vec<TranscriptEntry>,
    /// The bot's findings, as JSON.
    pub findings: serde_json::Value,
    /// Due time.
    pub due: Option<String>,
}

/// A staff action on a ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum StaffAction {
    /// Take the ticket (refused while another staff member holds it).
    Claim,
    /// Take a ticket another staff member holds (audited with whom it was taken from).
    TakeOver,
    /// Write to the customer.
    Reply(String),
    /// Escalate.
    Escalate(Escalation),
    /// Close.
    Resolve,
}

/// Ticket store errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TicketError {
    /// No such ticket.
    #[error("no ticket `{0}`")]
    NotFound(String),
    /// The action does not fit the ticket's status.
    #[error("ticket {id} is {status}: cannot {action}")]
    InvalidTransition {
        /// Ticket id.
        id: String,
        /// Its status.
        status: &'static str,
        /// The action.
        action: String,
    },
    /// The staff member may not act on this queue.
    #[error("role {role} may not act on queue `{queue}`")]
    Forbidden {
        /// The role.
        role: String,
        /// The queue.
        queue: String,
    },
    /// Only a global admin may do this.
    #[error("only a global admin may {action} (your role: {role})")]
    AdminOnly {
        /// The role.
        role: String,
        /// What was refused.
        action: String,
    },
    /// The database is locked by another process for too long.
    #[error("the ticket database is busy (locked by another process); try again")]
    Busy,
    /// The database cannot be written.
    #[error("the ticket database at {path} cannot be written: {reason}")]
    ReadOnly {
        /// Path.
        path: String,
        /// Why.
        reason: String,
    },
    /// Anything else from the store.
    #[error("ticket store: {0}")]
    Store(String),
}

/// Which tickets to list.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only these queues (empty: all).
    pub queues: Vec<String>,
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only this customer id.
    pub customer_id: Option<String>,
}

/// A ticket store. Implementations make a ticket durable before `create` returns.
pub trait TicketStore: Send + Sync {
    /// Creates a ticket, or, when the customer already has one that is not resolved, adds the
    /// new ticket's last message to that one (find or create, atomically: one open ticket per
    /// customer); durable when this returns.
    fn create(&self, ticket: NewTicket, now: &str) -> Result<Ticket, TicketError>;
    /// Creates a ticket (or adds to the customer's open one, as `create`) and appends the bot's
    /// reply, which names the ticket's id, in one transaction where the store has them.
    fn create_with_reply(
        &self,
        ticket: NewTicket,
        now: &str,
        reply: &dyn Fn(&str) -> TranscriptEntry,
    ) -> Result<Ticket, TicketError> {
        let created = self.create(ticket, now)?;
        self.append(&created.id, reply(&created.id), false)
    }
    /// Reads a ticket.
    fn get(&self, id: &str) -> Result<Ticket, TicketError>;
    /// Lists tickets, newest first.
    fn list(&self, filter: &TicketFilter) -> Result<Vec<Ticket>, TicketError>;
    /// The customer's newest ticket that is not resolved, or resolved after `resolved_since`.
    fn latest_for_customer(
        &self,
        customer_id: &str,
        resolved_since: &str,
    ) -> Result<Option<TicketHead>, TicketError>;
    /// The staff messages on a customer's tickets, per ticket (oldest ticket first), without
    /// reading the rest of the transcripts: asked on every chat line and every live poll.
    fn staff_messages(&self, customer_id: &str) -> Result<Vec<(String, Vec<TranscriptEntry>)>, TicketError> {
        let mut tickets = self.list(&TicketFilter {
            customer_id: Some(customer_id.to_string()),
            ..TicketFilter::default()
        })?;
        tickets.reverse();
        Ok(tickets
            .into_iter()
            .map(|t| {
                let staff = t
                    .transcript
                    .into_iter()
                    .filter(|e| matches!(e.author, Author::Staff { .. }))
                    .collect();
                (t.id, staff)
            })
            .collect())
    }
    /// Appends to the transcript (reopening a resolved ticket when `reopen`).
    fn append(&self, id: &str, entry: TranscriptEntry, reopen: bool) -> Result<Ticket, TicketError>;
    /// Appends several entries at once (a customer's message and the reply), in one
    /// transaction where the store has them: one commit instead of one per entry. Nothing is
    /// read back: the desk calls it on every answered line of a customer with an open ticket.
    fn append_all(&self, id: &str, entries: &[TranscriptEntry], reopen: bool) -> Result<(), TicketError> {
        for (i, entry) in entries.iter().enumerate() {
            self.append(id, entry.clone(), reopen && i == 0)?;
        }
        Ok(())
    }
    /// Applies a staff action (permissions are checked by the caller, [`crate::desk::Desk`]).
    fn act(&self, id: &str, actor: &str, action: &StaffAction, now: &str) -> Result<Ticket, TicketError>;
    /// Deletes resolved tickets last changed before `cutoff`; returns how many.
    fn purge_resolved_before(&self, cutoff: &str) -> Result<usize, TicketError>;
    /// Deletes every ticket of a customer; returns how many.
    fn erase_customer(&self, customer_id: &str) -> Result<usize, TicketError>;
    /// The adapters' outbox: records that `adapter` delivered `key` for a ticket (its staff
    /// thread, "staff notified"), replacing an earlier value.
    fn set_delivery(
        &self,
        id: &str,
        adapter: &str,
        key: &str,
        value: &str,
        now: &str,
    ) -> Result<(), TicketError>;
    /// Every delivery by `adapter` whose key starts with `key_prefix`: `(ticket id, key,
    /// value)`, oldest ticket first.
    fn deliveries(
        &self,
        adapter: &str,
        key_prefix: &str,
    ) -> Result<Vec<(String, String, String)>, TicketError>;
    /// The value `adapter` recorded for `key` of a ticket, if any (what another process may
    /// have delivered since this one last looked).
    fn delivery(&self, id: &str, adapter: &str, key: &str) -> Result<Option<String>, TicketError>;
    /// Claims the delivery of `key` for a ticket for `holder` (one process of several on one
    /// database): true when no one holds it, `holder` does already, or the claim of another
    /// was last taken before `stale_before` (its process died or hung). Compare-and-set in one
    /// statement, so of processes asking at once one wins; it is recorded as the outbox row
    /// `claim:{key}`, which the other outbox reads never match.
    fn claim_delivery(
        &self,
        id: &str,
        adapter: &str,
        key: &str,
        holder: &str,
        stale_before: &str,
        now: &str,
    ) -> Result<bool, TicketError>;
    /// Gives up `holder`'s claim on a delivery (it failed; another pass or process may try).
    fn release_delivery(&self, id: &str, adapter: &str, key: &str, holder: &str) -> Result<(), TicketError>;
    /// Whether several processes may share this store: then an adapter keeps a conversation
    /// that has no ticket yet in it too ([`Self::save_conversation`]), so that conversation's
    /// next message may reach any process.
    fn shared(&self) -> bool {
        false
    }
    /// Keeps `state` (the adapter's own JSON) of a customer's conversation that has no ticket
    /// yet, replacing what was kept; erased with the customer, purged once idle past the
    /// retention of resolved tickets.
    fn save_conversation(&self, customer_id: &str, state: &str, now: &str) -> Result<(), TicketError>;
    /// What [`Self::save_conversation`] kept for a customer.
    fn conversation(&self, customer_id: &str) -> Result<Option<String>, TicketError>;
    /// The tickets of `adapter`'s customers that are not resolved and have no `key` delivery,
    /// oldest first: what a crash or a failed call left undelivered. `{queue}` in `key` stands
    /// for each ticket's queue, so a delivery to one queue does not count once the ticket is
    /// escalated to another.
    fn undelivered(&self, adapter: &str, key: &str) -> Result<Vec<String>, TicketError>;
}

/// Whether a role may work a queue.
pub fn role_allowed(roles: &[StaffRole], role: StaffRole) -> bool {
    roles.contains(&role)
}
