//! `switchboard tickets`: the staff side in the terminal, with the same permission checks
//! as every adapter (they live in the core's `Desk`).

use super::Env;
use anyhow::{bail, Context, Result};
use std::process::ExitCode;
use switchboard_core::desk::StaffMember;
use switchboard_core::sanitize::for_terminal;
use switchboard_core::support::{stored_time_text, TechnicalEntitlement};
use switchboard_core::tickets::{Author, Escalation, StaffAction, Ticket, TicketStatus};
use switchboard_core::StaffRole;
use switchboard_knowledge::Language;

#[derive(Debug, clap::Args)]
pub struct TicketsArgs {
    /// Staff user name.
    #[arg(long = "as", global = true)]
    user: Option<String>,
    /// Staff role: global-admin, user-admin, helpdesk-agent, billing-admin, sales-agent.
    #[arg(long, global = true)]
    role: Option<StaffRole>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: TicketCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TicketCommand {
    /// Tickets of the queues your role works.
    List {
        /// Only this status (open, claimed, escalated, resolved).
        #[arg(long)]
        status: Option<String>,
    },
    /// One ticket with its transcript, findings and audit log.
    Show { id: String },
    /// Take a ticket.
    Claim {
        id: String,
        /// Take it from the staff member who holds it (audited).
        #[arg(long)]
        take_over: bool,
    },
    /// Write to the customer.
    Reply { id: String, text: String },
    /// Pass to another queue or to Microsoft.
    Escalate {
        id: String,
        /// Another queue.
        #[arg(long, conflicts_with = "microsoft")]
        to: Option<String>,
        /// Microsoft: `commercial` (billing, licensing) or `technical` (the partner's entitlement).
        #[arg(long)]
        microsoft: Option<String>,
        /// The Microsoft case number.
        #[arg(long, conflicts_with = "case_pending")]
        case: Option<String>,
        /// Escalate to Microsoft before the case number is known.
        #[arg(long)]
        case_pending: bool,
    },
    /// Close a ticket.
    Resolve { id: String },
    /// All tickets of a customer as JSON (global admins).
    Export { customer_id: String },
    /// Delete all tickets of a customer (global admins).
    Erase { customer_id: String },
    /// Delete resolved tickets older than N days (global admins).
    Purge {
        /// 1 to 36,500 (100 years).
        #[arg(long, value_parser = clap::value_parser!(i64).range(1..=36_500))]
        older_than_days: i64,
    },
    /// Copy every ticket (ids, transcripts, escalations, audit) and the adapters' outbox from a
    /// SQLite database to an empty PostgreSQL one, and verify the copy by counts and checksums.
    /// Needs no staff role: whoever holds both databases' credentials may move them.
    Migrate {
        /// `sqlite:PATH` (the data directory's `tickets.sqlite3`).
        #[arg(long)]
        from: String,
        /// `postgres://user:password@host/database`.
        #[arg(long)]
        to: String,
    },
}

/// `tickets migrate`: SQLite to PostgreSQL, verified.
fn migrate(from: &str, to: &str, json: bool) -> Result<ExitCode> {
    let Some(path) = from.strip_prefix("sqlite:") else {
        bail!("--from must be sqlite:PATH (got `{from}`)");
    };
    let path = std::path::Path::new(path.strip_prefix("//").unwrap_or(path));
    if !path.is_file() {
        bail!("--from: no SQLite database at {}", path.display());
    }
    if !switchboard_tickets::is_postgres_url(to) {
        bail!(
            "--to must be a postgres:// URL (got `{}`)",
            switchboard_tickets::redact_url(to)
        );
    }
    let source = switchboard_tickets::SqliteTicketStore::open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let target = switchboard_tickets::PostgresTicketStore::connect(to)
        .with_context(|| format!("opening {}", switchboard_tickets::redact_url(to)))?;
    let started = std::time::Instant::now();
    let report = switchboard_tickets::copy_sqlite_to_postgres(&source, &target)?;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "tickets": report.tickets,
                "transcript_entries": report.transcript_entries,
                "escalations": report.escalations,
                "audit_entries": report.audit_entries,
                "deliveries": report.deliveries,
                "source_checksum": report.source_checksum,
                "target_checksum": report.target_checksum,
                "seconds": started.elapsed().as_secs_f64(),
            })
        );
    } else {
        println!(
            "Copied {} tickets ({} messages, {} escalations, {} audit entries, {} outbox rows) from {} to {} in {:.1} s.",
            report.tickets,
            report.transcript_entries,
            report.escalations,
            report.audit_entries,
            report.deliveries,
            path.display(),
            target.shown_url(),
            started.elapsed().as_secs_f64()
        );
        println!(
            "Verified: the target read back has the same counts and checksum {}.",
            report.target_checksum
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A stored time (UTC, to the nanosecond) as people read it: minutes, in the queue's zone.
fn local_time(at: &str, zone: &jiff::tz::TimeZone) -> String {
    stored_time_text(at, zone, Language::En)
}

/// A queue's time zone (its due times are in it), UTC for a queue the support model does not
/// know.
fn queue_zone(desk: &switchboard_core::desk::Desk, queue: &str) -> jiff::tz::TimeZone {
    desk.router().support().queue_zone(queue)
}

fn print_ticket(t: &Ticket, zone: &jiff::tz::TimeZone, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(t)?);
        return Ok(());
    }
    // Everything a customer or staff member wrote is shown inert (escape sequences, bidi
    // controls).
    let safe = for_terminal;
    println!(
        "{} [{}] queue {} customer {} ({})",
        t.id,
        t.status.as_str(),
        t.queue,
        safe(&t.customer.display_name),
        safe(&t.customer.customer_id())
    );
    if let Some(a) = &t.assignee {
        println!("assignee: {}", safe(a));
    }
    if let Some(d) = &t.due {
        println!("due: {d}");
    }
    if let Some(summary) = t.findings.get("summary").and_then(|s| s.as_str()) {
        println!("summary: {}", safe(summary));
    }
    println!("transcript:");
    for e in &t.transcript {
        let who = match &e.author {
            Author::Customer => "customer".to_string(),
            Author::Bot => "bot".to_string(),
            Author::Staff { user } => format!("staff {}", safe(user)),
        };
        println!(
            "  [{}] {who}: {}",
            local_time(&e.at, zone),
            safe(&e.text).replace('\n', "\n      ")
        );
    }
    for e in &t.escalations {
        println!("{}", safe(&e.to_string()));
    }
    println!("audit:");
    for a in &t.audit {
        println!(
            "  [{}] {}: {}",
            local_time(&a.at, zone),
            safe(&a.actor),
            safe(&a.action)
        );
    }
    Ok(())
}

