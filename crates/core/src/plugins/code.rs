//! Plugins' code: the [`CodePlugin`] trait and its one registry, [`CODE_PLUGINS`].

use super::manifest::IntentAction;
use super::matching::FiredIntent;
use super::PluginSet;
use crate::entities::{self, Entities};
use serde::Serialize;
use switchboard_knowledge::Language;

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
