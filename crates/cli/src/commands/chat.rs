//! `switchboard chat`: the terminal adapter. A customer types (or pipes) messages; answers
//! show their citations, handoffs the ticket, and staff replies appear as they arrive.

use super::Env;
use anyhow::Result;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use switchboard_core::decision::Outcome;
use switchboard_core::desk::{Adapter, CustomerTurn, Desk, Session};
use switchboard_core::language::say;
use switchboard_core::sanitize::for_terminal;
use switchboard_core::tickets::{Author, CustomerIdentity};
use switchboard_core::Message;
use switchboard_knowledge::Language;

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// The customer's language, if known (de or en).
    #[arg(long)]
    lang: Option<Language>,
    /// The customer's user id (tickets are per customer).
    #[arg(long, default_value = "local-customer")]
    user: String,
    /// The customer's display name.
    #[arg(long, default_value = "Terminal customer")]
    name: String,
    /// Hours after resolution in which a new message reopens the ticket (0 to 87,600: ten years).
    #[arg(long, default_value_t = 72, value_parser = clap::value_parser!(i64).range(0..=87_600))]
    reopen_hours: i64,
}

/// The terminal as an adapter: a line in, printed text out.
struct Terminal {
    user: String,
    lang: Option<Language>,
}

impl Adapter for Terminal {
    type Event = String;
    type Reply = String;

    fn to_message(&self, line: &String) -> Option<Message> {
        let text = line.trim_end_matches(['\r', '\n']);
        (!text.trim().is_empty()).then(|| Message {
            text: text.to_string(),
            conversation: format!("terminal:{}", self.user),
            user: self.user.clone(),
            adapter: "terminal".into(),
            language_hint: self.lang,
        })
    }

    fn to_reply(&self, turn: &CustomerTurn) -> String {
        let mut out = turn.replies.join("\n");
        if let (Some(d), Some(t)) = (&turn.decision, &turn.ticket) {
            if d.outcome == Outcome::Handoff {
                if let Some(h) = &d.handoff {
                    // The customer's language, like the reply above it.
                    let words = h.labels(d.language);
                    out.push_str(&format!(
                        "\n[{} {} | {} {} | {} | {} {} | {} {}{}]",
                        say(d.language, "Ticket", "ticket"),
                        t.id,
                        words.team,
                        h.queue_name,
                        words.state,
                        words.hours,
                        h.hours,
                        words.contact,
                        h.contact,
                        h.price.as_ref().map(|p| format!(" | {p}")).unwrap_or_default()
                    ));
                }
            }
        }
        out
    }
}

/// Prints staff replies the customer has not seen; returns how many.
fn show_staff_replies(desk: &Desk, session: &mut Session, out: &mut impl Write) -> Result<usize> {
    let mut shown = 0;
    let lang = Desk::session_language(session);
    let team = say(lang, "Support-Team", "staff");
    match desk.new_staff_messages(session) {
        Ok(messages) => {
            for (ticket, entry) in messages {
                if let Author::Staff { user } = entry.author {
                    writeln!(
                        out,
                        "[{ticket}] {} ({team}): {}",
                        for_terminal(&user),
                        for_terminal(&entry.text)
                    )?;
                    shown += 1;
                }
            }
        }
        Err(e) => writeln!(
            out,
            "{}",
            say(
                lang,
                &format!("(Antworten des Teams konnten nicht geprüft werden: {e})"),
                &format!("(could not check for staff replies: {e})")
            )
        )?,
    }
    out.flush()?;
    Ok(shown)
}

/// How often staff replies are looked for while the customer is not typing.
const STAFF_REPLY_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Lines of standard input, read on their own thread so the chat can show staff replies while
/// the customer is idle; an empty line (no newline even) is the end of input.
fn input_lines() -> std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        loop {
            let mut buf = Vec::new();
            let read = stdin.read_until(b'\n', &mut buf);
            let end = !matches!(read, Ok(n) if n > 0);
            if tx.send(read.map(|_| buf)).is_err() || end {
                break;
            }
        }
    });
    rx
}

pub fn run(env: &Env, args: &ChatArgs) -> Result<ExitCode> {
    let desk = env.desk(args.reopen_hours)?;
    let adapter = Terminal {
        user: args.user.clone(),
        lang: args.lang,
    };
    let customer = CustomerIdentity {
        adapter: "terminal".into(),
        user_id: args.user.clone(),
        display_name: args.name.clone(),
    };
    let mut session = Session::new(customer, format!("terminal:{}", args.user));
    session.language_hint = args.lang;
    let interactive = std::io::stdin().is_terminal();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if interactive {
        writeln!(
            out,
            "Switchboard chat. Ask about billing, licences or support (Deutsch or English). Ctrl-D ends."
        )?;
    }
    let lines = input_lines();
    loop {
        if interactive {
            write!(out, "> ")?;
            out.flush()?;
        }
        let buf = loop {
            match lines.recv_timeout(STAFF_REPLY_POLL) {
                Ok(line) => break line?,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    // The customer is idle: a staff reply shows now, not after the next line.
                    if show_staff_replies(&desk, &mut session, &mut out)? > 0 && interactive {
                        write!(out, "> ")?;
                        out.flush()?;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break Vec::new(),
            }
        };
        if buf.is_empty() {
            // Ctrl-D at the prompt: end on a line of its own, so the shell's prompt does not
            // follow "> ".
            if interactive {
                writeln!(out)?;
            }
            break;
        }
        show_staff_replies(&desk, &mut session, &mut out)?;
        let (line, lossy) = match String::from_utf8(buf.clone()) {
            Ok(s) => (s, false),
            Err(e) => (String::from_utf8_lossy(e.as_bytes()).into_owned(), true),
        };
        if lossy {
            writeln!(
                out,
                "(part of your message was not valid UTF-8 and was replaced with �)"
            )?;
        }
        let Some(message) = adapter.to_message(&line) else {
            continue;
        };
        let lang = Desk::session_language(&session);
        if message.text.trim() == "/tickets" {
            match desk.customer_ticket_lines(&session.customer, lang) {
                Ok(lines) => writeln!(out, "{}", lines.join("\n"))?,
                Err(e) => writeln!(
                    out,
                    "{}",
                    say(
                        lang,
                        &format!("(Ihre Tickets konnten nicht gelesen werden: {e})"),
                        &format!("(could not list your tickets: {e})")
                    )
                )?,
            }
            continue;
        }
        match desk.customer_message(&mut session, &message.text, jiff::Timestamp::now()) {
            Ok(turn) => writeln!(out, "{}", for_terminal(&adapter.to_reply(&turn)))?,
            // The message stays in this conversation and goes into the next ticket.
            Err(e) => writeln!(
                out,
                "{}",
                say(
                    lang,
                    &format!("Das konnte gerade nicht gespeichert werden ({e}). Ihre Nachricht bleibt erhalten; bitte versuchen Sie es noch einmal."),
                    &format!("Sorry, I could not save that just now ({e}). Your message is kept; please try again.")
                )
            )?,
        }
        show_staff_replies(&desk, &mut session, &mut out)?;
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
