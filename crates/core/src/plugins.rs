//! Plugins: one folder per plugin under `plugins/`, each with a `plugin.toml` that admins
//! write (intents with regex patterns and keywords per language, routing to queues, money
//! rules, a thesaurus, reply templates). Code that plugins need lives behind the
//! [`CodePlugin`] trait in one explicit registry, [`CODE_PLUGINS`].

use crate::entities::{self, Entities};
use crate::intents::{Examples, IntentClassifier, IntentLabel, MIN_EXAMPLES};
use crate::support::SupportModel;
use regex::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use switchboard_knowledge::{Language, Product};

/// Compiled regexes larger than this are refused: a plugin must not exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Plugin manifests larger than this are refused.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// What an intent does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntentAction {
    /// Hand off to the intent's queue.
    Handoff,
    /// The message is an in-scope question: answer it from the knowledge base.
    Answer,
    /// The message is out of scope: decline.
    Decline,
    /// The customer did not buy through a CSP: point to the product's portal.
    NotCsp,
    /// The customer says the last answer did not help.
    NotHelpful,
    /// The customer asks what support they get: every queue's hours (open now or the next
    /// opening), contact and price, from the support model rather than from guidance text.
    SupportInfo,
    /// A greeting: greet back and say what the bot can do.
    Greeting,
    /// Thanks: acknowledge.
    Thanks,
    /// The customer says the last answer helped (recorded as feedback).
    Helpful,
    /// A follow-up on a request already made (its status, how long, information the team asked
    /// for): handed to the intent's queue, which puts it on the customer's ticket. Only a class
    /// while the customer has a ticket; without one, its probability goes to the other classes.
    FollowUp,
}

/// A one-word thesaurus key (or intent word) at least this long also matches a message word one
/// typo away from it (`gesperrrt` for `gesperrt`, `persn` for `person`); shorter keys would match
/// other words.
const MIN_FUZZY_KEY_CHARS: usize = 6;

/// Whether `word` is `key` with one letter added, dropped, changed or two swapped, the first
/// letter kept (typos rarely hit it, and `locked` is not `blocked`).
fn one_typo_apart(word: &str, key: &str) -> bool {
    // Cheap tests first: a long message meets every key of the thesaurus.
    word.chars().next() == key.chars().next()
        && word.len().abs_diff(key.len()) <= 2
        && strsim::damerau_levenshtein(word, key) == 1
}

/// Words of six or more letters (one-word thesaurus keys, intent words) by first letter, so that
/// a message word one typo from one of them can be read as it: a long message meets every target,
/// and typos keep the first letter.
#[derive(Debug, Clone, Default)]
struct TypoTargets {
    by_first: HashMap<char, Vec<String>>,
}

impl TypoTargets {
    fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut by_first: HashMap<char, Vec<String>> = HashMap::new();
        for word in words {
            let Some(first) = word.chars().next() else {
                continue;
            };
            if word.chars().count() < MIN_FUZZY_KEY_CHARS {
                continue;
            }
            let bucket = by_first.entry(first).or_default();
            if !bucket.iter().any(|w| w == word) {
                bucket.push(word.to_string());
            }
        }
        TypoTargets { by_first }
    }

    fn bucket(&self, word: &str) -> &[String] {
        word.chars()
            .next()
            .and_then(|first| self.by_first.get(&first))
            .map_or(&[], Vec::as_slice)
    }

    fn contains(&self, word: &str) -> bool {
        self.bucket(word).iter().any(|w| w == word)
    }

    /// The targets `word` is one typo from.
    fn near<'a>(&'a self, word: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.bucket(word)
            .iter()
            .filter(move |target| one_typo_apart(word, target))
            .map(String::as_str)
    }
}

/// `text` with every whole-word occurrence of `word` replaced by `by`.
fn replace_word(text: &str, word: &str, by: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(char::is_alphabetic) || after.is_some_and(char::is_alphabetic) {
            out.push_str(word);
        } else {
            out.push_str(by);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Values per language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerLanguage<T> {
    /// German.
    #[serde(default)]
    pub de: T,
    /// English.
    #[serde(default)]
    pub en: T,
}

impl<T> PerLanguage<T> {
    /// The value for `lang`.
    pub fn get(&self, lang: Language) -> &T {
        match lang {
            Language::De => &self.de,
            Language::En => &self.en,
        }
    }

    /// The value for `lang`, to change.
    pub fn get_mut(&mut self, lang: Language) -> &mut T {
        match lang {
            Language::De => &mut self.de,
            Language::En => &mut self.en,
        }
    }
}

/// An intent as written in `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntentSpec {
    /// Name, unique within the plugin.
    pub name: String,
    /// What happens when it fires.
    pub action: IntentAction,
    /// The queue for `handoff`.
    #[serde(default)]
    pub queue: Option<String>,
    /// Higher wins when several intents fire.
    #[serde(default)]
    pub priority: i32,
    /// A request for a person that names no subject of its own ("can I talk to someone?"):
    /// the handoff goes to the queue the conversation was about, when it was about one, and
    /// to `queue` otherwise.
    #[serde(default)]
    pub queue_from_conversation: bool,
    /// Regular expressions (case-insensitive) per language.
    #[serde(default)]
    pub patterns: PerLanguage<Vec<String>>,
    /// Words or phrases per language, matched as whole words.
    #[serde(default)]
    pub keywords: PerLanguage<Vec<String>>,
    /// Patterns that keep the intent from firing (e.g. a how-to question about refunds).
    #[serde(default)]
    pub unless: PerLanguage<Vec<String>>,
    /// Example messages per language, from which the intent is learnt (more come from
    /// `examples/<name>.<lang>.txt` beside the manifest).
    #[serde(default)]
    pub examples: PerLanguage<Vec<String>>,
}

/// A money rule: an amount at or above a threshold routes to a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneyRuleSpec {
    /// Name.
    pub name: String,
    /// Only when one of these intents fired (empty: any message with an amount).
    #[serde(default)]
    pub intents: Vec<String>,
    /// The threshold, a decimal string.
    #[serde(with = "crate::support::decimal_string")]
    pub at_least: Decimal,
    /// The currency the threshold is in; other currencies do not match.
    pub currency: String,
    /// The queue.
    pub queue: String,
    /// Priority of the resulting handoff.
    #[serde(default)]
    pub priority: i32,
}

