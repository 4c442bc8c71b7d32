//! Direction words: a question about removing, reducing or cancelling is not answered by a
//! section about adding, increasing or buying, however many other words they share ("reduce
//! our E3 licences" against "Adding licences"), and the other way round. The same holds for
//! which way a customer moves between partners: "how do we move to another partner?" is not
//! answered by "Moving to us", which shares every word but the direction.
//!
//! Word beginnings and short phrases, not a thesaurus: these are the language's own verbs of
//! change and its ways of saying "to you" and "to another partner", the same for every
//! guidance, matched on lower-cased words with umlauts folded.

use switchboard_knowledge::Language;

/// Which way a change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Adding, increasing, buying, extending.
    Up,
    /// Removing, reducing, cancelling, deleting.
    Down,
    /// Moving to us, the partner (the customer writes "to you").
    ToUs,
    /// Moving away from us, to another partner.
    AwayFromUs,
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

/// Phrases (whole words, lower case, umlauts folded) that say a move goes to us: a customer
/// writes "to you", guidance "to us".
const TO_US_EN: &[&str] = &["to you", "to us", "join you"];
const AWAY_EN: &[&str] = &[
    "another partner",
    "different partner",
    "other partner",
    "new partner",
    "another reseller",
    "different reseller",
    "new reseller",
    "another csp",
    "different csp",
    "another provider",
    "different provider",
    "new provider",
    "leave you",
    "leaving you",
    "away from you",
    "away from us",
];
const TO_US_DE: &[&str] = &["zu euch", "zu ihnen", "zu uns", "zu dir"];
const AWAY_DE: &[&str] = &[
    "anderen partner",
    "anderem partner",
    "neuen partner",
    "neuem partner",
    "anderen reseller",
    "anderem reseller",
    "neuen reseller",
    "anderen anbieter",
    "anderem anbieter",
    "neuen anbieter",
    "anderen csp",
    "anderem csp",
    "von euch weg",
    "von uns weg",
    "euch verlassen",
];

fn fold(c: char) -> char {
    match c {
        'ä' => 'a',
        'ö' => 'o',
        'ü' => 'u',
        other => other,
    }
}

/// The words of `text`, lower case with umlauts folded.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_lowercase).map(fold).collect())
}

/// The changes `text`'s words name (none, one or both ways).
fn changes(text: &str, lang: Language) -> (bool, bool) {
    let (up, down) = match lang {
        Language::De => (UP_DE, DOWN_DE),
        Language::En => (UP_EN, DOWN_EN),
    };
    let mut found = (false, false);
    for word in words(text) {
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

/// The moves between partners `text` names (none, one or both ways).
fn moves(text: &str, lang: Language) -> (bool, bool) {
    let (to_us, away) = match lang {
        Language::De => (TO_US_DE, AWAY_DE),
        Language::En => (TO_US_EN, AWAY_EN),
    };
    // Spaces around every word, so that a phrase matches whole words only.
    let mut spaced = String::from(" ");
    for word in words(text) {
        spaced.push_str(&word);
        spaced.push(' ');
    }
    let whole = |p: &str| {
        spaced
            .match_indices(p)
            .any(|(at, _)| spaced[..at].ends_with(' ') && spaced[at + p.len()..].starts_with(' '))
    };
    let has = |phrases: &[&str]| phrases.iter().any(|p| whole(p));
    (has(to_us), has(away))
}

/// The directions `text` names: at most one of each pair (up or down, to us or away), none
/// where it names both ways of a pair.
pub fn directions_of(text: &str, lang: Language) -> Vec<Direction> {
    let one = |(a, b): (bool, bool), first: Direction, second: Direction| match (a, b) {
        (true, false) => Some(first),
        (false, true) => Some(second),
        _ => None,
    };
    [
        one(changes(text, lang), Direction::Up, Direction::Down),
        one(moves(text, lang), Direction::ToUs, Direction::AwayFromUs),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Whether a section headed `heading` says the opposite of what a question going `asked` asks:
/// the heading names the other direction and not the asked one.
pub fn contradicts(asked: Direction, heading: &str, lang: Language) -> bool {
    let (up, down) = changes(heading, lang);
    let (to_us, away) = moves(heading, lang);
    match asked {
        Direction::Up => down && !up,
        Direction::Down => up && !down,
        Direction::ToUs => away && !to_us,
        Direction::AwayFromUs => to_us && !away,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opposite_headings_contradict_and_neutral_ones_do_not() {
        let en = Language::En;
        let asked = directions_of("We want to reduce our E3 licenses from 50 to 40", en);
        assert_eq!(asked, [Direction::Down]);
        assert!(contradicts(Direction::Down, "Adding licences", en));
        assert!(!contradicts(Direction::Down, "Removing licences", en));
        assert!(!contradicts(Direction::Down, "Adding and removing licences", en));
        assert!(!contradicts(Direction::Down, "What you can do yourself", en));
        let de = Language::De;
        assert_eq!(
            directions_of("Können wir Lizenzen reduzieren?", de),
            [Direction::Down]
        );
        assert_eq!(
            directions_of("Wir möchten 5 Lizenzen hinzufügen", de),
            [Direction::Up]
        );
        assert!(contradicts(Direction::Down, "Lizenzen hinzufügen", de));
        assert!(contradicts(Direction::Up, "Abonnement kündigen", de));
        // A question naming both ways (or neither) has no direction.
        assert!(directions_of("add or remove users", en).is_empty());
        assert!(directions_of("what is an invoice", en).is_empty());
        assert!(directions_of("change the billing address", en).is_empty());
    }

    #[test]
    fn a_move_to_us_and_a_move_to_another_partner_contradict() {
        let en = Language::En;
        assert_eq!(
            directions_of("How do we move our subscriptions to you?", en),
            [Direction::ToUs]
        );
        assert_eq!(
            directions_of("we want to leave you for a different partner", en),
            [Direction::AwayFromUs]
        );
        assert_eq!(
            directions_of("can we cancel and take our licences to another reseller?", en),
            [Direction::Down, Direction::AwayFromUs]
        );
        assert!(contradicts(Direction::ToUs, "Moving to another partner", en));
        assert!(contradicts(Direction::AwayFromUs, "Moving to us", en));
        assert!(!contradicts(Direction::ToUs, "Moving to us", en));
        // Whole words: "tour", "usage" and "youth" are no move.
        assert!(directions_of("a tour of usage for youth", en).is_empty());
        let de = Language::De;
        assert_eq!(directions_of("Wie wechseln wir zu euch?", de), [Direction::ToUs]);
        assert_eq!(
            directions_of("Wir wollen zu einem anderen Partner wechseln", de),
            [Direction::AwayFromUs]
        );
        assert!(contradicts(
            Direction::ToUs,
            "Zu einem anderen Partner wechseln",
            de
        ));
        assert!(contradicts(Direction::AwayFromUs, "Wechsel zu uns", de));
        // Coming to us from another partner names both ways: no direction.
        assert!(directions_of("wir sind bei einem anderen Partner und wollen zu euch", de).is_empty());
    }
}
