//! Plugins: one folder per plugin under `plugins/`, each with a `plugin.toml` that admins
//! write (intents with regex patterns and keywords per language, routing to queues, money
//! rules, a thesaurus, reply templates). Code that plugins need lives behind the
//! [`CodePlugin`] trait in one explicit registry, [`CODE_PLUGINS`].
//!
//! `manifest` is what an admin writes (serde types), `load` reads and validates plugin folders
//! and their example files, `patterns` compiles intents' regexes, `typos` forgives a typo in a
//! long word, `matching` finds what fires on a message (intents, thesaurus expansions), `code`
//! holds the code plugins and `support_model` the support model's one place. This module keeps
//! the loaded set and the intents learnt from its examples.

use crate::intents::{Examples, IntentClassifier, IntentLabel};
use std::collections::HashMap;
use switchboard_knowledge::{Language, Product};

mod code;
mod load;
mod manifest;
mod matching;
mod patterns;
mod support_model;
mod typos;

pub use code::{CodePlugin, CodePluginInput, EntityExtraction, Findings, MoneyRules, CODE_PLUGINS};
pub use load::{load_plugins, load_plugins_untrained, parse_plugin, Plugin};
pub use manifest::{
    DocumentPrior, EntityNames, IntentAction, IntentSpec, MoneyRuleSpec, PerLanguage, PluginError,
    PluginManifest, ReplyTemplates,
};
pub use matching::FiredIntent;
pub use patterns::{normalize_for_matching, Intent};
pub use support_model::{load_support_model, load_support_model_at, BUILTIN_SUPPORT_TOML, SUPPORT_PLUGIN};

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

    /// The products (other than Partner Center itself) of the plugins that name these product
    /// entities: "Business Central" is Dynamics 365, "E3" Microsoft 365.
    pub fn products_named(&self, names: &[String]) -> Vec<Product> {
        let mut products: Vec<Product> = self
            .plugins
            .iter()
            .filter(|p| p.manifest.entities.products.iter().any(|n| names.contains(n)))
            .flat_map(|p| p.products.iter().copied())
            .filter(|p| *p != Product::PartnerCenter)
            .collect();
        products.sort_unstable();
        products.dedup();
        products
    }

    /// Reply templates for `lang`: the first plugin that provides them.
    pub fn replies(&self, lang: Language) -> Option<&ReplyTemplates> {
        self.plugins
            .iter()
            .find_map(|p| p.manifest.replies.as_ref().and_then(|r| r.get(lang).as_ref()))
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
}
