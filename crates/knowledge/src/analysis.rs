//! Language analysis shared by indexing and querying: the same function turns a
//! document and a question into terms, so they meet in the index.
//!
//! German: lower case, umlaut and ß folding (also `ae`/`oe`/`ue`, as typed on keyboards
//! without umlauts), stop words, compound splitting against a dictionary learnt from the
//! guidance itself, Snowball stemming. English: lower case, stop words, Snowball stemming.

use crate::model::Language;
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Bumped whenever analysis or ingestion changes, so stored indexes are rebuilt.
pub const ANALYZER_VERSION: u32 = 17;

/// Words longer than this (in bytes) are not indexed: they are hashes, base64 or noise.
const MAX_TOKEN_BYTES: usize = 40;
/// The shortest part a compound may be split into.
const MIN_COMPOUND_PART: usize = 4;
/// A word must occur this often on its own to serve as a compound part.
const MIN_PART_FREQUENCY: usize = 2;

/// Common German words of billing and support that split compounds even when a small
/// knowledge base does not use them on their own often enough to be learnt.
const GERMAN_BASE_WORDS: &[&str] = &[
    "abrechnung",
    "abonnement",
    "abo",
    "abstimmung",
    "adresse",
    "anbieter",
    "anfrage",
    "angebot",
    "anmeldung",
    "anspruch",
    "antrag",
    "anzahl",
    "arbeit",
    "auftrag",
    "ausgabe",
    "auszahlung",
    "bank",
    "bedingung",
    "begrenzung",
    "beitrag",
    "benutzer",
    "bericht",
    "berechtigung",
    "bestellung",
    "betrag",
    "beziehung",
    "budget",
    "cloud",
    "daten",
    "datei",
    "datum",
    "dienst",
    "domain",
    "eingang",
    "einkauf",
    "einstellung",
    "empfang",
    "ende",
    "entwurf",
    "erneuerung",
    "fehler",
    "firma",
    "frage",
    "frist",
    "funktion",
    "gebuhr",
    "gerat",
    "geschaft",
    "gutschrift",
    "guthaben",
    "handel",
    "hilfe",
    "jahr",
    "karte",
    "kauf",
    "konto",
    "kosten",
    "kredit",
    "kunde",
    "kunden",
    "kundigung",
    "lizenz",
    "lizenzen",
    "mandant",
    "monat",
    "nachricht",
    "nummer",
    "nutzung",
    "partner",
    "person",
    "plan",
    "portal",
    "position",
    "preis",
    "preise",
    "produkt",
    "programm",
    "prozess",
    "prufung",
    "rabatt",
    "rechnung",
    "recht",
    "regel",
    "richtlinie",
    "rolle",
    "ruckerstattung",
    "schlussel",
    "service",
    "sperre",
    "sperrung",
    "steuer",
    "stunde",
    "summe",
    "support",
    "system",
    "tabelle",
    "tarif",
    "team",
    "test",
    "testversion",
    "ticket",
    "verbrauch",
    "verfahren",
    "verlangerung",
    "vertrag",
    "verwaltung",
    "voraussetzung",
    "wahrung",
    "woche",
    "zahl",
    "zahlung",
    "zeit",
    "zeitraum",
    "zugang",
    "zugriff",
    "zyklus",
];
/// Fugenelemente: the linking letters between the parts of a German compound.
const LINKING: [&str; 4] = ["s", "es", "n", "en"];