/// Reply templates. Placeholders: `{partner}`, `{queue}`, `{hours}`, `{contact}`,
/// `{price}`, `{respond_by}`, `{next_open}`, `{portal}`, `{status}`. The `support_*` and
/// `see_also` templates may be left out of a manifest: the built-in ones of the language are used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyTemplates {
    /// Before the answer's citation.
    pub answer_source: String,
    /// Asked after an answer.
    pub helpful: String,
    /// Before suggested sections.
    pub suggest: String,
    /// The offer of a person.
    pub offer_human: String,
    /// Handoff while the queue is open.
    pub handoff_open: String,
    /// Handoff while the queue is closed.
    pub handoff_closed: String,
    /// Added to a handoff where support is charged.
    pub handoff_price: String,
    /// Out of scope.
    pub decline: String,
    /// Customer did not buy through a CSP.
    pub not_csp: String,
    /// Before the list of support queues (`{partner}`). Optional in manifests.
    #[serde(default)]
    pub support_info: Option<String>,
    /// One queue of that list: `{queue}`, `{hours}`, `{status}`, `{contact}`, `{price}`.
    #[serde(default)]
    pub support_queue: Option<String>,
    /// `{status}` of an open queue.
    #[serde(default)]
    pub support_open: Option<String>,
    /// `{status}` of a closed queue (`{next_open}`).
    #[serde(default)]
    pub support_closed: Option<String>,
    /// `{price}` of a queue that charges nothing.
    #[serde(default)]
    pub support_free: Option<String>,
    /// Before a second section of the answer's document that scores nearly as well.
    #[serde(default)]
    pub see_also: Option<String>,
    /// The reply to a greeting (`{partner}`).
    #[serde(default)]
    pub greeting: Option<String>,
    /// The reply to thanks.
    #[serde(default)]
    pub thanks: Option<String>,
    /// The reply to "yes, that helped".
    #[serde(default)]
    pub feedback_thanks: Option<String>,
    /// The reply to "no, that did not help" when the message names nothing new to suggest
    /// (`{partner}`): it offers a person.
    #[serde(default)]
    pub not_helpful: Option<String>,
}

/// Product and licence names the entity extractor recognises.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityNames {
    /// Names such as "Business Premium" or "Azure plan".
    #[serde(default)]
    pub products: Vec<String>,
}

/// A ranking prior: documents whose path contains `path_contains` get their score multiplied
/// by `weight` (below 1 for kinds that rarely answer a customer, such as API references).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentPrior {
    /// A substring of the document path.
    pub path_contains: String,
    /// The multiplier, 0..=2.
    pub weight: f32,
}

/// `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginManifest {
    /// Name (the folder name is used in messages).
    pub name: String,
    /// What the plugin is for.
    #[serde(default)]
    pub description: String,
    /// Products the plugin is about (`azure`, `microsoft-365`, `dynamics-365`, `partner-center`).
    #[serde(default)]
    pub products: Vec<String>,
    /// Knowledge the plugin's questions favour: product tags or document path prefixes.
    #[serde(default)]
    pub scope: Vec<String>,
    /// Entity names.
    #[serde(default)]
    pub entities: EntityNames,
    /// Intents.
    #[serde(default)]
    pub intents: Vec<IntentSpec>,
    /// Money rules.
    #[serde(default)]
    pub money_rules: Vec<MoneyRuleSpec>,
    /// Customer words mapped to guidance words, per language.
    #[serde(default)]
    pub thesaurus: PerLanguage<BTreeMap<String, String>>,
    /// Ranking priors for kinds of guidance, matched on the document path.
    #[serde(default)]
    pub priors: Vec<DocumentPrior>,
    /// Reply templates (the support plugin provides them).
    #[serde(default)]
    pub replies: Option<PerLanguage<Option<ReplyTemplates>>>,
}

