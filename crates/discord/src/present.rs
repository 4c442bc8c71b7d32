//! What the bot posts: the customer's answer embed with its buttons, the staff thread's ticket
//! embed, and relayed text that pings nobody.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed, CreateMessage,
};
use switchboard_core::decision::Outcome;
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

/// The German or the English text.
pub fn say(lang: Language, de: &str, en: &str) -> String {
    match lang {
        Language::De => de.into(),
        Language::En => en.into(),
    }
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

/// The reply to a customer's turn: an embed with the sources as fields, and the feedback
/// buttons unless the turn handed off.
pub fn answer_message(turn: &CustomerTurn) -> CreateMessage {
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
        message = message.components(vec![buttons(lang)]);
    }
    message
}

/// The ticket as staff see it in its thread: summary, the last of the transcript, why it was
/// handed off, suggested sections and what was found in the messages.
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