const GERMAN_STOP_WORDS: &[&str] = &[
    "aber",
    "alle",
    "allem",
    "allen",
    "aller",
    "alles",
    "als",
    "also",
    "am",
    "an",
    "ander",
    "andere",
    "anderem",
    "anderen",
    "anderer",
    "anderes",
    "auch",
    "auf",
    "aus",
    "bei",
    "bin",
    "bis",
    "bist",
    "da",
    "damit",
    "dann",
    "das",
    "dass",
    "dasselbe",
    "dazu",
    "dein",
    "deine",
    "deinem",
    "deinen",
    "deiner",
    "dem",
    "demselben",
    "den",
    "denn",
    "der",
    "derer",
    "des",
    "desselben",
    "dessen",
    "dich",
    "die",
    "dies",
    "diese",
    "dieselbe",
    "dieselben",
    "diesem",
    "diesen",
    "dieser",
    "dieses",
    "dir",
    "doch",
    "dort",
    "du",
    "durch",
    "ein",
    "eine",
    "einem",
    "einen",
    "einer",
    "eines",
    "einig",
    "einige",
    "einigem",
    "einigen",
    "einiger",
    "einiges",
    "einmal",
    "er",
    "es",
    "etwas",
    "euer",
    "eure",
    "eurem",
    "euren",
    "eurer",
    "eures",
    "fur",
    "gegen",
    "gewesen",
    "hab",
    "habe",
    "haben",
    "hat",
    "hatte",
    "hatten",
    "hier",
    "hin",
    "hinter",
    "ich",
    "ihm",
    "ihn",
    "ihnen",
    "ihr",
    "ihre",
    "ihrem",
    "ihren",
    "ihrer",
    "ihres",
    "im",
    "in",
    "indem",
    "ins",
    "ist",
    "jede",
    "jedem",
    "jeden",
    "jeder",
    "jedes",
    "jene",
    "jenem",
    "jenen",
    "jener",
    "jenes",
    "jetzt",
    "kann",
    "konnen",
    "konnte",
    "machen",
    "man",
    "manche",
    "manchem",
    "manchen",
    "mancher",
    "manches",
    "mein",
    "meine",
    "meinem",
    "meinen",
    "meiner",
    "meines",
    "mich",
    "mir",
    "mit",
    "muss",
    "musste",
    "nach",
    "nun",
    "nur",
    "ob",
    "oder",
    "ohne",
    "sehr",
    "sein",
    "seine",
    "seinem",
    "seinen",
    "seiner",
    "seines",
    "selbst",
    "sich",
    "sie",
    "sind",
    "so",
    "solche",
    "solchem",
    "solchen",
    "solcher",
    "solches",
    "soll",
    "sollte",
    "sondern",
    "sonst",
    "uber",
    "um",
    "und",
    "uns",
    "unser",
    "unsere",
    "unserem",
    "unseren",
    "unserer",
    "unseres",
    "unter",
    "viel",
    "vom",
    "von",
    "vor",
    "wahrend",
    "war",
    "waren",
    "warst",
    "was",
    "weg",
    "weil",
    "weiter",
    "welche",
    "welchem",
    "welchen",
    "welcher",
    "welches",
    "wenn",
    "werde",
    "werden",
    "wie",
    "wieder",
    "will",
    "wir",
    "wird",
    "wirst",
    "wo",
    "wollen",
    "wollte",
    "wurde",
    "wurden",
    "zu",
    "zum",
    "zur",
    "zwar",
    "zwischen",
    "eigentlich",
    "mal",
    "bitte",
    "gibt",
    "geht",
    "denn",
    "ja",
];

/// Whether a lower-case word is a stop word of German or English.
pub fn is_stop_word_in_either_language(word: &str) -> bool {
    GERMAN_STOP_WORDS.contains(&word) || ENGLISH_STOP_WORDS.contains(&word)
}

const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
    "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
    "was", "will", "with", "we", "our", "us", "you", "your", "i", "me", "my", "do", "does", "did", "can",
    "could", "would", "should", "have", "has", "had", "what", "which", "who", "how", "why", "when", "where",
    "am", "been", "being", "so", "just", "any", "some", "its", "from", "about", "get", "got", "there",
    "here", "please", "actually", "hi", "hello",
];

