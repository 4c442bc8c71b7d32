//! The eval questions as real messages differ from them: with a typo, without question marks,
//! with a mail signature or a pasted link, ... (`eval --typos`, `eval --rewrite`). Each rewrite
//! applies to every question alike, so a figure it moves measures robustness, not one question.

use crate::Case;
use switchboard_knowledge::Language;

/// A way real messages differ from the eval questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// Every question mark taken out, as chat often has none.
    NoQuestionMarks,
    /// A mail signature (name, title, company, phone, ...) after the question; four formats per
    /// language, taken in turn.
    Signature,
    /// A link to the Partner Center documentation after the question.
    Link,
    /// The question announced before it is asked ("Quick question - ...").
    Announced,
    /// A Discord mention of the bot before the question, as a channel that answers only
    /// mentions receives it.
    Mention,
    /// A greeting before the question and thanks after it.
    Greeting,
    /// The question in capitals.
    Capitals,
    /// German umlauts written without them (`ae`, `oe`, `ue`, `ss`).
    Umlauts,
}

impl Rewrite {
    /// Every rewrite, in the order `eval --rewrite` lists them.
    pub const ALL: [Rewrite; 8] = [
        Rewrite::NoQuestionMarks,
        Rewrite::Signature,
        Rewrite::Link,
        Rewrite::Announced,
        Rewrite::Mention,
        Rewrite::Greeting,
        Rewrite::Capitals,
        Rewrite::Umlauts,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Rewrite::NoQuestionMarks => "no-question-marks",
            Rewrite::Signature => "signature",
            Rewrite::Link => "link",
            Rewrite::Announced => "announced",
            Rewrite::Mention => "mention",
            Rewrite::Greeting => "greeting",
            Rewrite::Capitals => "capitals",
            Rewrite::Umlauts => "umlauts",
        }
    }
}

impl std::str::FromStr for Rewrite {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rewrite::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Rewrite::ALL.iter().map(|r| r.name()).collect();
            format!("unknown rewrite `{s}`; one of: {}", names.join(", "))
        })
    }
}

const SIGNATURES_DE: [&str; 4] = [
    "\n\nFreundliche Grüße\n\nM. Weber\nIT-Administration\nStadtwerke Musterstadt GmbH\nMusterstraße 1, 12345 Musterstadt\nTelefon 0123 456789-0",
    "\nmfg\nstefan",
    " Grüße, Jan (Einkauf)",
    "\n\nHerzliche Grüße\nIhr Team der Kanzlei Roth",
];
const SIGNATURES_EN: [&str; 4] = [
    "\n\nRegards\nPriya Natarajan\nSystems Administrator\nAdventure Works\nMobile: 555-0147",
    "\n\nThank you,\nDave",
    " Best regards, Lisa (purchasing)",
    "\n\nSincerely,\nRobert Brown\nCFO, Tailspin Toys\n\nThis e-mail and any attachments are confidential.",
];

const ANNOUNCEMENTS_DE: [&str; 4] = [
    "Hätte mal ne Frage: ",
    "Eine Frage an Sie. ",
    "Ich habe noch eine kleine Frage - ",
    "Folgendes: ",
];
const ANNOUNCEMENTS_EN: [&str; 4] = [
    "Got a question. ",
    "Just a quick question - ",
    "One more question: ",
    "We have a question for you all. ",
];