/// A plugin that could not be loaded, or a problem in one.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{}: {key}: {reason}", file.display())]
pub struct PluginError {
    /// The manifest.
    pub file: PathBuf,
    /// The key at fault (`intents[2].patterns.en[0]`), or the file for parse errors.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// A compiled intent.
#[derive(Debug, Clone)]
pub struct Intent {
    /// The spec.
    pub spec: IntentSpec,
    patterns: Vec<Regex>,
    unless: Vec<Regex>,
    keywords: Vec<String>,
    /// The whole words of six or more letters its patterns and keywords spell out, which a
    /// message word one typo away is read as (see [`PluginSet::fire`]).
    vocabulary: Vec<String>,
}

/// The words of six or more letters a regular expression spells out (`receiving` in
/// `\bnot\s+(working|receiving)\b`, `erstatten` and `erstattung` in `erstatt(en|ung)`), read
/// from its syntax tree: runs of literals, small alternations and optional parts, expanded.
fn literal_words(pattern: &str) -> Vec<String> {
    let mut words = Vec::new();
    if let Ok(hir) = regex_syntax::parse(pattern) {
        collect_words(&hir, &mut words);
    }
    words.retain(|w| w.chars().count() >= MIN_FUZZY_KEY_CHARS);
    words.sort();
    words.dedup();
    words
}

/// Every head followed by every tail, unless that makes more than [`MAX_SPELLINGS`].
fn joined(heads: &[String], tails: &[String]) -> Option<Vec<String>> {
    (heads.len() * tails.len() <= MAX_SPELLINGS).then(|| {
        heads
            .iter()
            .flat_map(|head| tails.iter().map(move |tail| format!("{head}{tail}")))
            .collect()
    })
}

/// At most this many spellings of one run are expanded; a pattern with more is not a word.
const MAX_SPELLINGS: usize = 32;

fn collect_words(hir: &Hir, words: &mut Vec<String>) {
    match hir.kind() {
        HirKind::Concat(parts) => {
            // Maximal runs of spellable parts form words; anything else separates them.
            let mut run: Vec<String> = vec![String::new()];
            for part in parts {
                if let Some(longer) = spellings(part).and_then(|tails| joined(&run, &tails)) {
                    run = longer;
                } else {
                    words.append(&mut run);
                    run = vec![String::new()];
                    collect_words(part, words);
                }
            }
            words.append(&mut run);
        }
        HirKind::Alternation(alternatives) => {
            for alternative in alternatives {
                collect_words(alternative, words);
            }
        }
        HirKind::Capture(capture) => collect_words(&capture.sub, words),
        HirKind::Repetition(repetition) => collect_words(&repetition.sub, words),
        // A literal with spaces or punctuation (`not really`) holds several words.
        HirKind::Literal(literal) => words.extend(
            String::from_utf8_lossy(&literal.0)
                .split(|c: char| !c.is_alphabetic())
                .map(str::to_lowercase),
        ),
        _ => words.extend(spellings(hir).unwrap_or_default()),
    }
}

/// Every string of letters `hir` matches, if it is a small finite set of them (a look-around
/// such as `\b` spells the empty string).
fn spellings(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![String::new()]),
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0).ok()?;
            text.chars()
                .all(char::is_alphabetic)
                .then(|| vec![text.to_lowercase()])
        }
        HirKind::Class(Class::Unicode(class)) => {
            let letters: Vec<char> = class
                .ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .take(5)
                .collect();
            (letters.len() <= 4 && letters.iter().all(|c| c.is_alphabetic()))
                .then(|| letters.iter().map(|c| c.to_lowercase().collect()).collect())
        }
        HirKind::Capture(capture) => spellings(&capture.sub),
        HirKind::Repetition(repetition) if repetition.min == 0 && repetition.max == Some(1) => {
            let mut all = spellings(&repetition.sub)?;
            all.push(String::new());
            Some(all)
        }
        HirKind::Alternation(alternatives) => {
            let mut all = Vec::new();
            for alternative in alternatives {
                all.extend(spellings(alternative)?);
            }
            (all.len() <= MAX_SPELLINGS).then_some(all)
        }
        HirKind::Concat(parts) => {
            let mut all = vec![String::new()];
            for part in parts {
                all = joined(&all, &spellings(part)?)?;
            }
            Some(all)
        }
        _ => None,
    }
}

/// A loaded, validated plugin.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The manifest.
    pub manifest: PluginManifest,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Compiled intents.
    pub intents: Vec<Intent>,
    /// Products, parsed.
    pub products: Vec<Product>,
    /// Thesaurus entries with their customer words normalised once, at load.
    thesaurus: PerLanguage<Vec<(String, String)>>,
    /// Its one-word thesaurus keys, for reading a misspelt word as one of them.
    thesaurus_keys: PerLanguage<TypoTargets>,
    /// Its intents' words, for reading a misspelt word as one of them.
    intent_words: TypoTargets,
    /// Example messages of its intents: `(intent index, text)` per language.
    pub examples: PerLanguage<Vec<(usize, String)>>,
}

/// Why an intent fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FiredIntent {
    /// Plugin name.
    pub plugin: String,
    /// Intent name.
    pub intent: String,
    /// Action.
    pub action: IntentAction,
    /// Queue for handoffs.
    pub queue: Option<String>,
    /// Priority.
    pub priority: i32,
    /// The text that matched (for a learnt intent: its probability).
    pub matched: String,
    /// For an intent the classifier recognised (not a pattern or rule): its probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probability: Option<f32>,
}

fn compile(pattern: &str) -> Result<Regex, String> {
    // Matched against text whose umlauts are folded (see `normalize_for_matching`).
    RegexBuilder::new(&fold_umlauts(pattern))
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or("invalid regex")
                .trim()
                .to_string()
        })
}