/// Words chat questions carry that guidance never means: the pieces an apostrophe leaves
/// (`don't` -> don, t) and contractions written without it (`dont`, `theres`). Dropped from
/// questions only, so the index (and its lengths, which BM25 weighs) stays as it is; unknown to
/// the guidance, they would count against coverage or be "corrected" to real terms
/// (`theres` -> three).
const ENGLISH_CHAT_FRAGMENTS: &[&str] = &[
    "don", "doesn", "didn", "isn", "aren", "wasn", "weren", "hasn", "haven", "hadn", "won", "wouldn",
    "shouldn", "couldn", "ain", "t", "s", "d", "ll", "ve", "re", "m", "dont", "doesnt", "didnt", "isnt",
    "arent", "wasnt", "werent", "hasnt", "havent", "hadnt", "wont", "wouldnt", "shouldnt", "couldnt", "cant",
    "im", "ive", "youre", "theyre", "thats", "theres", "whats",
];

/// What an apostrophe leaves of German chat (`gibt's`, `geht's`).
const GERMAN_CHAT_FRAGMENTS: &[&str] = &["s"];

/// British spellings of words guidance and customers use, with their American forms: one
/// customer writes "licences", Microsoft's guidance "licenses", and the stems differ
/// (`licenc` / `licens`). Both sides are analysed to the American form.
const BRITISH_TO_AMERICAN: &[(&str, &str)] = &[
    ("licence", "license"),
    ("licences", "licenses"),
    ("licenced", "licensed"),
    ("licencing", "licensing"),
    ("cancelled", "canceled"),
    ("cancelling", "canceling"),
    ("cancellations", "cancelations"),
    ("organisation", "organization"),
    ("organisations", "organizations"),
    ("organise", "organize"),
    ("organised", "organized"),
    ("recognise", "recognize"),
    ("recognised", "recognized"),
    ("authorise", "authorize"),
    ("authorised", "authorized"),
    ("authorisation", "authorization"),
    ("centre", "center"),
    ("centres", "centers"),
    ("catalogue", "catalog"),
    ("catalogues", "catalogs"),
    ("programme", "program"),
    ("programmes", "programs"),
    ("enrolment", "enrollment"),
    ("enrol", "enroll"),
    ("enrols", "enrolls"),
    ("behaviour", "behavior"),
    ("colour", "color"),
    ("analyse", "analyze"),
    ("analysed", "analyzed"),
    ("customise", "customize"),
    ("customised", "customized"),
    ("prioritise", "prioritize"),
    ("summarise", "summarize"),
    ("optimise", "optimize"),
    ("utilisation", "utilization"),
    ("finalise", "finalize"),
    ("instalment", "installment"),
    ("instalments", "installments"),
    ("fulfil", "fulfill"),
    ("defence", "defense"),
];

/// The American spelling of a folded English word, or the word itself.
fn american_spelling(word: &str) -> &str {
    BRITISH_TO_AMERICAN
        .iter()
        .find(|(british, _)| *british == word)
        .map_or(word, |(_, american)| american)
}

/// German words that, once known, split compounds; learnt from the guidance's own words.
#[derive(Debug, Default, Clone)]
pub struct CompoundDictionary {
    words: HashSet<String>,
}

impl CompoundDictionary {
    /// Builds the dictionary from word counts (folded, lower-case words as
    /// [`fold_german`] gives them). Frequent words of a useful length qualify.
    pub fn from_counts(counts: &HashMap<String, usize>) -> Self {
        let stop: HashSet<&str> = GERMAN_STOP_WORDS.iter().copied().collect();
        let words = counts
            .iter()
            .filter(|(w, &n)| {
                n >= MIN_PART_FREQUENCY
                    && w.len() >= MIN_COMPOUND_PART
                    && !stop.contains(w.as_str())
                    && w.chars().all(char::is_alphabetic)
            })
            .map(|(w, _)| w.clone())
            .chain(GERMAN_BASE_WORDS.iter().map(|w| (*w).to_string()))
            .collect();
        CompoundDictionary { words }
    }

    /// Builds the dictionary from a word list.
    pub fn from_words<I: IntoIterator<Item = String>>(words: I) -> Self {
        CompoundDictionary {
            words: words.into_iter().collect(),
        }
    }

    /// The words, sorted (for storing next to the index).
    pub fn sorted_words(&self) -> Vec<&str> {
        let mut words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        words.sort_unstable();
        words
    }

