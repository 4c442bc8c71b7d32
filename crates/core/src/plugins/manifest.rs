//! What an admin writes in `plugin.toml`: the manifest's serde types (unknown fields refused)
//! and the problems found in one.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use switchboard_knowledge::Language;

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
    /// Declined although the message reads as ours (the classifier's likeliest intent is in
    /// scope), because the guidance does not cover it (`{partner}`). Optional in manifests.
    #[serde(default)]
    pub not_covered: Option<String>,
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
    /// The reply to "no" after the bot asked whether there is anything else.
    #[serde(default)]
    pub closing: Option<String>,
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
