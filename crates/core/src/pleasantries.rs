//! Greetings, sign-offs and signatures around a chat question ("Hi team, ... Thanks a lot,
//! regards", or a pasted mail's "Best regards / name / title / phone"): they say nothing about
//! the subject, but every word of them counts against how much of the question a section covers,
//! and a signature's name, title and phone number read like a request to be called back.
//! Retrieval and the intents read the question without them (the transcript keeps every word).

use regex::Regex;
use std::sync::LazyLock;

// The patterns with long negated classes ignore case only around their words (`(?i:...)`): a
// class such as `[^\n?]` folded for case spans all of Unicode, and compiling the valediction that
// way took 25 ms, half of a one-shot `ask` process. (The announcement's and `GOES_ON`'s classes
// are short: made the same way, a one-shot `ask` measured no different.)
static GREETING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?i:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|hallo|moin|servus|guten\s+(?:morgen|tag|abend)|liebe[rs]?|sehr\s+geehrte[rs]?)\b[^,.!?:\n]{0,30}[,.!:\n]+",
    )
    .expect("greeting pattern")
});

/// A question announced before it is asked, with nothing said of its subject ("Quick question:",
/// "Ich hätte da mal eine Frage."): "question" and "Frage" are words of the guidance's FAQ pages.
/// One that names its subject ("a question about our invoice:") is part of the question.
static ANNOUNCEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:(?:i|we)\s+(?:have|had|got|'ve\s+got)\s+|i've\s+got\s+|got\s+|just\s+)?(?:(?:a|one|another)\s+)?(?:more\s+)?(?:(?:quick|short|small|simple|general|little)\s+)?question(?:\s+(?:for|to)\s+(?:you(?:\s+(?:guys|all))?|the\s+team|support))?\s*[:.!,-]+|^\s*(?:(?:ich|wir)\s+)?(?:(?:habe|hätte|haette|hatte|hab|haben|hätten|haetten)\s+(?:da\s+)?(?:mal\s+)?(?:noch\s+)?)?(?:(?:eine|ein|ne|folgende|folgendes)\s+)?(?:(?:kurze|kleine|allgemeine)\s+)?(?:frage|anliegen)(?:\s+an\s+(?:euch|sie|dich))?\s*[:.!,-]+|^\s*folgendes(?:\s+(?:anliegen|problem))?\s*[:.!,-]+",
    )
    .expect("announcement pattern")
});

/// Thanks, in both languages, as a sign-off and as a line of a signature say them.
const THANKS: &str = r"(?:many\s+)?thanks?(?:\s+you)?(?:\s+(?:a\s+lot|in\s+advance|so\s+much))?|thx|danke(?:\s+(?:schön|sehr|im\s+voraus))?|vielen\s+dank(?:\s+im\s+voraus)?";

static SIGN_OFF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?:^|[\s.!?,])(\b(?i:{THANKS}|cheers|(?:best|kind|warm)\s+regards|regards|(?:mit\s+)?(?:(?:viele|liebe|beste|freundliche|herzliche)n?\s+)?gr(?:ü|ue|u)(?:ß|ss)en?|gru(?:ß|ss)|lg|vg|mfg)\b[^.?!]{{0,30}}[.!]*\s*)$",
    ))
    .expect("sign-off pattern")
});

/// A closing line that starts a signature: regards or greetings at the start of a line or after a
/// sentence, with at most a name or a place after them on their line ("Best regards, John
/// Miller", "Viele Grüße aus Hamburg"); "best" or "cheers" alone or before a comma; thanks only
/// on a line of their own ("Thanks,"), since "Thanks, but that did not help" goes on.
static VALEDICTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?m)(?:^|[.!?][^\S\n]+)[^\S\n]*(?i:(?:(?:best|kind|warm|many|kindest|warmest)\s+)?regards|(?:mit\s+)?(?:(?:viele|liebe|beste|freundliche|herzliche|sonnige)n?\s+)?gr(?:ü|ue|u)(?:ß|ss)en?|gru(?:ß|ss)|mfg|lg|vg|bg)\b[^\n?]{{0,60}}$|(?:^|[.!?][^\S\n]+)[^\S\n]*(?i:sincerely|yours\s+(?:sincerely|truly)|cheers|best)[^\S\n]*(?:[,!.][^\n?]{{0,60}})?$|^[^\S\n]*(?i:{THANKS})[^\S\n]*[,!.]*[^\S\n]*$",
    ))
    .expect("valediction pattern")
});

/// A signature after a valediction is this short at most: a few lines of name, title, company
/// and phone, no question among them.
const SIGNATURE_MAX_BYTES: usize = 240;
const SIGNATURE_MAX_LINES: usize = 6;
/// ...after a valediction line at most this long.
const SIGNATURE_LINE_BYTES: usize = 100;