    /// Number of words.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Splits a folded word into known parts, longest first part first; `None` if it is
    /// not a compound of known words.
    pub fn split(&self, word: &str) -> Option<Vec<String>> {
        if word.len() < 2 * MIN_COMPOUND_PART || !word.is_ascii() {
            return None;
        }
        self.split_rec(word, 0)
    }

    fn split_rec(&self, word: &str, depth: usize) -> Option<Vec<String>> {
        if depth > 4 {
            return None;
        }
        let len = word.len();
        for cut in (MIN_COMPOUND_PART..=len.saturating_sub(MIN_COMPOUND_PART)).rev() {
            let head = &word[..cut];
            if !self.words.contains(head) {
                continue;
            }
            let rest = &word[cut..];
            for link in std::iter::once("").chain(LINKING) {
                let Some(tail) = rest.strip_prefix(link) else {
                    continue;
                };
                if tail.len() < MIN_COMPOUND_PART {
                    continue;
                }
                if self.words.contains(tail) {
                    return Some(vec![head.to_string(), tail.to_string()]);
                }
                if let Some(mut parts) = self.split_rec(tail, depth + 1) {
                    parts.insert(0, head.to_string());
                    return Some(parts);
                }
            }
        }
        None
    }
}

/// Folds a lower-case German word: umlauts and ß, and their two-letter spellings.
pub fn fold_german(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut prev = '\0';
    for c in word.chars() {
        match c {
            'ä' | 'à' | 'á' | 'â' => out.push('a'),
            'ö' | 'ò' | 'ó' | 'ô' => out.push('o'),
            'ü' | 'ù' | 'ú' | 'û' => out.push('u'),
            'é' | 'è' | 'ê' => out.push('e'),
            'ß' => out.push_str("ss"),
            // `ae`, `oe`, `ue` are how umlauts are typed without them; `que` stays.
            'e' if matches!(prev, 'a' | 'o') || (prev == 'u' && !out.ends_with("qu")) => {}
            _ => out.push(c),
        }
        prev = c;
    }
    out
}

/// One term produced by analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzedTerm {
    /// The term as indexed.
    pub term: String,
    /// Byte range of the word in the input.
    pub from: usize,
    /// End of the byte range.
    pub to: usize,
    /// Word position.
    pub position: usize,
    /// True for a part of a split compound (the whole word is a term too).
    pub is_compound_part: bool,
}

/// The analyzer of one language; cheap to clone.
#[derive(Clone)]
pub struct Analyzer {
    language: Language,
    stemmer: Arc<Stemmer>,
    stop_words: Arc<HashSet<&'static str>>,
    /// The stems of the stop words: a typo of "actually" corrected to `actual` is still filler.
    stop_stems: Arc<HashSet<String>>,
    compounds: Arc<CompoundDictionary>,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("language", &self.language)
            .finish_non_exhaustive()
    }
}

impl Analyzer {
    /// The analyzer for `language`; `compounds` is used for German only.
    pub fn new(language: Language, compounds: Arc<CompoundDictionary>) -> Self {
        let (algorithm, stop) = match language {
            Language::De => (Algorithm::German, GERMAN_STOP_WORDS),
            Language::En => (Algorithm::English, ENGLISH_STOP_WORDS),
        };
        let mut analyzer = Analyzer {
            language,
            stemmer: Arc::new(Stemmer::create(algorithm)),
            stop_words: Arc::new(stop.iter().copied().collect()),
            stop_stems: Arc::default(),
            compounds,
        };
        analyzer.stop_stems = Arc::new(stop.iter().map(|w| analyzer.stem(w)).collect());
        analyzer
    }

    /// Whether a stemmed term is the stem of a stop word.
    pub fn is_stop_stem(&self, term: &str) -> bool {
        self.stop_stems.contains(term)
    }