/// Lower-cases and folds text the way keywords are matched.
pub fn normalize_for_matching(text: &str) -> String {
    let text: String = text
        .to_lowercase()
        .chars()
        .map(|c| match c {
            '’' | '`' | '´' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    fold_umlauts(&text)
}

/// Text as thesaurus keys and messages are compared: German also folds `ae`, `oe`, `ue` as the
/// analyzer does (`verlaengert` is `verlängert`); keys are plain phrases, not patterns, so this is
/// safe for them, while English keeps its `ue` (`issue`).
fn thesaurus_form(text: &str, lang: Language) -> String {
    let normalized = normalize_for_matching(text);
    match lang {
        Language::De => switchboard_knowledge::analysis::fold_german(&normalized),
        Language::En => normalized,
    }
}

/// `ä`, `ö`, `ü` as `a`, `o`, `u` and `ß` as `ss`: customers without a German keyboard write
/// `kundigen` for `kündigen`, so intents, keywords and thesaurus keys match on folded text (their
/// `(ü|ue)` alternatives then cover `u` and `ue`).
fn fold_umlauts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            'ä' | 'Ä' => out.push('a'),
            'ö' | 'Ö' => out.push('o'),
            'ü' | 'Ü' => out.push('u'),
            'ß' => out.push_str("ss"),
            c => out.push(c),
        }
    }
    out
}

impl Intent {
    /// Whether the intent fires on `normalized` text; returns what matched.
    pub fn matches(&self, normalized: &str) -> Option<String> {
        if self.unless.iter().any(|r| r.is_match(normalized)) {
            return None;
        }
        if let Some(m) = self.patterns.iter().find_map(|r| r.find(normalized)) {
            return Some(m.as_str().to_string());
        }
        self.keywords
            .iter()
            .find(|k| entities::contains_phrase(normalized, k))
            .cloned()
    }
}

fn validate(
    manifest: PluginManifest,
    path: &Path,
    support: &SupportModel,
) -> Result<Plugin, Vec<PluginError>> {
    let mut errors = Vec::new();
    let err = |key: String, reason: String| PluginError {
        file: path.to_path_buf(),
        key,
        reason,
    };
    let queues = support.queue_ids();
    let mut products = Vec::new();
    for (i, p) in manifest.products.iter().enumerate() {
        match switchboard_knowledge::ingest::product_from_name(p) {
            Some(p) => products.push(p),
            None => errors.push(err(format!("products[{i}]"), format!("unknown product `{p}`"))),
        }
    }
    let mut intents = Vec::new();
    for (i, spec) in manifest.intents.iter().enumerate() {
        if manifest.intents[..i].iter().any(|o| o.name == spec.name) {
            errors.push(err(
                format!("intents[{i}].name"),
                format!("intent `{}` declared twice", spec.name),
            ));
        }
        match (&spec.action, &spec.queue) {
            (IntentAction::Handoff | IntentAction::FollowUp, None) => {
                errors.push(err(
                    format!("intents[{i}].queue"),
                    "a handoff or follow-up intent needs a queue".into(),
                ));
            }
            (_, Some(q)) if !queues.contains(&q.as_str()) => {
                errors.push(err(
                    format!("intents[{i}].queue"),
                    format!("unknown queue `{q}` (known: {})", queues.join(", ")),
                ));
            }
            _ => {}
        }
        let mut compiled = |list: &PerLanguage<Vec<String>>, what: &str| {
            let mut out = Vec::new();
            for lang in Language::ALL {
                for (j, p) in list.get(lang).iter().enumerate() {
                    match compile(p) {
                        Ok(r) => out.push(r),
                        Err(reason) => errors.push(err(
                            format!("intents[{i}].{what}.{lang}[{j}]"),
                            format!("bad regex `{p}`: {reason}"),
                        )),
                    }
                }
            }
            out
        };
        let patterns = compiled(&spec.patterns, "patterns");
        let unless = compiled(&spec.unless, "unless");
        let keywords: Vec<String> = Language::ALL
            .iter()
            .flat_map(|&l| spec.keywords.get(l).iter())
            .map(|k| normalize_for_matching(k.trim()))
            .filter(|k| !k.is_empty())
            .collect();
        let mut vocabulary: Vec<String> = Language::ALL
            .iter()
            .flat_map(|&l| spec.patterns.get(l))
            .flat_map(|p| literal_words(&fold_umlauts(p)))
            .chain(
                keywords
                    .iter()
                    .flat_map(|k| k.split(|c: char| !c.is_alphabetic()))
                    .filter(|w| w.chars().count() >= MIN_FUZZY_KEY_CHARS)
                    .map(str::to_string),
            )
            .collect();
        vocabulary.sort();
        vocabulary.dedup();
        intents.push(Intent {
            spec: spec.clone(),
            patterns,
            unless,
            keywords,
            vocabulary,
        });
    }
    for (i, prior) in manifest.priors.iter().enumerate() {
        if !(0.0..=2.0).contains(&prior.weight) {
            errors.push(err(
                format!("priors[{i}].weight"),
                format!("{} is outside 0..=2", prior.weight),
            ));
        }
    }
    for (i, rule) in manifest.money_rules.iter().enumerate() {
        if !queues.contains(&rule.queue.as_str()) {
            errors.push(err(
                format!("money_rules[{i}].queue"),
                format!("unknown queue `{}`", rule.queue),
            ));
        }
    }
    if errors.is_empty() {
        let normalise = |map: &BTreeMap<String, String>, lang: Language| {
            map.iter()
                .map(|(from, to)| (thesaurus_form(from, lang), to.clone()))
                .collect()
        };
        let thesaurus = PerLanguage {
            de: normalise(&manifest.thesaurus.de, Language::De),
            en: normalise(&manifest.thesaurus.en, Language::En),
        };
        let one_word_keys = |entries: &Vec<(String, String)>| {
            TypoTargets::new(
                entries
                    .iter()
                    .map(|(from, _)| from.as_str())
                    .filter(|from| !from.contains(' ')),
            )
        };
        let thesaurus_keys = PerLanguage {
            de: one_word_keys(&thesaurus.de),
            en: one_word_keys(&thesaurus.en),
        };
        let intent_words = TypoTargets::new(intents.iter().flat_map(|i| &i.vocabulary).map(String::as_str));
        let examples = PerLanguage {
            de: inline_examples(&intents, Language::De),
            en: inline_examples(&intents, Language::En),
        };
        Ok(Plugin {
            manifest,
            path: path.to_path_buf(),
            intents,
            products,
            thesaurus,
            thesaurus_keys,
            intent_words,
            examples,
        })
    } else {
        Err(errors)
    }
}

