//! What a message sets off: intents that fire (regexes, keywords, typos forgiven) and the
//! thesaurus's guidance words for its customer words.

use super::manifest::{IntentAction, PluginError};
use super::patterns::{normalize_for_matching, thesaurus_form};
use super::typos::{replace_word, MIN_FUZZY_KEY_CHARS};
use super::PluginSet;
use crate::entities;
use serde::Serialize;
use std::collections::BTreeSet;
use switchboard_knowledge::Language;

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

impl PluginSet {
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
