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

/// Which ways of each pair a text names, read in one pass over its words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Named {
    up: bool,
    down: bool,
    to_us: bool,
    away: bool,
}

impl Named {
    /// Reads `text`: verbs of change as word beginnings (German compounds and separable verbs
    /// put the verb in the middle: "hinzuzufügen", "Lizenzreduzierung"), moves as whole-word
    /// phrases.
    pub fn of(text: &str, lang: Language) -> Self {
        let (up, down, to_us, away) = match lang {
            Language::De => (UP_DE, DOWN_DE, TO_US_DE, AWAY_DE),
            Language::En => (UP_EN, DOWN_EN, TO_US_EN, AWAY_EN),
        };
        let german = lang == Language::De;
        let mut named = Named::default();
        // Every word with a space on each side, so that a phrase matches whole words only.
        let mut spaced = String::from(" ");
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let word: String = word.chars().flat_map(char::to_lowercase).map(fold).collect();
            if !word.starts_with("addr") {
                let has = |stems: &[&str]| {
                    stems
                        .iter()
                        .any(|s| word.starts_with(s) || (german && word.len() > 8 && word.contains(s)))
                };
                named.up |= has(up);
                named.down |= has(down);
            }
            spaced.push_str(&word);
            spaced.push(' ');
        }
        let whole = |p: &str| {
            spaced
                .match_indices(p)
                .any(|(at, _)| spaced[..at].ends_with(' ') && spaced[at + p.len()..].starts_with(' '))
        };
        named.to_us = to_us.iter().any(|p| whole(p));
        named.away = away.iter().any(|p| whole(p));
        named
    }

    /// Whether the text names `direction` and not its opposite.
    pub fn goes(&self, direction: Direction) -> bool {
        match direction {
            Direction::Up => self.up && !self.down,
            Direction::Down => self.down && !self.up,
            Direction::ToUs => self.to_us && !self.away,
            Direction::AwayFromUs => self.away && !self.to_us,
        }
    }

    /// The directions the text goes: at most one of each pair, none where it names both ways.
    pub fn directions(&self) -> Vec<Direction> {
        [
            Direction::Up,
            Direction::Down,
            Direction::ToUs,
            Direction::AwayFromUs,
        ]
        .into_iter()
        .filter(|d| self.goes(*d))
        .collect()
    }

    /// Whether a section headed with this text says the opposite of what a question going
    /// `asked` asks: the heading names the other direction and not the asked one.
    pub fn contradicts(&self, asked: Direction) -> bool {
        self.goes(asked.opposite())
    }
}

impl Direction {
    fn opposite(self) -> Direction {
        match self {
            Direction::Up => Direction::Down,
            Direction::Down => Direction::Up,
            Direction::ToUs => Direction::AwayFromUs,
            Direction::AwayFromUs => Direction::ToUs,
        }
    }
}

/// The directions `text` names: at most one of each pair (up or down, to us or away), none
/// where it names both ways of a pair.
pub fn directions_of(text: &str, lang: Language) -> Vec<Direction> {
    Named::of(text, lang).directions()
}

/// Whether a section headed `heading` says the opposite of what a question going `asked` asks.
pub fn contradicts(asked: Direction, heading: &str, lang: Language) -> bool {
    Named::of(heading, lang).contradicts(asked)
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