fn inline_examples(intents: &[Intent], lang: Language) -> Vec<(usize, String)> {
    intents
        .iter()
        .enumerate()
        .flat_map(|(i, intent)| intent.spec.examples.get(lang).iter().map(move |e| (i, e.clone())))
        .collect()
}

/// An example file larger than this is refused.
const MAX_EXAMPLE_FILE_BYTES: u64 = 1 << 20;
/// An example longer than this is refused (an example is one chat message).
const MAX_EXAMPLE_CHARS: usize = 1_000;

/// Reads `examples/<intent>.<lang>.txt` beside a manifest into the plugin: one example per
/// line, `#` starts a comment line. Every problem names the file and, where there is one, the
/// line.
fn read_example_files(folder: &Path, plugin: &mut Plugin) -> Vec<PluginError> {
    let dir = folder.join("examples");
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return errors;
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for file in files {
        let err = |key: String, reason: String| PluginError {
            file: file.clone(),
            key,
            reason,
        };
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let Some(stem) = name.strip_suffix(".txt") else {
            errors.push(err(
                "file".into(),
                "example files are named <intent>.<de|en>.txt".into(),
            ));
            continue;
        };
        let Some((intent_name, lang_code)) = stem.rsplit_once('.') else {
            errors.push(err(
                "file".into(),
                "example files are named <intent>.<de|en>.txt".into(),
            ));
            continue;
        };
        let Some(lang) = Language::ALL.into_iter().find(|l| l.code() == lang_code) else {
            errors.push(err(
                "file".into(),
                format!("unknown language `{lang_code}` (de, en)"),
            ));
            continue;
        };
        let Some(intent) = plugin.intents.iter().position(|i| i.spec.name == intent_name) else {
            let known: Vec<&str> = plugin.intents.iter().map(|i| i.spec.name.as_str()).collect();
            errors.push(err(
                "file".into(),
                format!(
                    "no intent `{intent_name}` in the manifest (intents: {})",
                    known.join(", ")
                ),
            ));
            continue;
        };
        if std::fs::metadata(&file).is_ok_and(|m| m.len() > MAX_EXAMPLE_FILE_BYTES) {
            errors.push(err("file".into(), "example file larger than 1 MB".into()));
            continue;
        }
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                errors.push(err("file".into(), format!("cannot read: {e}")));
                continue;
            }
        };
        let examples = plugin.examples.get_mut(lang);
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let key = format!("line {}", n + 1);
            let Ok(line) = std::str::from_utf8(line) else {
                errors.push(err(key, "not valid UTF-8".into()));
                continue;
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.chars().any(char::is_control) {
                errors.push(err(key, "control characters in an example".into()));
            } else if line.chars().count() > MAX_EXAMPLE_CHARS {
                errors.push(err(
                    key,
                    format!("an example longer than {MAX_EXAMPLE_CHARS} characters"),
                ));
            } else {
                examples.push((intent, line.to_string()));
            }
        }
    }
    errors
}

impl Plugin {
    /// Intents with examples but fewer than [`MIN_EXAMPLES`] in a language.
    fn too_few_examples(&self) -> Vec<PluginError> {
        let mut errors = Vec::new();
        for (i, intent) in self.intents.iter().enumerate() {
            let counts: Vec<(Language, usize)> = Language::ALL
                .into_iter()
                .map(|l| (l, self.examples.get(l).iter().filter(|(j, _)| *j == i).count()))
                .collect();
            if counts.iter().all(|(_, n)| *n == 0) {
                continue;
            }
            for (lang, n) in counts {
                if n < MIN_EXAMPLES {
                    errors.push(PluginError {
                        file: self
                            .path
                            .with_file_name("examples")
                            .join(format!("{}.{}.txt", intent.spec.name, lang.code())),
                        key: format!("intent `{}`", intent.spec.name),
                        reason: format!("{n} example(s) in `{}`; an intent is learnt from at least {MIN_EXAMPLES} per language", lang.code()),
                    });
                }
            }
        }
        errors
    }
}

/// Every plugin found, and every problem.
#[derive(Debug, Default)]
pub struct PluginSet {
    /// Plugins that loaded.
    pub plugins: Vec<Plugin>,
    /// Problems; a plugin with any problem is not loaded, the others are.
    pub errors: Vec<PluginError>,
    /// The intents learnt from the loaded plugins' examples.
    pub classifier: IntentClassifier,
}

impl PluginSet {
    /// The spec of a plugin's intent.
    pub fn intent_spec(&self, plugin: &str, intent: &str) -> Option<&IntentSpec> {
        self.plugins
            .iter()
            .find(|p| p.manifest.name == plugin)?
            .intents
            .iter()
            .map(|i| &i.spec)
            .find(|spec| spec.name == intent)
    }