    /// The language analysed.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Splits text into lower-case, folded words with their byte ranges, before stop
    /// words and stemming. German words are folded as in [`fold_german`].
    pub fn words(&self, text: &str) -> Vec<(String, usize, usize)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            if c.is_alphanumeric() {
                if start.is_none() {
                    start = Some(i);
                }
            } else if let Some(s) = start.take() {
                let word = &text[s..i];
                if word.len() <= MAX_TOKEN_BYTES {
                    let lower = word.to_lowercase();
                    let folded = match self.language {
                        Language::De => fold_german(&lower),
                        Language::En => lower,
                    };
                    out.push((folded, s, i));
                }
            }
        }
        out
    }

    /// Whether a folded word is a stop word.
    pub fn is_stop_word(&self, word: &str) -> bool {
        self.stop_words.contains(word)
    }

    /// Stems one folded word.
    pub fn stem(&self, word: &str) -> String {
        let word = match self.language {
            Language::En => american_spelling(word),
            Language::De => word,
        };
        let stem = self.stemmer.stem(word);
        // Snowball undoubles a final double consonant (but ll, ss, zz) only where it has just
        // stripped -ed or -ing (`added`, `adding` -> `ad`; `staffed` -> `staf`), and leaves the
        // bare word alone (`add`, `staff`): the commonest verb of licence guidance would never
        // meet its own past tense. Undoubling every stem the same way makes them meet.
        if self.language == Language::En {
            let bytes = stem.as_bytes();
            if let [.., a, b] = bytes {
                if a == b && b"bdfgmnprt".contains(b) && bytes.len() > 2 {
                    return stem[..stem.len() - 1].to_string();
                }
            }
        }
        stem.into_owned()
    }

    /// The full analysis: words, stop words removed, compounds split, stems.
    pub fn analyze(&self, text: &str) -> Vec<AnalyzedTerm> {
        self.analyze_with(text, &[])
    }

    /// [`Analyzer::analyze`] for a chat question: contraction pieces such as `don`, `t`,
    /// `theres` are dropped too.
    pub fn analyze_question(&self, text: &str) -> Vec<AnalyzedTerm> {
        let fragments = match self.language {
            Language::De => GERMAN_CHAT_FRAGMENTS,
            Language::En => ENGLISH_CHAT_FRAGMENTS,
        };
        self.analyze_with(text, fragments)
    }

    /// [`Analyzer::analyze`] of only the words `may_hold` admits (by their folded form): the
    /// rest are neither stemmed nor split, which is most of the cost when a long text is read
    /// for a few terms.
    pub fn analyze_admitted(&self, text: &str, may_hold: impl Fn(&str) -> bool) -> Vec<AnalyzedTerm> {
        self.analyze_filtered(text, &[], may_hold)
    }

    fn analyze_with(&self, text: &str, also_drop: &[&str]) -> Vec<AnalyzedTerm> {
        self.analyze_filtered(text, also_drop, |_| true)
    }

    fn analyze_filtered(
        &self,
        text: &str,
        also_drop: &[&str],
        may_hold: impl Fn(&str) -> bool,
    ) -> Vec<AnalyzedTerm> {
        let mut out = Vec::new();
        for (position, (word, from, to)) in self.words(text).into_iter().enumerate() {
            if self.is_stop_word(&word) || also_drop.contains(&word.as_str()) || !may_hold(&word) {
                continue;
            }
            out.push(AnalyzedTerm {
                term: self.stem(&word),
                from,
                to,
                position,
                is_compound_part: false,
            });
            if self.language == Language::De {
                if let Some(parts) = self.compounds.split(&word) {
                    for part in parts {
                        if self.is_stop_word(&part) {
                            continue;
                        }
                        let term = self.stem(&part);
                        out.push(AnalyzedTerm {
                            term,
                            from,
                            to,
                            position,
                            is_compound_part: true,
                        });
                    }
                }
            }
        }
        out
    }
}

/// A finished token stream over analysed terms.
pub struct AnalyzedTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for AnalyzedTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

