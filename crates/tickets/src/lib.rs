//! The ticket stores behind [`switchboard_core::tickets::TicketStore`]: SQLite in the data
//! directory (the embedded default, one machine) and PostgreSQL (several processes and
//! machines on one database server). Both apply the same numbered schema migrations on open
//! and give the same guarantees: a ticket is committed before the customer is told, one ticket
//! that is not resolved per customer, claims as compare-and-set.
#![deny(missing_docs)]

mod copy;
mod postgres;
mod sqlite;

pub use copy::{copy_sqlite_to_postgres, CopyReport};
pub use postgres::PostgresTicketStore;
pub use sqlite::SqliteTicketStore;

use std::path::Path;
use std::sync::Arc;
use switchboard_core::tickets::{
    Author, StaffAction, TicketError, TicketFilter, TicketStatus, TicketStore, TranscriptEntry,
};

/// How many schema migrations each store has (the versions are the same for both).
pub const SCHEMA_VERSION: usize = 6;

/// Opens the store at `database_url` (`postgres://…` or `postgresql://…`), or the SQLite
/// database at `sqlite_path` when there is none.
pub fn open_store(
    database_url: Option<&str>,
    sqlite_path: &Path,
) -> Result<Arc<dyn TicketStore>, TicketError> {
    match database_url {
        Some(url) if is_postgres_url(url) => Ok(Arc::new(PostgresTicketStore::connect(url)?)),
        Some(other) => Err(TicketError::Store(format!(
            "unsupported database URL `{}`: expected postgres://… (or none, for SQLite in the data directory)",
            redact_url(other)
        ))),
        None => Ok(Arc::new(SqliteTicketStore::open(sqlite_path)?)),
    }
}

/// Whether `url` names a PostgreSQL server.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// A database URL as it may be shown: without its password.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = match user_info.split_once(':') {
                Some((user, _password)) => format!("{user}:***"),
                None => user_info.to_string(),
            };
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    format!("{scheme}://{authority}/{path}")
}

/// Whether a staff action fits the ticket's status and holder (both stores check it before
/// writing; the claim itself is a compare-and-set in each store's transaction).
fn check_action(
    id: &str,
    status: TicketStatus,
    assignee: Option<&str>,
    actor: &str,
    action: &StaffAction,
) -> Result<(), TicketError> {
    let invalid = |what: &str| TicketError::InvalidTransition {
        id: id.to_string(),
        status: status.as_str(),
        action: what.to_string(),
    };
    let works = matches!(
        action,
        StaffAction::Reply(_) | StaffAction::Escalate(_) | StaffAction::Resolve
    );
    match status {
        TicketStatus::Resolved if works => Err(invalid("act on a resolved ticket")),
        TicketStatus::Resolved => Err(invalid("claim")),
        TicketStatus::Open if works => Err(invalid("act before claiming")),
        // A ticket someone holds is theirs to work: another staff member takes it over first
        // (`TakeOver`, audited), so two people never answer one customer unknowingly.
        _ if works && assignee.is_some_and(|holder| holder != actor) => Err(invalid(&format!(
            "act on a ticket held by {}",
            assignee.unwrap_or("")
        ))),
        _ => Ok(()),
    }
}

/// A transcript entry's author as both stores keep it: the kind and, for staff, the user.
fn author_columns(entry: &TranscriptEntry) -> (&'static str, Option<&str>) {
    match &entry.author {
        Author::Customer => ("customer", None),
        Author::Bot => ("bot", None),
        Author::Staff { user } => ("staff", Some(user.as_str())),
    }
}

/// An author read back from [`author_columns`].
fn author_of(kind: &str, staff_user: Option<String>) -> Author {
    match kind {
        "customer" => Author::Customer,
        "bot" => Author::Bot,
        _ => Author::Staff {
            user: staff_user.unwrap_or_default(),
        },
    }
}

/// One outbox row: what an adapter delivered for a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Ticket id.
    pub ticket: String,
    /// The adapter.
    pub adapter: String,
    /// What was delivered (`staff-notified:billing`, `thread`, …).
    pub key: String,
    /// Its value.
    pub value: String,
    /// When, RFC 3339.
    pub at: String,
}

/// The query of [`TicketStore::list`] and its parameters, with `placeholder(n)` naming the
/// n-th parameter in the store's dialect (`?1`, `$1`): filtered in SQL, so a customer's tickets
/// come through the customer index however many tickets the database holds.
fn list_query(filter: &TicketFilter, placeholder: fn(usize) -> String) -> (String, Vec<String>) {
    let mut sql = String::from("SELECT seq FROM tickets WHERE 1 = 1");
    let mut params: Vec<String> = Vec::new();
    if let Some(customer) = &filter.customer_id {
        params.push(customer.clone());
        sql.push_str(&format!(" AND customer_id = {}", placeholder(params.len())));
    }
    if let Some(status) = filter.status {
        params.push(status.as_str().to_string());
        sql.push_str(&format!(" AND status = {}", placeholder(params.len())));
    }
    if !filter.queues.is_empty() {
        let mut slots = Vec::new();
        for queue in &filter.queues {
            params.push(queue.clone());
            slots.push(placeholder(params.len()));
        }
        sql.push_str(&format!(" AND queue IN ({})", slots.join(", ")));
    }
    sql.push_str(" ORDER BY seq DESC");
    (sql, params)
}

fn ticket_id(seq: i64) -> String {
    format!("T-{seq}")
}

fn parse_id(id: &str) -> Result<i64, TicketError> {
    id.trim()
        .trim_start_matches("T-")
        .trim_start_matches("t-")
        .parse()
        .map_err(|_| TicketError::NotFound(id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn a_shown_url_has_no_password_and_no_options() {
        assert_eq!(
            redact_url("postgres://bot:s3cret@db.example:5432/tickets?sslmode=disable&password=x"),
            "postgres://bot:***@db.example:5432/tickets"
        );
        assert_eq!(redact_url("postgres://db/tickets"), "postgres://db/tickets");
        assert_eq!(redact_url("postgresql://bot@db/t"), "postgresql://bot@db/t");
    }
}