    /// A set of loaded plugins, with their intents learnt.
    pub fn new(plugins: Vec<Plugin>) -> Self {
        let mut set = PluginSet {
            plugins,
            ..PluginSet::default()
        };
        set.train_intents();
        set
    }

    /// Trains the classifier from every loaded plugin's examples (intents without examples
    /// are not classes).
    pub fn train_intents(&mut self) {
        let (labels, examples) = self.intent_examples();
        self.classifier = IntentClassifier::train(labels, examples);
    }

    /// A fingerprint of the learnt intents' training data: a model stored under it is the model
    /// [`PluginSet::train_intents`] would give.
    pub fn intent_fingerprint(&self) -> String {
        let (labels, examples) = self.intent_examples();
        IntentClassifier::fingerprint(&labels, &examples)
    }

    /// Uses models stored by `classifier.to_bytes()` instead of training; `false` (nothing
    /// changed) when the bytes do not hold models for these intents.
    pub fn restore_intents(&mut self, bytes: &[u8]) -> bool {
        let (labels, examples) = self.intent_examples();
        match IntentClassifier::from_bytes(bytes, labels, examples) {
            Some(classifier) => {
                self.classifier = classifier;
                true
            }
            None => false,
        }
    }

    fn intent_examples(&self) -> (Vec<IntentLabel>, PerLanguage<Examples>) {
        let mut labels: Vec<IntentLabel> = Vec::new();
        let mut examples: PerLanguage<Examples> = PerLanguage::default();
        for plugin in &self.plugins {
            let mut label_of: HashMap<usize, usize> = HashMap::new();
            for lang in Language::ALL {
                for (intent, text) in plugin.examples.get(lang) {
                    let label = *label_of.entry(*intent).or_insert_with(|| {
                        let spec = &plugin.intents[*intent].spec;
                        labels.push(IntentLabel {
                            plugin: plugin.manifest.name.clone(),
                            intent: spec.name.clone(),
                            action: spec.action,
                            queue: spec.queue.clone(),
                        });
                        labels.len() - 1
                    });
                    examples.get_mut(lang).push((text.clone(), label));
                }
            }
        }
        (labels, examples)
    }

    /// Product names across plugins, for entity extraction.
    pub fn product_names(&self) -> Vec<String> {
        self.plugins
            .iter()
            .flat_map(|p| p.manifest.entities.products.iter().cloned())
            .collect()
    }

    /// Reply templates for `lang`: the first plugin that provides them.
    pub fn replies(&self, lang: Language) -> Option<&ReplyTemplates> {
        self.plugins
            .iter()
            .find_map(|p| p.manifest.replies.as_ref().and_then(|r| r.get(lang).as_ref()))
    }

    /// Thesaurus words that no guidance of their language uses, one problem per plugin and
    /// language: such a word can never find a section, so its entry does less than its author
    /// meant (`switchboard check` warns). `is_known` is the knowledge base's vocabulary.
    pub fn thesaurus_gaps(&self, is_known: impl Fn(Language, &str) -> bool) -> Vec<PluginError> {
        let mut gaps = Vec::new();
        for plugin in &self.plugins {
            for lang in Language::ALL {
                let mut unknown: Vec<&str> = Vec::new();
                for (_, to) in plugin.thesaurus.get(lang) {
                    for word in to.split_whitespace() {
                        if !unknown.contains(&word) && !is_known(lang, word) {
                            unknown.push(word);
                        }
                    }
                }
                if !unknown.is_empty() {
                    gaps.push(PluginError {
                        file: plugin.path.clone(),
                        key: format!("thesaurus.{}", lang.code()),
                        reason: format!(
                            "{} guidance word(s) occur in no `{}` guidance file and find nothing: {}",
                            unknown.len(),
                            lang.code(),
                            unknown.join(", ")
                        ),
                    });
                }
            }
        }
        gaps
    }

    /// The prior weight of a document path (the product of all matching priors).
    pub fn prior(&self, doc_path: &str) -> f32 {
        self.plugins
            .iter()
            .flat_map(|p| p.manifest.priors.iter())
            .filter(|p| doc_path.contains(&p.path_contains))
            .map(|p| p.weight)
            .product()
    }

    /// Intents that fire on a message, best first.
    pub fn fire(&self, text: &str, is_known: impl Fn(&str) -> bool) -> Vec<FiredIntent> {
        let normalized = normalize_for_matching(text);
        let corrected = self.with_intent_words(&normalized, is_known);
        let mut fired: Vec<FiredIntent> = Vec::new();
        for plugin in &self.plugins {
            for intent in &plugin.intents {
                let matched = intent
                    .matches(&normalized)
                    .or_else(|| corrected.as_deref().and_then(|c| intent.matches(c)));
                if let Some(matched) = matched {
                    fired.push(FiredIntent {
                        plugin: plugin.manifest.name.clone(),
                        intent: intent.spec.name.clone(),
                        action: intent.spec.action,
                        queue: intent.spec.queue.clone(),
                        priority: intent.spec.priority,
                        matched,
                        probability: None,
                    });
                }
            }
        }
        fired.sort_by_key(|f| std::cmp::Reverse(f.priority));
        fired
    }

