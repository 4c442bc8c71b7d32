//! Greetings and sign-offs around a chat question ("Hi team, ... Thanks a lot, regards"): they
//! say nothing about the subject, but every word of them counts against how much of the question
//! a section covers. Retrieval reads the question without them; intents still see everything.

use regex::Regex;
use std::sync::LazyLock;

static GREETING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|hallo|moin|servus|guten\s+(?:morgen|tag|abend)|liebe[rs]?|sehr\s+geehrte[rs]?)\b[^,.!?:\n]{0,30}[,.!:\n]+",
    )
    .expect("greeting pattern")
});

static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[\s.!?,])(\b(?:(?:many\s+)?thanks?(?:\s+you)?(?:\s+(?:a\s+lot|in\s+advance|so\s+much))?|thx|cheers|(?:best|kind|warm)\s+regards|regards|danke(?:\s+(?:schön|sehr|im\s+voraus))?|vielen\s+dank(?:\s+im\s+voraus)?|(?:mit\s+)?(?:(?:viele|liebe|beste|freundliche|herzliche)n?\s+)?gr(?:ü|ue|u)(?:ß|ss)en?|gru(?:ß|ss)|lg|vg|mfg)\b[^.?!]{0,30}[.!]*\s*)$",
    )
    .expect("sign-off pattern")
});

/// How much of a message's end is searched for a sign-off.
const SIGN_OFF_TAIL_BYTES: usize = 120;

/// Words a question must keep for the trimmed form to be used; "Hi!" or "Danke!" alone stay.
const MIN_WORDS_LEFT: usize = 2;

/// `text` without a leading greeting and a trailing sign-off, or `text` itself when too little
/// would be left.
pub fn without_pleasantries(text: &str) -> &str {
    let start = GREETING.find(text).map_or(0, |m| m.end());
    let rest = &text[start..];
    // A sign-off ends the message: only its tail is searched, however long the message.
    let mut tail = rest.len().saturating_sub(SIGN_OFF_TAIL_BYTES);
    while !rest.is_char_boundary(tail) {
        tail += 1;
    }
    // Chat often has no full stop before "danke"; a sign-off word with more than a few words after
    // it ("thanks to your reminder, but where is ...") is part of the question.
    let end = SIGN_OFF
        .captures(&rest[tail..])
        .and_then(|c| c.get(1))
        .map_or(rest.len(), |m| tail + m.start());
    let core = rest[..end].trim().trim_end_matches(',').trim_end();
    if core.split_whitespace().count() >= MIN_WORDS_LEFT {
        core
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::without_pleasantries;

    #[test]
    fn greetings_and_sign_offs_are_trimmed_in_both_languages() {
        assert_eq!(
            without_pleasantries("Hi team, how is azure billed? Thanks a lot, regards"),
            "how is azure billed?"
        );
        assert_eq!(
            without_pleasantries("Hallo zusammen, wie wird Azure abgerechnet? Danke und viele Grüße"),
            "wie wird Azure abgerechnet?"
        );
        assert_eq!(
            without_pleasantries(
                "Sehr geehrte Damen und Herren,\nunsere Rechnung ist zu hoch.\nMit freundlichen Grüßen"
            ),
            "unsere Rechnung ist zu hoch."
        );
    }

    #[test]
    fn questions_without_pleasantries_or_made_only_of_them_stay() {
        for text in ["how is azure billed?", "Hi!", "Danke!", "thanks", "hello there"] {
            assert_eq!(without_pleasantries(text), text);
        }
        // A sign-off word with a question after it is not a sign-off.
        let question = "we paid thanks to your reminder, but where exactly is the credit note";
        assert_eq!(without_pleasantries(question), question);
        assert_eq!(
            without_pleasantries("where is the credit note, thanks\nMax Mustermann"),
            "where is the credit note"
        );
        // A word that merely starts like a greeting is not one.
        assert_eq!(
            without_pleasantries("history of our invoices, please"),
            "history of our invoices, please"
        );
        assert_eq!(
            without_pleasantries("our regards to billing: where is the invoice"),
            "our regards to billing: where is the invoice"
        );
    }
}
