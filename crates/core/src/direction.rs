//! Direction words: a question about removing, reducing or cancelling is not answered by a
//! section about adding, increasing or buying, however many other words they share ("reduce
//! our E3 licences" against "Adding licences"), and the other way round.
//!
//! Word beginnings, not a thesaurus: these are the language's own verbs of change, the same for
//! every guidance, matched on lower-cased words with umlauts folded.

use switchboard_knowledge::Language;

/// Which way a change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Adding, increasing, buying, extending.
    Up,
    /// Removing, reducing, cancelling, deleting.
    Down,
}

const UP_EN: &[&str] = &["add", "increas", "buy", "purchas", "extend", "upgrad"];
const DOWN_EN: &[&str] = &[
    "remov", "reduc", "decreas", "cancel", "delet", "fewer", "downgrad",
];
const UP_DE: &[&str] = &[
    "hinzufug",
    "hinzufueg",
    "erhoh",
    "erhoeh",
    "kauf",
    "zukauf",
    "erweiter",
    "upgrad",
    "aufstock",
];
const DOWN_DE: &[&str] = &[
    "entfern",
    "reduzier",
    "verringer",
    "kundig",
    "kuendig",
    "losch",
    "loesch",
    "storn",
    "downgrad",
];

fn fold(c: char) -> char {
    match c {
        'ä' => 'a',
        'ö' => 'o',
        'ü' => 'u',
        other => other,
    }
}

/// The directions `text`'s words name (none, one or both).
fn directions(text: &str, lang: Language) -> (bool, bool) {
    let (up, down) = match lang {
        Language::De => (UP_DE, DOWN_DE),
        Language::En => (UP_EN, DOWN_EN),
    };
    let mut found = (false, false);
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word: String = word.chars().flat_map(char::to_lowercase).map(fold).collect();
        if word.starts_with("addr") {
            continue;
        }
        // German compounds and separable verbs put the verb in the middle: "hinzuzufügen",
        // "Lizenzreduzierung".
        let german = lang == Language::De;
        let has = |stems: &[&str]| {
            stems
                .iter()
                .any(|s| word.starts_with(s) || (german && word.len() > 8 && word.contains(s)))
        };
        found.0 |= has(up);
        found.1 |= has(down);
    }
    found
}

/// The one direction `text` names, if it names exactly one.
pub fn direction_of(text: &str, lang: Language) -> Option<Direction> {
    match directions(text, lang) {
        (true, false) => Some(Direction::Up),
        (false, true) => Some(Direction::Down),
        _ => None,
    }
}

/// Whether a section headed `heading` says the opposite of what a question going `asked` asks:
/// the heading names the other direction and not the asked one.
pub fn contradicts(asked: Direction, heading: &str, lang: Language) -> bool {
    let (up, down) = directions(heading, lang);
    match asked {
        Direction::Up => down && !up,
        Direction::Down => up && !down,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opposite_headings_contradict_and_neutral_ones_do_not() {
        let en = Language::En;
        let asked = direction_of("We want to reduce our E3 licenses from 50 to 40", en);
        assert_eq!(asked, Some(Direction::Down));
        assert!(contradicts(Direction::Down, "Adding licences", en));
        assert!(!contradicts(Direction::Down, "Removing licences", en));
        assert!(!contradicts(Direction::Down, "Adding and removing licences", en));
        assert!(!contradicts(Direction::Down, "What you can do yourself", en));
        let de = Language::De;
        assert_eq!(
            direction_of("Können wir Lizenzen reduzieren?", de),
            Some(Direction::Down)
        );
        assert_eq!(
            direction_of("Wir möchten 5 Lizenzen hinzufügen", de),
            Some(Direction::Up)
        );
        assert!(contradicts(Direction::Down, "Lizenzen hinzufügen", de));
        assert!(contradicts(Direction::Up, "Abonnement kündigen", de));
        // A question naming both ways (or neither) has no direction.
        assert_eq!(direction_of("add or remove users", en), None);
        assert_eq!(direction_of("what is an invoice", en), None);
        assert_eq!(direction_of("change the billing address", en), None);
    }
}
