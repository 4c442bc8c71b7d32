//! What the bot posts: the customer's answer embed with its buttons, the staff thread's ticket
//! embed, and relayed text that pings nobody.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateMessage,
};
use switchboard_core::decision::{Decision, Outcome};
use switchboard_core::desk::CustomerTurn;
use switchboard_core::tickets::{Author, Ticket};
use switchboard_knowledge::Language;

/// Button ids.
pub const HELPFUL_YES: &str = "sb:helpful:yes";
pub const HELPFUL_NO: &str = "sb:helpful:no";
pub const HUMAN: &str = "sb:human";
/// Discord's limits on embed text.
const EMBED_DESCRIPTION_MAX: usize = 4000;
const EMBED_FIELD_MAX: usize = 1000;
/// Discord's limit on message content, with room for a prefix.
pub const CONTENT_MAX: usize = 1900;

/// The customer's text with their attachments as links on lines of their own, so the ticket's
/// transcript and the staff thread carry them (the bot itself reads only the words).
pub fn with_attachments<'a>(content: &str, urls: impl Iterator<Item = &'a str>) -> String {
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
pub fn quiet() -> CreateMessage {
    CreateMessage::new().allowed_mentions(CreateAllowedMentions::new())
}

/// `text` cut to `max` characters, ending with "…" when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub use switchboard_core::language::say;

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

/// The reply to a customer's turn: an embed with the sources as fields, and the feedback
/// buttons unless the turn handed off.
pub fn answer_message(turn: &CustomerTurn) -> CreateMessage {
    let lang = turn.decision.as_ref().map_or(Language::En, |d| d.language);
    let shown: Vec<String> = turn
        .replies
        .iter()
        .map(|reply| match &turn.decision {
            Some(d) if *reply == d.reply => without_footer(d),
            _ => reply.clone(),
        })
        .collect();
    let mut embed = CreateEmbed::new().description(truncate(&shown.join("\n\n"), EMBED_DESCRIPTION_MAX));
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
        message = message.components(vec![buttons(lang)]);
    }
    message
}

/// A decision's reply without what the embed shows otherwise: the lines naming a cited section
/// (the embed's source fields) and the closing "was this helpful?" (the buttons).
fn without_footer(decision: &Decision) -> String {
    let text = decision.reply_without_feedback_question();
    let cited = |line: &str| {
        decision
            .citations
            .iter()
            .any(|c| line.trim_end().ends_with(&format!("({})", c.citation)))
    };
    let kept: Vec<&str> = text.lines().filter(|line| !cited(line)).collect();
    kept.join("\n").trim_end().to_string()
}

/// A JSON list of sections as lines of links (`title › heading`, then the citation).
fn section_links(sections: &serde_json::Value) -> String {
    let lines: Vec<String> = sections
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let field = |name: &str| c[name].as_str().unwrap_or("").to_string();
            let label = format!("{} › {}", field("title"), field("heading"));
            match c["link"].as_str() {
                Some(link) => format!("[{label}]({link}) `{}`", field("citation")),
                None => format!("{label} `{}`", field("citation")),
            }
        })
        .collect();
    if lines.is_empty() {
        "none".into()
    } else {
        lines.join("\n")
    }
}

/// What was found in the messages, one embed field per kind that occurs: amounts with their
/// currency, invoice numbers, ids with what they seem to be, domains, products.
fn entity_fields(entities: &serde_json::Value) -> Vec<(String, String)> {
    let strings = |name: &str| -> Vec<String> {
        entities[name]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                // GUIDs come as [kind, id].
                serde_json::Value::Array(pair) => Some(format!(
                    "{} ({})",
                    pair.get(1).and_then(|x| x.as_str()).unwrap_or(""),
                    pair.first().and_then(|x| x.as_str()).unwrap_or("").to_lowercase()
                )),
                serde_json::Value::Object(money) => Some(format!(
                    "{} {}",
                    money.get("amount").and_then(|x| x.as_str()).unwrap_or(""),
                    money.get("currency").and_then(|x| x.as_str()).unwrap_or("")
                )),
                _ => None,
            })
            .collect()
    };
    [
        ("Amounts", "amounts"),
        ("Invoices", "invoice_numbers"),
        ("IDs", "guids"),
        ("Domains", "domains"),
        ("Products", "products"),
    ]
    .into_iter()
    .filter_map(|(label, name)| {
        let values = strings(name);
        (!values.is_empty()).then(|| (label.to_string(), truncate(&values.join(", "), EMBED_FIELD_MAX)))
    })
    .collect()
}

/// The ticket as staff see it in its thread: summary, the last of the transcript, why it was
/// handed off, suggested sections as links and what was found in the messages as fields.
pub fn ticket_embed(ticket: &Ticket) -> CreateEmbed {
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
    let mut embed = CreateEmbed::new()
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
        .field(
            "Suggested sections",
            truncate(&section_links(&f["suggested"]), EMBED_FIELD_MAX),
            false,
        );
    for (label, value) in entity_fields(&f["entities"]) {
        embed = embed.field(label, value, true);
    }
    embed
}