pub fn run(env: &Env, args: &TicketsArgs) -> Result<ExitCode> {
    if let TicketCommand::Migrate { from, to } = &args.action {
        // Before the staff check: moving databases is for whoever holds both.
        return migrate(from, to, args.json);
    }
    let (Some(user), Some(role)) = (&args.user, args.role) else {
        bail!("staff commands need --as USER and --role ROLE");
    };
    let staff = StaffMember {
        user: user.clone(),
        role,
    };
    let desk = env.staff_desk()?;
    let now = jiff::Timestamp::now();
    let result = match &args.action {
        TicketCommand::List { status } => {
            let status = match status.as_deref() {
                None => None,
                Some(s) => {
                    Some(TicketStatus::parse(s).ok_or_else(|| anyhow::anyhow!("unknown status `{s}`"))?)
                }
            };
            let tickets = match desk.staff_list(&staff, status) {
                Ok(tickets) => tickets,
                Err(e) => return Ok(refused(&e)),
            };
            if args.json {
                println!("{}", serde_json::to_string_pretty(&tickets)?);
            } else if tickets.is_empty() {
                println!("No tickets in your queues.");
            } else {
                for t in &tickets {
                    println!(
                        "{} [{}] queue {} customer {} ({}) — opened {}",
                        t.id,
                        t.status.as_str(),
                        t.queue,
                        for_terminal(&t.customer.display_name),
                        for_terminal(&t.customer.customer_id()),
                        local_time(&t.created_at, &queue_zone(&desk, &t.queue))
                    );
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        TicketCommand::Show { id } => desk.staff_view(&staff, id),
        TicketCommand::Claim { id, take_over } => {
            let action = if *take_over {
                StaffAction::TakeOver
            } else {
                StaffAction::Claim
            };
            desk.staff_act(&staff, id, action, now)
        }
        TicketCommand::Reply { id, text } => {
            desk.staff_act(&staff, id, StaffAction::Reply(text.clone()), now)
        }
        TicketCommand::Resolve { id } => desk.staff_act(&staff, id, StaffAction::Resolve, now),
        TicketCommand::Escalate {
            id,
            to,
            microsoft,
            case,
            case_pending,
        } => {
            if microsoft.is_some() && case.is_none() && !case_pending {
                bail!("an escalation to Microsoft needs --case NUMBER, or --case-pending until the case is opened");
            }
            let escalation = match (to, microsoft.as_deref()) {
                (Some(queue), None) => Escalation::Queue { queue: queue.clone() },
                (None, Some("commercial")) => Escalation::MicrosoftCommercial {
                    case_number: case.clone(),
                },
                (None, Some("technical")) => Escalation::MicrosoftTechnical {
                    entitlement: TechnicalEntitlement::None,
                    case_number: case.clone(),
                },
                (None, Some(other)) => bail!(
                    "--microsoft `{other}`: use `commercial` (billing, licensing) or `technical` (the partner's support entitlement)"
                ),
                _ => bail!("escalate needs --to QUEUE or --microsoft commercial|technical"),
            };
            desk.staff_act(&staff, id, StaffAction::Escalate(escalation), now)
        }
        TicketCommand::Export { customer_id } => {
            let tickets = match desk.export_customer(&staff, customer_id) {
                Ok(tickets) => tickets,
                Err(e) => return Ok(refused(&e)),
            };
            if tickets.is_empty() && !customer_id.contains(':') {
                eprintln!(
                    "note: no tickets for `{customer_id}`; customer ids name their channel, e.g. `terminal:{customer_id}` or `discord:<user id>`"
                );
            }
            println!("{}", serde_json::to_string_pretty(&tickets)?);
            return Ok(ExitCode::SUCCESS);
        }
        TicketCommand::Erase { customer_id } => {
            let n = match desk.erase_customer(&staff, customer_id) {
                Ok(n) => n,
                Err(e) => return Ok(refused(&e)),
            };
            println!("erased {n} ticket(s) of {customer_id}");
            return Ok(ExitCode::SUCCESS);
        }
        TicketCommand::Purge { older_than_days } => {
            let n = match desk.purge_resolved(&staff, *older_than_days, now) {
                Ok(n) => n,
                Err(e) => return Ok(refused(&e)),
            };
            println!("purged {n} resolved ticket(s) older than {older_than_days} days");
            return Ok(ExitCode::SUCCESS);
        }
        TicketCommand::Migrate { .. } => unreachable!("migrate runs before the staff check"),
    };
    // An action is confirmed in one line (`show` and `--json` print the whole ticket).
    let done = match &args.action {
        TicketCommand::Claim { take_over: false, .. } => Some("claimed"),
        TicketCommand::Claim { take_over: true, .. } => Some("took over"),
        TicketCommand::Reply { .. } => Some("replied to"),
        TicketCommand::Escalate { .. } => Some("escalated"),
        TicketCommand::Resolve { .. } => Some("resolved"),
        _ => None,
    };
    match result {
        Ok(ticket) => {
            match done {
                Some(verb) if !args.json => println!(
                    "{verb} {} ({}, queue {}, customer {})",
                    ticket.id,
                    ticket.status.as_str(),
                    ticket.queue,
                    for_terminal(&ticket.customer.display_name)
                ),
                _ => {
                    print_ticket(&ticket, &queue_zone(&desk, &ticket.queue), args.json)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(refused(&e)),
    }
}

/// What the desk refused (permission, state, store), printed; exit code 3 for every staff
/// command alike (2 is a usage error).
fn refused(e: &switchboard_core::tickets::TicketError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(3)
}
