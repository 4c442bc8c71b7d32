//! Which language a chat message is in. Chat messages are short, so function words decide
//! first; a statistical detector only breaks ties.

use switchboard_knowledge::Language;

const GERMAN_MARKERS: &[&str] = &[
    "der", "die", "das", "und", "ist", "nicht", "ich", "wir", "ihr", "euch", "uns", "wie", "was", "wo",
    "warum", "wieso", "kann", "können", "konnen", "mit", "für", "fur", "auf", "bei", "ein", "eine", "mein",
    "meine", "unser", "unsere", "unseren", "bitte", "habe", "haben", "wird", "werden", "sind", "auch",
    "noch", "schon", "mal", "gibt", "geht", "kein", "keine", "wer", "wann", "welche", "oder", "aber", "im",
    "zum", "zur", "vom", "dem", "den", "des", "sie", "es", "hallo", "danke", "ja", "nein",
];
const ENGLISH_MARKERS: &[&str] = &[
    "the", "and", "is", "are", "not", "i", "we", "you", "our", "my", "how", "what", "where", "why", "can",
    "with", "for", "on", "a", "an", "to", "of", "do", "does", "it", "this", "that", "please", "have", "has",
    "will", "be", "was", "there", "who", "when", "which", "or", "but", "in", "from", "your", "me", "us",
    "they", "hello", "hi", "thanks", "yes", "no", "get", "i'm", "can't", "isnt",
];

/// How the language was decided, for traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LanguageSource {
    /// Function words in the message.
    Words,
    /// The adapter's or user's hint.
    Hint,
    /// The conversation's earlier language.
    Conversation,
    /// The guidance: the words of the message that only one language's guidance uses.
    Guidance,
    /// A statistical detector.
    Detector,
    /// Nothing to go on: English.
    Default,
}

/// Detects the language of a message. `hint` (from the adapter or the user) and the
/// conversation's language decide when the message itself does not.
pub fn detect(
    text: &str,
    hint: Option<Language>,
    conversation: Option<Language>,
) -> (Language, LanguageSource) {
    let lower = text.to_lowercase();
    let mut de = 0i32;
    let mut en = 0i32;
    for word in lower.split(|c: char| !(c.is_alphanumeric() || c == '\'')) {
        if GERMAN_MARKERS.contains(&word) {
            de += 1;
        }
        if ENGLISH_MARKERS.contains(&word) {
            en += 1;
        }
        if word.contains(['ä', 'ö', 'ü', 'ß']) {
            de += 1;
        }
    }
    if de != en && (de - en).abs() >= 1 && de.max(en) >= 1 {
        return (
            if de > en { Language::De } else { Language::En },
            LanguageSource::Words,
        );
    }
    if let Some(lang) = hint {
        return (lang, LanguageSource::Hint);
    }
    if let Some(lang) = conversation {
        return (lang, LanguageSource::Conversation);
    }
    match switchboard_knowledge::ingest::detect_language(text) {
        Some(lang) => (lang, LanguageSource::Detector),
        None => (Language::En, LanguageSource::Default),
    }
}

/// The language whose guidance alone uses more of the message's words, when function words tie
/// ("Was bedeutet NCE?": `was` is a word of both, `bedeutet` only the German guidance uses).
/// `knows(lang, word)` says whether the guidance of `lang` uses a word.
pub fn by_guidance(text: &str, knows: impl Fn(Language, &str) -> bool) -> Option<Language> {
    match guidance_lead(text, knows).signum() {
        1 => Some(Language::De),
        -1 => Some(Language::En),
        _ => None,
    }
}

/// How many more of the message's words only the German guidance uses than only the English
/// guidance uses (negative: English leads).
pub fn guidance_lead(text: &str, knows: impl Fn(Language, &str) -> bool) -> i32 {
    let mut lead = 0i32;
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.chars().count() < 3 || word.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        match (knows(Language::De, word), knows(Language::En, word)) {
            (true, false) => lead += 1,
            (false, true) => lead -= 1,
            _ => {}
        }
    }
    lead
}

/// The German or the English text, for a reader of `lang`.
pub fn say(lang: Language, de: &str, en: &str) -> String {
    match lang {
        Language::De => de.to_string(),
        Language::En => en.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_chat_messages() {
        assert_eq!(
            detect(
                "wer macht eigentlich unsere rechnung, ihr oder microsoft direkt?",
                None,
                None
            )
            .0,
            Language::De
        );
        assert_eq!(
            detect("who actually bills us, you or microsoft?", None, None).0,
            Language::En
        );
        assert_eq!(detect("kündigung", None, None).0, Language::De);
        assert_eq!(
            detect("E3", Some(Language::De), None),
            (Language::De, LanguageSource::Hint)
        );
        assert_eq!(
            detect("E3", None, Some(Language::En)),
            (Language::En, LanguageSource::Conversation)
        );
    }

    #[test]
    fn the_guidance_breaks_a_tie_of_function_words() {
        let german = ["bedeutet", "rechnung"];
        let english = ["means", "invoice"];
        let knows = |lang: Language, word: &str| {
            let word = word.to_lowercase();
            match lang {
                Language::De => german.contains(&word.as_str()),
                Language::En => english.contains(&word.as_str()),
            }
        };
        assert_eq!(by_guidance("Was bedeutet NCE?", knows), Some(Language::De));
        assert_eq!(by_guidance("invoice E3", knows), Some(Language::En));
        assert_eq!(by_guidance("NCE E3 2026", knows), None);
        assert_eq!(by_guidance("Rechnung invoice", knows), None);
    }
}