impl Tokenizer for Analyzer {
    type TokenStream<'a> = AnalyzedTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> AnalyzedTokenStream {
        let tokens = self
            .analyze(text)
            .into_iter()
            .map(|t| Token {
                offset_from: t.from,
                offset_to: t.to,
                position: t.position,
                text: t.term,
                position_length: 1,
            })
            .collect();
        AnalyzedTokenStream { tokens, index: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn german(words: &[&str]) -> Analyzer {
        let dict = CompoundDictionary::from_words(words.iter().map(|w| fold_german(w)));
        Analyzer::new(Language::De, Arc::new(dict))
    }

    fn terms(a: &Analyzer, text: &str) -> Vec<String> {
        a.analyze(text).into_iter().map(|t| t.term).collect()
    }

    #[test]
    fn umlauts_and_their_spellings_meet() {
        let a = german(&[]);
        assert_eq!(terms(&a, "Gebühr"), terms(&a, "Gebuehr"));
        assert_eq!(terms(&a, "Größe"), terms(&a, "groesse"));
        assert_eq!(terms(&a, "Straße"), terms(&a, "strasse"));
        assert_eq!(fold_german("quelle"), "quelle");
    }

    #[test]
    fn compounds_split_into_known_words() {
        let a = german(&[
            "abrechnung",
            "support",
            "beziehung",
            "rechnung",
            "datei",
            "abstimmung",
        ]);
        let support = terms(&a, "Abrechnungssupport");
        for part in terms(&a, "Abrechnung Support") {
            assert!(support.contains(&part), "{part} missing from {support:?}");
        }
        let query = terms(&a, "rechnungsdatei");
        let doc = terms(&a, "Abstimmungsdatei");
        assert!(query.iter().any(|t| doc.contains(t)), "{query:?} vs {doc:?}");
    }

    #[test]
    fn words_not_in_dictionary_stay_whole() {
        let a = german(&["abrechnung"]);
        assert_eq!(terms(&a, "Abrechnungsirgendwas").len(), 1);
    }

    #[test]
    fn english_drops_stop_words_and_stems() {
        let a = Analyzer::new(Language::En, Arc::default());
        assert_eq!(terms(&a, "The invoices are billed"), vec!["invoic", "bill"]);
    }

    #[test]
    fn british_and_american_spellings_meet() {
        let a = Analyzer::new(Language::En, Arc::default());
        assert_eq!(
            terms(&a, "licences cancelled organisation"),
            terms(&a, "licenses canceled organization")
        );
        assert_eq!(terms(&a, "licence"), terms(&a, "license"));
    }

    #[test]
    fn bare_words_meet_their_ed_and_ing_forms() {
        let a = Analyzer::new(Language::En, Arc::default());
        for (bare, forms) in [
            ("add", ["adds", "added", "adding"]),
            ("staff", ["staffs", "staffed", "staffing"]),
        ] {
            for form in forms {
                assert_eq!(terms(&a, form), terms(&a, bare), "{form}");
            }
        }
        // ll, ss and zz stay doubled, as Snowball keeps them.
        assert_eq!(terms(&a, "bill billed access"), ["bill", "bill", "access"]);
    }

    #[test]
    fn questions_drop_what_contractions_leave_and_the_index_keeps_it() {
        let question = |a: &Analyzer, text: &str| -> Vec<String> {
            a.analyze_question(text).into_iter().map(|t| t.term).collect()
        };
        let en = Analyzer::new(Language::En, Arc::default());
        let text = "I don't see the invoice, theres nothing and it isnt paid, we've tried";
        assert_eq!(question(&en, text), ["see", "invoic", "noth", "paid", "tri"]);
        // Indexing is unchanged: guidance lengths, which BM25 weighs, stay as they were.
        assert!(terms(&en, text).contains(&"don".to_string()));
        let de = german(&["abrechnung"]);
        assert_eq!(question(&de, "gibt's eine Abrechnung"), ["abrechn"]);
    }

    #[test]
    fn hostile_text_is_harmless() {
        let a = german(&["abrechnung"]);
        let long = "x".repeat(10_000);
        assert!(terms(&a, &long).is_empty());
        assert!(terms(&a, "\u{0}\u{7}::\"()").is_empty());
    }
}