    /// `normalized` with each word that the guidance does not know (`is_known`) and that is one
    /// typo from a word of an intent (see [`one_typo_apart`]) replaced by that word, or `None`
    /// when there is none: `refnud` is read as `refund`, so a misspelt request still reaches its
    /// queue. Only intents are matched against it.
    fn with_intent_words(&self, normalized: &str, is_known: impl Fn(&str) -> bool) -> Option<String> {
        let mut corrected: Option<String> = None;
        let words: BTreeSet<&str> = normalized
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| w.chars().count() + 1 >= MIN_FUZZY_KEY_CHARS)
            .collect();
        for word in words {
            if self.plugins.iter().any(|p| p.intent_words.contains(word)) {
                continue;
            }
            let Some(intended) = self.plugins.iter().find_map(|p| p.intent_words.near(word).next()) else {
                continue;
            };
            // The index is asked only for a word already near an intent's word.
            if is_known(word) {
                continue;
            }
            corrected = Some(replace_word(
                corrected.as_deref().unwrap_or(normalized),
                word,
                intended,
            ));
        }
        corrected
    }

    /// Thesaurus expansions for a message: the guidance words for customer words found in it.
    /// A one-word key also matches a word one typo away that `is_known` (the guidance's
    /// vocabulary) does not recognise: `gesperrrt` is `gesperrt`, but `changed` is not `charged`.
    pub fn expansions(
        &self,
        text: &str,
        lang: Language,
        is_known: impl Fn(&str) -> bool,
    ) -> Vec<(String, String)> {
        let normalized = thesaurus_form(text, lang);
        let words: BTreeSet<&str> = normalized
            .split(|c: char| !c.is_alphanumeric() && c != '-')
            .filter(|w| w.chars().count() + 1 >= MIN_FUZZY_KEY_CHARS)
            .collect();
        // The keys a misspelt word of the message stands for; the index is asked only for a word
        // already near a key.
        let mut misspelt: BTreeSet<&str> = BTreeSet::new();
        for plugin in &self.plugins {
            for word in &words {
                for key in plugin.thesaurus_keys.get(lang).near(word) {
                    if !misspelt.contains(key) && !is_known(word) {
                        misspelt.insert(key);
                    }
                }
            }
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for plugin in &self.plugins {
            for (from, to) in plugin.thesaurus.get(lang) {
                let typed = entities::contains_phrase(&normalized, from) || misspelt.contains(from.as_str());
                if typed && !out.iter().any(|(f, t)| f == from && t == to) {
                    out.push((from.clone(), to.clone()));
                }
            }
        }
        out
    }
}

/// Reads and validates the plugin manifests under `dir` and trains their learnt intents. A
/// broken plugin is reported and left out; the others load.
pub fn load_plugins(dir: &Path, support: &SupportModel) -> PluginSet {
    let mut set = load_plugins_untrained(dir, support);
    set.train_intents();
    set
}

/// [`load_plugins`] without training: the caller restores stored models
/// ([`PluginSet::restore_intents`]) or trains.
pub fn load_plugins_untrained(dir: &Path, support: &SupportModel) -> PluginSet {
    let mut set = PluginSet::default();
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect(),
        Err(e) => {
            set.errors.push(PluginError {
                file: dir.to_path_buf(),
                key: "plugins".into(),
                reason: format!("cannot read: {e}"),
            });
            return set;
        }
    };
    entries.sort();
    for folder in entries {
        let path = folder.join("plugin.toml");
        if !path.is_file() {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_MANIFEST_BYTES => {
                set.errors.push(PluginError {
                    file: path,
                    key: "plugin.toml".into(),
                    reason: "manifest larger than 1 MB".into(),
                });
                continue;
            }
            _ => {}
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                set.errors.push(PluginError {
                    file: path,
                    key: "plugin.toml".into(),
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match parse_plugin(&text, &path, support) {
            Ok(mut plugin) => {
                let mut errors = read_example_files(&folder, &mut plugin);
                errors.extend(plugin.too_few_examples());
                if errors.is_empty() {
                    set.plugins.push(plugin);
                } else {
                    set.errors.extend(errors);
                }
            }
            Err(errors) => set.errors.extend(errors),
        }
    }
    set
}

/// Parses and validates one manifest's text.
pub fn parse_plugin(text: &str, path: &Path, support: &SupportModel) -> Result<Plugin, Vec<PluginError>> {
    let manifest: PluginManifest = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let key = line.map_or_else(|| "plugin.toml".to_string(), |l| format!("line {l}"));
        vec![PluginError {
            file: path.to_path_buf(),
            key,
            reason: e.message().to_string(),
        }]
    })?;
    validate(manifest, path, support)
}

/// The outside-the-manifest work a plugin may need, in code.
pub trait CodePlugin: Send + Sync {
    /// Name shown in traces.
    fn name(&self) -> &'static str;
    /// Adds findings for one message.
    fn inspect(&self, input: &CodePluginInput<'_>, findings: &mut Findings);
}

/// What a code plugin sees.
pub struct CodePluginInput<'a> {
    /// The message text.
    pub text: &'a str,
    /// Its language.
    pub language: Language,
    /// The manifest plugins.
    pub plugins: &'a PluginSet,
    /// Intents fired so far.
    pub fired: &'a [FiredIntent],
}

/// What code plugins found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Findings {
    /// Entities in the message.
    pub entities: Entities,
    /// Money rules that fired (as intents, so they route like one).
    pub money_rules: Vec<FiredIntent>,
}

/// Extracts entities with the product names of all plugins.
pub struct EntityExtraction;

impl CodePlugin for EntityExtraction {
    fn name(&self) -> &'static str {
        "entities"
    }
    fn inspect(&self, input: &CodePluginInput<'_>, findings: &mut Findings) {
        findings.entities = entities::extract(input.text, input.language, &input.plugins.product_names());
    }
}

