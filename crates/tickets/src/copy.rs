//! Moving a SQLite ticket database to PostgreSQL (`switchboard tickets migrate`): every ticket
//! with its id, transcript, escalations and audit, and the adapters' outbox, checked by counts
//! and by a checksum of everything read back from the target.

use crate::{Delivery, PostgresTicketStore, SqliteTicketStore};
use switchboard_core::tickets::{Ticket, TicketError, TicketFilter, TicketStore};

/// What a copy moved, and the checksums that show it arrived whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Tickets.
    pub tickets: usize,
    /// Transcript entries (customer, bot and staff messages).
    pub transcript_entries: usize,
    /// Escalations.
    pub escalations: usize,
    /// Audit entries.
    pub audit_entries: usize,
    /// Outbox rows.
    pub deliveries: usize,
    /// BLAKE3 over every ticket and outbox row as read from the source.
    pub source_checksum: String,
    /// The same over what the target holds after the copy.
    pub target_checksum: String,
}

/// A checksum over tickets (each as JSON, in the order given) and outbox rows.
fn checksum(tickets: &[Ticket], deliveries: &[Delivery]) -> String {
    let mut hasher = blake3::Hasher::new();
    for ticket in tickets {
        hasher.update(
            serde_json::to_string(ticket)
                .expect("a ticket serialises")
                .as_bytes(),
        );
        hasher.update(b"\n");
    }
    for d in deliveries {
        for field in [&d.ticket, &d.adapter, &d.key, &d.value, &d.at] {
            hasher.update(field.as_bytes());
            hasher.update(b"\x1f");
        }
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex().to_string()
}

/// Copies everything in `from` into `to`, which must hold no tickets yet, then reads the target
/// back and compares: an error if any count or the checksum differs.
pub fn copy_sqlite_to_postgres(
    from: &SqliteTicketStore,
    to: &PostgresTicketStore,
) -> Result<CopyReport, TicketError> {
    let tickets = from.list(&TicketFilter::default())?;
    let deliveries = from.all_deliveries()?;
    to.import(&tickets, &deliveries)?;
    let copied = to.list(&TicketFilter::default())?;
    let copied_deliveries = to.all_deliveries()?;
    let report = CopyReport {
        tickets: tickets.len(),
        transcript_entries: tickets.iter().map(|t| t.transcript.len()).sum(),
        escalations: tickets.iter().map(|t| t.escalations.len()).sum(),
        audit_entries: tickets.iter().map(|t| t.audit.len()).sum(),
        deliveries: deliveries.len(),
        source_checksum: checksum(&tickets, &deliveries),
        target_checksum: checksum(&copied, &copied_deliveries),
    };
    if copied.len() != tickets.len()
        || copied_deliveries.len() != deliveries.len()
        || report.source_checksum != report.target_checksum
    {
        return Err(TicketError::Store(format!(
            "the copy in {} differs from the source ({} of {} tickets, {} of {} outbox rows, checksum {} against {})",
            to.shown_url(),
            copied.len(),
            tickets.len(),
            copied_deliveries.len(),
            deliveries.len(),
            report.target_checksum,
            report.source_checksum
        )));
    }
    Ok(report)
}