/// Where the last `bytes` of `text` begin, on a character boundary: a signature or sign-off ends
/// the message, so only its tail is searched, however long the message.
fn tail_start(text: &str, bytes: usize) -> usize {
    let mut at = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// Where the signature at the end of `text` begins (its valediction), if it has one.
fn signature_start(text: &str) -> Option<usize> {
    let mut at = tail_start(text, SIGNATURE_MAX_BYTES + SIGNATURE_LINE_BYTES);
    // `find_at`, not a search of the tail alone: a line start is only one in the whole text.
    while let Some(m) = VALEDICTION.find_at(text, at) {
        let after = &text[m.end()..];
        if after.len() <= SIGNATURE_MAX_BYTES
            && !after.contains('?')
            && after.lines().filter(|l| !l.trim().is_empty()).count() <= SIGNATURE_MAX_LINES
        {
            // The valediction begins after the sentence end the match may start with.
            return Some(m.start() + m.as_str().find(char::is_alphabetic).unwrap_or(0));
        }
        // A match always holds a valediction's letters, so the search moves on.
        at = m.end();
    }
    None
}

/// Words that make thanks go on into something said ("thanks, but it did not help").
static GOES_ON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:but|not|no|never|aber|nicht|kein\w*|nie|doch)\b").expect("pattern")
});

/// How much of a message's end is searched for a sign-off.
const SIGN_OFF_TAIL_BYTES: usize = 120;

/// Words a question must keep for the trimmed form to be used; "Hi!" or "Danke!" alone stay.
const MIN_WORDS_LEFT: usize = 2;

/// `text` without a leading greeting and announcement ("Quick question:"), a trailing signature
/// and sign-off, or `text` itself when too little would be left.
pub fn without_pleasantries(text: &str) -> &str {
    let mut start = GREETING.find(text).map_or(0, |m| m.end());
    start += ANNOUNCEMENT.find(&text[start..]).map_or(0, |m| m.end());
    let rest = &text[start..];
    let rest = signature_start(rest).map_or(rest, |at| rest[..at].trim_end());
    let tail = tail_start(rest, SIGN_OFF_TAIL_BYTES);
    // Chat often has no full stop before "danke"; a sign-off word with more than a few words after
    // it ("thanks to your reminder, but where is ...") is part of the question.
    let end = SIGN_OFF
        .captures(&rest[tail..])
        .and_then(|c| c.get(1))
        .filter(|m| !GOES_ON.is_match(m.as_str()))
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

    /// A question announced without its subject is no part of it; one with a subject is.
    #[test]
    fn an_announced_question_is_trimmed_unless_it_names_its_subject() {
        for (text, question) in [
            (
                "Quick question: how are reservations billed?",
                "how are reservations billed?",
            ),
            (
                "Hi, I have a question. How are reservations billed?",
                "How are reservations billed?",
            ),
            (
                "Ich hätte da mal eine Frage. Wie werden Reservierungen abgerechnet?",
                "Wie werden Reservierungen abgerechnet?",
            ),
            (
                "Hallo, kurze Frage an euch: wie werden Reservierungen abgerechnet?",
                "wie werden Reservierungen abgerechnet?",
            ),
            (
                "Folgendes: wie werden Reservierungen abgerechnet?",
                "wie werden Reservierungen abgerechnet?",
            ),
        ] {
            assert_eq!(without_pleasantries(text), question, "{text}");
        }
        for text in [
            "A question about our invoice: why is it higher?",
            "Frage zur Rechnung: warum ist sie höher?",
            "question marks in the invoice file",
        ] {
            assert_eq!(without_pleasantries(text), text);
        }
    }

    /// A pasted mail ends with a signature (name, title, company, phone): none of it is the
    /// question, and its phone number is not a request to be called.
    #[test]
    fn a_signature_after_a_valediction_is_trimmed() {
        assert_eq!(
            without_pleasantries(
                "How are reservations billed?\n\nBest regards,\nJohn Miller\nIT Manager | Contoso Ltd.\nPhone +1 425 555 0100"
            ),
            "How are reservations billed?"
        );
        assert_eq!(
            without_pleasantries(
                "Wie werden Reservierungen abgerechnet? Danke!\n\nMit freundlichen Grüßen\nJonas Becker\nLeiter IT, Becker & Söhne GmbH\nTel. +49 89 1234567"
            ),
            "Wie werden Reservierungen abgerechnet?"
        );
        assert_eq!(
            without_pleasantries(
                "How are reservations billed? Best regards, John Miller, Contoso Ltd., +1 425 555 0100"
            ),
            "How are reservations billed?"
        );
        assert_eq!(
            without_pleasantries("where is the credit note\nThanks,\nMax Mustermann\nContoso"),
            "where is the credit note"
        );
    }

    /// What follows a valediction-like word and says more stays: a question, thanks that go
    /// on, a long text.
    #[test]
    fn what_goes_on_after_thanks_or_regards_is_kept() {
        for text in [
            "I read the page. Thanks, but it did not help at all.",
            "Best regards from our finance team: the invoice is wrong.\nCan you check it?",
            "Where is the invoice?\nRegards,\nJohn\nAnd who do I ask about the refund?",
            "Best practice for reservations: how are they billed",
        ] {
            assert_eq!(without_pleasantries(text), text);
        }
    }
}