/// The cases rewritten one way.
pub fn rewritten(cases: &[Case], rewrite: Rewrite) -> Vec<Case> {
    cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let q = &case.question;
            let de = case.lang == Language::De;
            let question = match rewrite {
                Rewrite::NoQuestionMarks => q.replace(['?', '¿'], ""),
                Rewrite::Signature => {
                    let signatures = if de { SIGNATURES_DE } else { SIGNATURES_EN };
                    format!("{q}{}", signatures[i % signatures.len()])
                }
                Rewrite::Link if de => {
                    format!("{q} (gesehen auf https://learn.microsoft.com/de-de/partner-center/)")
                }
                Rewrite::Link => format!("{q} (saw https://learn.microsoft.com/en-us/partner-center/ )"),
                Rewrite::Announced => {
                    let announcements = if de { ANNOUNCEMENTS_DE } else { ANNOUNCEMENTS_EN };
                    format!("{}{q}", announcements[i % announcements.len()])
                }
                Rewrite::Mention => format!("<@1102345678901234567> {q}"),
                Rewrite::Greeting if de => format!("Hallo zusammen, {q} Danke!"),
                Rewrite::Greeting => format!("Hi there, {q} Thanks!"),
                Rewrite::Capitals => q.to_uppercase(),
                Rewrite::Umlauts => q
                    .replace('ä', "ae")
                    .replace('ö', "oe")
                    .replace('ü', "ue")
                    .replace('Ä', "Ae")
                    .replace('Ö', "Oe")
                    .replace('Ü', "Ue")
                    .replace('ß', "ss"),
            };
            Case {
                question,
                ..case.clone()
            }
        })
        .collect()
}

/// The cases with one typo put into each question, chosen by `seed` (the same seed gives the
/// same typos): inside one word of six or more letters, never its first letter, a letter is
/// swapped with the next, dropped or doubled, as people mistype in chat. Questions without such
/// a word stay as they are. Measures how much typo tolerance holds up (`eval --typos`).
pub fn with_typos(cases: &[Case], seed: u64) -> Vec<Case> {
    let mut rng = fastrand::Rng::with_seed(seed);
    cases
        .iter()
        .map(|case| Case {
            question: with_typo(&case.question, &mut rng),
            ..case.clone()
        })
        .collect()
}

fn with_typo(question: &str, rng: &mut fastrand::Rng) -> String {
    let words: Vec<&str> = question.split(' ').collect();
    let long: Vec<usize> = words
        .iter()
        .enumerate()
        .filter(|(_, w)| w.chars().count() >= 6 && w.chars().all(char::is_alphabetic))
        .map(|(i, _)| i)
        .collect();
    if long.is_empty() {
        return question.to_string();
    }
    let at = long[rng.usize(..long.len())];
    let mut letters: Vec<char> = words[at].chars().collect();
    // Never the first letter: from the second to the one before last.
    let j = rng.usize(1..letters.len() - 1);
    match rng.u8(..3) {
        // Swapping two equal letters would change nothing: drop one instead.
        0 if letters[j] != letters[j + 1] => letters.swap(j, j + 1),
        1 => {
            letters.remove(j);
        }
        _ => letters.insert(j, letters[j]),
    }
    let typed: String = letters.into_iter().collect();
    let mut out: Vec<&str> = words;
    out[at] = &typed;
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Expect;

    fn case(lang: Language, question: &str) -> Case {
        Case {
            id: "x".into(),
            lang,
            question: question.into(),
            expect: Expect::Answer,
            docs: Vec::new(),
            queue: None,
            note: None,
        }
    }

    #[test]
    fn every_rewrite_changes_what_it_names_and_keeps_the_rest() {
        let cases = [
            case(Language::De, "Wie kündige ich das Abo?"),
            case(Language::En, "How?"),
        ];
        let q = |r| {
            rewritten(&cases, r)
                .into_iter()
                .map(|c| c.question)
                .collect::<Vec<_>>()
        };
        assert_eq!(q(Rewrite::NoQuestionMarks), ["Wie kündige ich das Abo", "How"]);
        assert_eq!(q(Rewrite::Umlauts)[0], "Wie kuendige ich das Abo?");
        assert_eq!(q(Rewrite::Capitals)[1], "HOW?");
        assert!(q(Rewrite::Signature)[0].starts_with("Wie kündige ich das Abo?\n\nFreundliche Grüße"));
        assert!(q(Rewrite::Link)[1].contains("https://learn.microsoft.com/en-us/"));
        for r in Rewrite::ALL {
            assert_eq!(r.name().parse::<Rewrite>(), Ok(r));
            assert_eq!(rewritten(&cases, r)[0].expect, Expect::Answer);
        }
        assert!("shouting"
            .parse::<Rewrite>()
            .unwrap_err()
            .contains("no-question-marks"));
    }
}