/// Evaluates the manifests' money rules against the amounts found.
pub struct MoneyRules;

impl CodePlugin for MoneyRules {
    fn name(&self) -> &'static str {
        "money-rules"
    }
    fn inspect(&self, input: &CodePluginInput<'_>, findings: &mut Findings) {
        for plugin in &input.plugins.plugins {
            for rule in &plugin.manifest.money_rules {
                let intent_ok =
                    rule.intents.is_empty() || input.fired.iter().any(|f| rule.intents.contains(&f.intent));
                let amount =
                    findings.entities.amounts.iter().find(|m| {
                        m.currency.eq_ignore_ascii_case(&rule.currency) && m.amount >= rule.at_least
                    });
                if let (true, Some(m)) = (intent_ok, amount) {
                    findings.money_rules.push(FiredIntent {
                        plugin: plugin.manifest.name.clone(),
                        intent: rule.name.clone(),
                        action: IntentAction::Handoff,
                        queue: Some(rule.queue.clone()),
                        priority: rule.priority,
                        matched: format!("{m} >= {} {}", rule.at_least, rule.currency),
                        probability: None,
                    });
                }
            }
        }
    }
}

/// The registry of code plugins, run in this order.
pub static CODE_PLUGINS: &[&dyn CodePlugin] = &[&EntityExtraction, &MoneyRules];

/// The plugin folder that holds the support model (`support.toml`).
pub const SUPPORT_PLUGIN: &str = "support";

/// The support model shipped with Switchboard, used when the configured one is missing or
/// broken so that the bot keeps routing (the problem is still reported; staff actions are
/// refused while it is broken).
pub const BUILTIN_SUPPORT_TOML: &str = include_str!("../../../plugins/support/support.toml");

/// Reads `support/support.toml` under `dir`, the one place of the support model. Missing: the
/// built-in model and the problem. Unreadable, broken, or another plugin folder holding a
/// `support.toml` too: the built-in queues with no staff role on any (fail closed) and the
/// problem.
pub fn load_support_model(dir: &Path) -> (SupportModel, Option<PluginError>) {
    load_support_model_at(dir, None)
}

/// Like [`load_support_model`], from `file` when one is configured (`--support FILE`): then
/// `support/support.toml` under `dir` is not read, and a configured file that is missing fails
/// closed like a broken one (the admin named it; the built-in roles must not stand in for it).
pub fn load_support_model_at(dir: &Path, file: Option<&Path>) -> (SupportModel, Option<PluginError>) {
    let builtin =
        || SupportModel::from_toml(BUILTIN_SUPPORT_TOML).expect("the built-in support model is valid");
    // Fail closed: with a support model that cannot be read, customers are still routed (on the
    // built-in queues), but no staff role may act on any queue until it is fixed; roles an admin
    // removed must not come back.
    let closed = || {
        let mut model = builtin();
        for queue in &mut model.queues {
            queue.roles.clear();
        }
        model
    };
    let default_path = dir.join(SUPPORT_PLUGIN).join("support.toml");
    let path = file.map_or_else(|| default_path.clone(), Path::to_path_buf);
    // Only one place holds the support model: a `support.toml` dropped into another plugin's
    // folder could otherwise put any role on any queue.
    let strays: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path().join("support.toml"))
                .filter(|p| p.is_file() && *p != default_path)
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    if !strays.is_empty() {
        let err = PluginError {
            file: dir.join(SUPPORT_PLUGIN).join("support.toml"),
            key: "support.toml".into(),
            reason: format!(
                "only {SUPPORT_PLUGIN}/support.toml is the support model; remove {} (staff actions are refused until then)",
                strays.join(", ")
            ),
        };
        return (closed(), Some(err));
    }
    if !path.is_file() {
        if file.is_some() {
            let err = PluginError {
                file: path,
                key: "--support".into(),
                reason:
                    "the configured support model does not exist; staff actions are refused until it does"
                        .into(),
            };
            return (closed(), Some(err));
        }
        let err = PluginError {
            file: path,
            key: "support.toml".into(),
            reason: "no support model found; using the built-in one".into(),
        };
        return (builtin(), Some(err));
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return (
                closed(),
                Some(PluginError {
                    file: path,
                    key: "support.toml".into(),
                    reason: format!("cannot read: {e}; staff actions are refused until it is fixed"),
                }),
            )
        }
    };
    match SupportModel::from_toml(&text) {
        Ok(model) => (model, None),
        Err(e) => (
            closed(),
            Some(PluginError {
                file: path,
                key: e.key,
                reason: format!("{}; staff actions are refused until it is fixed", e.reason),
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_words_expand_small_alternations_and_skip_escapes() {
        assert_eq!(
            literal_words(r"\bnot\s+(working|receiving|loading)\b"),
            ["loading", "receiving", "working"]
        );
        let refund = literal_words(r"\b(zur(ü|ue)ck)?erstatt(en|ung)\b");
        for word in ["erstatten", "erstattung", "zurückerstatten", "zurueckerstattung"] {
            assert!(refund.iter().any(|w| w == word), "{word}: {refund:?}");
        }
        assert!(literal_words(r"\bwiderspr(e|i)che?\b").contains(&"widerspreche".to_string()));
        // `.{0,40}` and `\s+` separate words; nothing shorter than six letters is kept.
        assert_eq!(literal_words(r"\bcharged\s+(us\s+|me\s+)?twice\b"), ["charged"]);
        assert!(literal_words(r"(unclosed").is_empty());
    }
}
