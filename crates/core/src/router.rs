//! The router: one message in, one [`Decision`] out, with its trace.

use crate::answer_gate::{AnswerGate, GateInput};
use crate::decision::{Citation, Decision, Handoff, Outcome, Trace, TracedHit};
use crate::direction;
use crate::entities::Entities;
use crate::intents::IntentPrediction;
use crate::language;
use crate::plugins::{
    CodePluginInput, Findings, FiredIntent, IntentAction, PerLanguage, PluginSet, ReplyTemplates,
    CODE_PLUGINS,
};
use crate::policy::{self, ArbiterInput, IntentPolicy, Verdict};
use crate::ranker::{RankInput, Ranker};
use crate::support::{price_text, SupportModel};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::Arc;
use switchboard_knowledge::{
    Expansion, KnowledgeBase, KnowledgeError, Language, Product, QueryTerm, SearchHit, SearchRequest,
};

/// Only this much of a message is analysed; the whole message is still kept by the caller.
pub const MAX_ANALYSED_CHARS: usize = 2_000;
/// Confidence is a logistic model of four signals: the top section's rarity-weighted
/// coverage of the question, its margin over the best other document it is not linked with
/// (as a share of its score), the share of the question's words the guidance knows, and the
/// top document's share of the score of all retrieved sections (evidence concentrated in one
/// document). The weights
/// were fitted by L2-regularised logistic regression on ../shared/eval/dev.toml (answered
/// cases, target: the top document is acceptable), so the confidence reads as an estimated
/// probability that the cited section is right. See ARCHITECTURE.md.
const CONFIDENCE_BIAS: f32 = -0.92;
const COVERAGE_WEIGHT: f32 = 0.52;
const MARGIN_WEIGHT: f32 = 1.78;
const KNOWN_WEIGHT: f32 = 0.33;
const DOC_MASS_WEIGHT: f32 = 1.16;
/// Below this share of known words a message is not understood: it is declined (with the way
/// to a person), and the confidence is scaled down in proportion.
pub const UNDERSTOOD_SHARE: f32 = 0.5;
/// A section saying the opposite of the asked change scores at most this share of its
/// counterpart.
const OPPOSITE_BELOW: f32 = 0.9;
/// A message of at most this many words that names another product than the last question is
/// that question about it ("and for Microsoft 365?", "und bei Dynamics?").
const ELLIPSIS_WORDS: usize = 5;
/// Sections retrieved per question.
const RETRIEVED_SECTIONS: usize = 15;
/// A section of the answer's document scoring at least this share of the cited one is named
/// beside it ("see also").
const SEE_ALSO_SHARE: f32 = 0.7;
/// Sections shown in a suggestion or handoff.
pub const SUGGESTED: usize = 3;
/// Characters of guidance quoted in an answer (the passage that best answers the question).
const ANSWER_EXCERPT_CHARS: usize = 320;

/// A customer message as the adapters hand it to the core.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// The text as written.
    pub text: String,
    /// Conversation id (adapter-specific).
    pub conversation: String,
    /// User id (adapter-specific).
    pub user: String,
    /// The adapter (`terminal`, `discord`, `web`).
    pub adapter: String,
    /// A language hint from the adapter or user.
    pub language_hint: Option<Language>,
}

impl Message {
    /// A message with only text (for `ask` and tests).
    pub fn text(text: impl Into<String>) -> Self {
        Message {
            text: text.into(),
            conversation: "cli".into(),
            user: "cli".into(),
            adapter: "cli".into(),
            language_hint: None,
        }
    }
}

/// Every queue gets some probability from the classifier; below one in twenty it says nothing
/// about what the customer asked.
const TOPIC_MIN: f32 = 0.05;

/// What the core remembers of a conversation between turns.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConversationContext {
    /// Language of earlier turns.
    pub language: Option<Language>,
    /// Products named earlier.
    pub products: Vec<String>,
    /// Consecutive turns without a confident answer.
    pub low_confidence_turns: u32,
    /// The last reply asked "was this helpful?".
    pub awaiting_feedback: bool,
    /// The queue the conversation's last question was about (see `Router::topic_queue`).
    pub topic_queue: Option<String>,
    /// The customer has a ticket (open, or resolved within the reopen window): a follow-up on
    /// it is recognised as one (set by the desk).
    pub has_ticket: bool,
    /// The last question answered or suggested from the guidance, as it was searched: "and for
    /// Microsoft 365?" after it is that question about another product.
    pub last_question: Option<String>,
}

/// Which layers run; each can be switched off to measure it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Layers {
    /// Manifest intents (handoff, decline, not-CSP rules).
    pub intents: bool,
    /// Thesaurus query expansion.
    pub thesaurus: bool,
    /// Abbreviations the guidance defines ("GDAP") searched with their long forms too.
    pub abbreviations: bool,
    /// Document-kind priors.
    pub priors: bool,
    /// Re-ranking sections by how much of the question they cover.
    pub rerank: bool,
    /// Links between documents: a section gains for each other retrieved document linking to
    /// its document, and the confidence margin skips documents linked with the top one.
    pub links: bool,
    /// Confidence thresholds; off means "always answer".
    pub confidence: bool,
    /// The words of a message's other sentences count less than its question's.
    pub context: bool,
    /// The learnt ranking, in the languages `RouterConfig::learnt_ranking` names (off: search
    /// score x prior x link authority, set by hand, in every language).
    pub ranker: bool,
}

impl Default for Layers {
    fn default() -> Self {
        Layers {
            intents: true,
            thesaurus: true,
            abbreviations: true,
            priors: true,
            rerank: true,
            links: true,
            confidence: true,
            context: true,
            ranker: true,
        }
    }
}

/// Router settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RouterConfig {
    /// When the guidance answers, whether the bot answers from its top section or suggests:
    /// a fitted probability that the top section is right, and a threshold per language.
    pub answer_gate: AnswerGate,
    /// Confidence at or above which the bot suggests (below: declines or offers a person).
    pub suggest_threshold: f32,
    /// Weight of thesaurus expansions next to the customer's own words.
    pub expansion_weight: f32,
    /// Weight of the words of a message's sentences around its question (the middle of the
    /// range 0.7-0.85 that gained on dev-2 and held dev; README, "Answer quality").
    pub context_weight: f32,
    /// The learnt ranking's weights.
    pub ranker: Ranker,
    /// The languages ranked by the learnt ranking: those where it beat the hand-set formula in
    /// cross-validation (English 0.848 against 0.773 hit@1; German 0.809 against 0.836, so not).
    pub learnt_ranking: PerLanguage<bool>,
    /// When a learnt intent is acted on.
    pub intent_policy: IntentPolicy,
    /// Layers.
    pub layers: Layers,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            answer_gate: AnswerGate::default(),
            suggest_threshold: 0.20,
            expansion_weight: 0.6,
            context_weight: 0.75,
            ranker: Ranker::default(),
            learnt_ranking: PerLanguage { de: false, en: true },
            intent_policy: IntentPolicy::default(),
            layers: Layers::default(),
        }
    }
}

/// The routing core. Cheap to clone: the knowledge base, plugins and support model are shared.
#[derive(Clone)]
pub struct Router {
    kb: Arc<KnowledgeBase>,
    plugins: Arc<PluginSet>,
    support: Arc<SupportModel>,
    config: RouterConfig,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The ranking of one question, documents in order.
struct Retrieval {
    hits: Vec<SearchHit>,
    traced: Vec<TracedHit>,
    /// The terms searched for, as the trace shows them.
    terms: Vec<String>,
    /// The terms searched for, with their weights and rarity.
    query_terms: Vec<QueryTerm>,
    /// Share of the question's words the guidance knows.
    known_share: f32,
    expansions: Vec<(String, String)>,
    confidence: f32,
    signals: Vec<(String, f32)>,
    /// The top section's lead over the best other document not linked with it.
    margin: f32,
    /// The top document's share of the retrieved score.
    doc_mass: f32,
    /// What the ranker read of each hit, in the order of `hits`.
    rank_inputs: Vec<RankInput>,
}

fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .take(MAX_ANALYSED_CHARS)
        .collect()
}

impl Router {
    /// A router over a knowledge base, plugins and support model.
    pub fn new(kb: KnowledgeBase, plugins: PluginSet, support: SupportModel, config: RouterConfig) -> Self {
        Router {
            kb: Arc::new(kb),
            plugins: Arc::new(plugins),
            support: Arc::new(support),
            config,
        }
    }

    /// The same router with other settings (to measure layers or thresholds).
    #[must_use]
    pub fn with_config(&self, config: RouterConfig) -> Router {
        Router {
            config,
            ..self.clone()
        }
    }

    /// The knowledge base.
    pub fn knowledge(&self) -> &KnowledgeBase {
        &self.kb
    }

    /// The plugins.
    pub fn plugins(&self) -> &PluginSet {
        &self.plugins
    }

    /// The support model.
    pub fn support(&self) -> &SupportModel {
        &self.support
    }

    /// The settings.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// Adds the long form of each abbreviation of the message that the guidance defines and no
    /// thesaurus entry already expands: sections written with "granular delegated admin
    /// privileges" answer a customer who writes "gdap".
    fn expand_abbreviations(&self, text: &str, lang: Language, expansions: &mut Vec<(String, String)>) {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            let Some(long_form) = self.kb.long_form(lang, word) else {
                continue;
            };
            let word = word.to_lowercase();
            if !expansions.iter().any(|(from, _)| *from == word) {
                expansions.push((word, long_form.to_string()));
            }
        }
    }

    fn retrieve(
        &self,
        text: &str,
        lang: Language,
        context_products: &[String],
    ) -> Result<Retrieval, KnowledgeError> {
        let mut expansions = if self.config.layers.thesaurus {
            self.plugins
                .expansions(text, lang, |word| self.kb.knows_word(lang, word))
        } else {
            Vec::new()
        };
        if self.config.layers.abbreviations {
            self.expand_abbreviations(text, lang, &mut expansions);
        }
        let mut request = SearchRequest::new(text, RETRIEVED_SECTIONS);
        request.language = Some(lang);
        request.snippets = false;
        request.rerank = self.config.layers.rerank;
        if self.config.layers.context {
            request.context_weight = self.config.context_weight;
        }
        request.expansions = expansions
            .iter()
            .map(|(from, to)| Expansion {
                text: to.clone(),
                weight: self.config.expansion_weight,
                replaces: Some(from.clone()),
            })
            .collect();
        for product in context_products {
            // A product named earlier in the conversation still applies, a little.
            request.expansions.push(Expansion {
                text: product.clone(),
                weight: 0.3,
                replaces: None,
            });
            expansions.push(("(conversation)".into(), product.clone()));
        }
        let outcome = self.kb.search(&request)?;
        let audience = self.support.audience;
        let hits: Vec<SearchHit> = outcome
            .hits
            .into_iter()
            .filter(|h| audience.admits(&h.audience))
            .collect();
        let inputs = self.rank_inputs(&hits);
        let learnt = self.config.layers.ranker && *self.config.learnt_ranking.get(lang);
        let mut ranked: Vec<(f32, SearchHit, RankInput)> = hits
            .into_iter()
            .zip(inputs)
            .map(|(h, input)| {
                let score = if learnt {
                    self.config.ranker.score(&input)
                } else {
                    input.hand_set_score()
                };
                (score, h, input)
            })
            .collect();
        rank_below_counterparts(&mut ranked, direction::direction_of(text, lang), lang);
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (scored, rank_inputs): (Vec<(f32, SearchHit)>, Vec<RankInput>) =
            ranked.into_iter().map(|(s, h, i)| ((s, h), i)).unzip();
        let traced = scored
            .iter()
            .take(10)
            .map(|(s, h)| TracedHit {
                citation: h.citation.clone(),
                score: *s,
                raw_score: h.score,
            })
            .collect();
        let known_share = self.known_share(&outcome.terms, &expansions, lang);
        let (confidence, signals, margin, doc_mass) = self.confidence(&scored, known_share);
        let terms = outcome
            .terms
            .iter()
            .map(|t| match &t.corrected_from {
                Some(from) => format!("{} (for {from})", t.term),
                None => t.term.clone(),
            })
            .collect();
        Ok(Retrieval {
            hits: scored
                .into_iter()
                .map(|(s, mut h)| {
                    h.score = s;
                    h
                })
                .collect(),
            traced,
            terms,
            query_terms: outcome.terms,
            known_share,
            expansions,
            confidence,
            signals,
            margin,
            doc_mass,
            rank_inputs,
        })
    }

    /// What the ranker reads of each retrieved section (priors and links as their layers allow).
    fn rank_inputs(&self, hits: &[SearchHit]) -> Vec<RankInput> {
        let best_score = hits.iter().map(|h| h.score).fold(0.0, f32::max);
        hits.iter()
            .map(|h| RankInput {
                score: h.score,
                best_score,
                coverage: h.coverage,
                title_coverage: h.title_coverage,
                prior: if self.config.layers.priors {
                    self.plugins.prior(&h.doc_path)
                } else {
                    1.0
                },
                linking_documents: if self.config.layers.links {
                    linking_documents(hits, h)
                } else {
                    0
                },
                introduction: h.anchor.is_empty(),
                length: h.body.len(),
            })
            .collect()
    }

    /// The sections retrieved for a question, each with what the ranker reads of it, in search
    /// order (to fit the ranker on labelled questions).
    pub fn rank_candidates(
        &self,
        text: &str,
        lang: Language,
    ) -> Result<Vec<(String, RankInput)>, KnowledgeError> {
        let retrieval = self.retrieve(crate::pleasantries::without_pleasantries(text), lang, &[])?;
        let mut by_search: Vec<(&SearchHit, &RankInput)> =
            retrieval.hits.iter().zip(&retrieval.rank_inputs).collect();
        by_search.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
        Ok(by_search
            .into_iter()
            .map(|(h, input)| (h.doc_path.clone(), *input))
            .collect())
    }

    /// Share of the question's words the guidance knows: found in the index (as written or as
    /// a typo correction), or mapped to the guidance's words by a thesaurus entry that fired.
    fn known_share(&self, terms: &[QueryTerm], expansions: &[(String, String)], lang: Language) -> f32 {
        let analyzer = self.kb.analyzer(lang);
        let mapped: HashSet<String> = expansions
            .iter()
            .flat_map(|(from, _)| analyzer.analyze(from))
            .map(|t| t.term)
            .collect();
        let mut words: Vec<usize> = terms
            .iter()
            .filter(|t| t.language == lang && !t.compound_part)
            .filter_map(|t| t.word)
            .collect();
        words.sort_unstable();
        words.dedup();
        if words.is_empty() {
            return 0.0;
        }
        let known = words
            .iter()
            .filter(|&&w| {
                terms
                    .iter()
                    .any(|t| t.word == Some(w) && (t.doc_freq > 0 || mapped.contains(&t.term)))
            })
            .count();
        known as f32 / words.len() as f32
    }

    /// Confidence in the top section, from four signals: how much of the question (by
    /// rarity) it covers, how clearly it beats the best other document not linked with it, how
    /// many of the question's words the guidance knows at all, and how much of the retrieved
    /// evidence lies in the top document.
    fn confidence(
        &self,
        scored: &[(f32, SearchHit)],
        known_share: f32,
    ) -> (f32, Vec<(String, f32)>, f32, f32) {
        let Some((top_score, top)) = scored.first() else {
            return (0.0, vec![("no-hits".into(), 0.0)], 0.0, 0.0);
        };
        // A document the top one links to, or that links to it, is the same subject seen from
        // another side: a near tie with it is no doubt about what the question is about.
        let second_doc = scored
            .iter()
            .find(|(_, h)| h.doc_path != top.doc_path && !(self.config.layers.links && h.is_linked_with(top)))
            .map_or(0.0, |(s, _)| *s);
        let margin = if *top_score > 0.0 {
            (top_score - second_doc) / top_score
        } else {
            0.0
        };
        let total: f32 = scored.iter().map(|(s, _)| *s).sum();
        let doc_mass = if total > 0.0 {
            scored
                .iter()
                .filter(|(_, h)| h.doc_path == top.doc_path)
                .map(|(s, _)| *s)
                .sum::<f32>()
                / total
        } else {
            0.0
        };
        let z = CONFIDENCE_BIAS
            + COVERAGE_WEIGHT * top.coverage
            + MARGIN_WEIGHT * margin.clamp(0.0, 1.0)
            + KNOWN_WEIGHT * known_share
            + DOC_MASS_WEIGHT * doc_mass;
        // A question the guidance mostly does not know (gibberish, another product's jargon) is
        // not understood, however clearly one document wins on the rest of it.
        let understood = (known_share / UNDERSTOOD_SHARE).min(1.0);
        let confidence = understood / (1.0 + (-z).exp());
        (
            confidence,
            vec![
                ("coverage".into(), top.coverage),
                ("margin".into(), margin),
                ("known-words".into(), known_share),
                ("doc-mass".into(), doc_mass),
            ],
            margin,
            doc_mass,
        )
    }

    fn replies(&self, lang: Language) -> ReplyTemplates {
        self.plugins
            .replies(lang)
            .cloned()
            .unwrap_or_else(|| default_replies(lang))
    }

    fn citation(hit: &SearchHit) -> Citation {
        Citation {
            citation: hit.citation.clone(),
            title: hit.title.clone(),
            heading: hit.heading.clone(),
            link: hit.links.first().cloned(),
            score: hit.score,
        }
    }

    /// Distinct documents' best sections, in rank order.
    fn top_sections(hits: &[SearchHit], n: usize) -> Vec<&SearchHit> {
        let mut seen = HashSet::new();
        hits.iter()
            .filter(|h| seen.insert(h.doc_path.as_str()))
            .take(n)
            .collect()
    }

    /// Decides what to do with one message.
    pub fn decide(
        &self,
        message: &Message,
        context: &mut ConversationContext,
        now: Timestamp,
    ) -> Result<Decision, KnowledgeError> {
        // Card numbers and IBANs are removed here too, not only by the desk: a caller that routes
        // without the desk (`ask`, an adapter of its own) never gets one back in a handoff
        // summary or a trace. The marks stay in what staff read (`text`); the analysis reads
        // the message without them: "[card number removed]" in a German message are three words
        // that neither the classifier nor the German guidance knows, and a refund request with a
        // card number was declined as not understood.
        let text = crate::redact::redact(&clean(&message.text)).text;
        let analysed = crate::redact::without_marks(&text);
        let (lang, language_source) = language::detect(&analysed, message.language_hint, context.language);
        let fired_manifest = if self.config.layers.intents {
            self.plugins
                .fire(&analysed, |word| self.kb.knows_word(lang, word))
        } else {
            Vec::new()
        };
        let labels = &self.plugins.classifier.labels;
        // Without a ticket there is nothing to follow up: "how long will that take?" is then a
        // question like any other.
        let prediction = match (self.config.layers.intents, context.has_ticket) {
            (false, _) => IntentPrediction::default(),
            (true, false) => self.plugins.classifier.predict(intent_text(&analysed), lang),
            (true, true) => self
                .plugins
                .classifier
                .predict_with_ticket(intent_text(&analysed), lang),
        };
        let policy = &self.config.intent_policy;
        let mut findings = self.run_code_plugins(&analysed, lang, &fired_manifest);
        let code_plugins = CODE_PLUGINS.iter().map(|p| p.name()).collect();
        let context_products = if findings.entities.products.is_empty() {
            context.products.clone()
        } else {
            Vec::new()
        };
        let question = crate::pleasantries::without_pleasantries(&analysed);
        let elliptical = context
            .last_question
            .as_deref()
            .filter(|_| question.split_whitespace().count() <= ELLIPSIS_WORDS)
            .and_then(|last| {
                asked_about_other_products(last, &context.products, &findings.entities.products)
            });
        let searched = elliptical.as_deref().unwrap_or(question);
        let mut retrieval = self.retrieve(searched, lang, &context_products)?;
        if let Some(whole) = &elliptical {
            retrieval
                .expansions
                .insert(0, (question.trim().to_string(), whole.clone()));
        }
        if !findings.entities.products.is_empty() {
            context.products.clone_from(&findings.entities.products);
        }
        context.language = Some(lang);
        let arbiter_input = ArbiterInput::new(
            &prediction,
            labels,
            retrieval.confidence,
            retrieval.known_share,
            retrieval.hits.first().map_or(0.0, |h| h.coverage),
            lang == Language::De,
        );
        let (learnt, verdict) = policy::decide(&prediction, labels, policy, &arbiter_input);
        if learnt.is_some() {
            // Money rules act on the intents acted on, known only now: run them again with it.
            findings.money_rules.clear();
            let mut acted = fired_manifest.clone();
            acted.extend(learnt.clone());
            let input = CodePluginInput {
                text: &analysed,
                language: lang,
                plugins: &self.plugins,
                fired: &acted,
            };
            crate::plugins::CodePlugin::inspect(&crate::plugins::MoneyRules, &input, &mut findings);
        }
        let mut fired = fired_manifest;
        fired.extend(learnt);
        if self.config.layers.intents {
            fired.extend(findings.money_rules.iter().cloned());
        }
        fired.sort_by_key(|f| std::cmp::Reverse(f.priority));

        let gate_input = GateInput {
            coverage: arbiter_input.coverage,
            title_coverage: retrieval.hits.first().map_or(0.0, |h| h.title_coverage),
            margin: retrieval.margin,
            known_share: retrieval.known_share,
            doc_mass: retrieval.doc_mass,
            information: arbiter_input.information,
            handoff: arbiter_input.handoff,
            decline: arbiter_input.decline,
            german: arbiter_input.german,
            prior: retrieval.rank_inputs.first().map_or(1.0, |r| r.prior),
            introduction: retrieval.rank_inputs.first().is_some_and(|r| r.introduction),
        };
        let answer_probability = if retrieval.hits.is_empty() {
            0.0
        } else {
            self.config.answer_gate.probability(&gate_input)
        };
        let answer_threshold = *self.config.answer_gate.threshold.get(lang);
        let mut trace = Trace {
            language: lang,
            language_source,
            fired: fired.clone(),
            code_plugins,
            entities: findings.entities.clone(),
            expansions: retrieval.expansions.clone(),
            terms: retrieval.terms.clone(),
            top: retrieval.traced.clone(),
            ranked_docs: Self::top_sections(&retrieval.hits, 10)
                .iter()
                .map(|h| h.doc_path.clone())
                .collect(),
            confidence: retrieval.confidence,
            signals: retrieval.signals.clone(),
            answer_probability,
            gate_input: Some(gate_input),
            answer_threshold,
            suggest_threshold: self.config.suggest_threshold,
            learnt_intents: prediction
                .ranked
                .iter()
                .filter_map(|(l, p)| labels.get(*l).map(|i| (format!("{}/{}", i.plugin, i.intent), *p)))
                .collect(),
            deciding_features: prediction.deciding_features.clone(),
            arbiter: verdict.map(|probs| {
                Verdict::ALL
                    .iter()
                    .zip(probs)
                    .map(|(v, p)| (format!("{v:?}").to_lowercase(), p))
                    .collect()
            }),
            arbiter_input: Some(arbiter_input),
            reason: String::new(),
        };
        let replies = self.replies(lang);
        let confident = !self.config.layers.confidence || answer_probability >= answer_threshold;
        let best = |action: IntentAction| fired.iter().find(|f| f.action == action);
        // A follow-up is handed to its queue like a request, and the desk puts it on the ticket.
        let handoff = fired
            .iter()
            .find(|f| matches!(f.action, IntentAction::Handoff | IntentAction::FollowUp));
        let answer_intent = best(IntentAction::Answer);
        let decline = best(IntentAction::Decline);
        let not_csp = best(IntentAction::NotCsp);
        let support_info = best(IntentAction::SupportInfo);
        let not_helpful = best(IntentAction::NotHelpful).filter(|_| context.awaiting_feedback);
        let conversation_act = fired.iter().find(|f| {
            matches!(f.action, IntentAction::Greeting | IntentAction::Thanks)
                || (f.action == IntentAction::Helpful && context.awaiting_feedback)
        });

        // An explicit handoff intent wins unless an answer intent of higher priority fired
        // and the guidance answers confidently (a how-to question about refunds, say).
        let answer_outranks =
            |h: &FiredIntent| answer_intent.is_some_and(|a| a.priority > h.priority) && confident;
        let mut follows_conversation = false;
        let decision = if let Some(h) = handoff.filter(|h| !answer_outranks(h)) {
            let mut queue = h.queue.as_deref().unwrap_or(&self.support.default_queue);
            trace.reason = format!(
                "intent `{}` of plugin `{}` routes to queue `{queue}`",
                h.intent, h.plugin,
            );
            let topic = context
                .topic_queue
                .as_deref()
                .filter(|q| self.support.queue(q).is_some());
            if let (Some(topic), Some(spec)) = (topic, self.plugins.intent_spec(&h.plugin, &h.intent)) {
                if spec.queue_from_conversation {
                    follows_conversation = true;
                    queue = topic;
                    trace.reason = format!(
                        "intent `{}` of plugin `{}` asks for a person: queue `{topic}`, which the conversation was about",
                        h.intent, h.plugin,
                    );
                }
            }
            self.handoff(
                queue,
                &trace.reason.clone(),
                &text,
                lang,
                &findings.entities,
                &retrieval,
                &replies,
                trace,
                now,
            )
        } else if let Some(act) = conversation_act {
            trace.reason = format!("conversation: intent `{}` ({})", act.intent, act.matched);
            self.converse(act.action, context.awaiting_feedback, &replies, lang, trace)
        } else if let Some(n) = not_helpful {
            trace.reason = format!(
                "the customer said the last answer did not help (`{}`): offer a person",
                n.matched
            );
            // Sections only for words the guidance has as written ("no, the invoice address");
            // "nein" alone is typo-corrected to "neun" and would suggest whatever that finds.
            let names_something = retrieval.query_terms.iter().any(|t| t.corrected_from.is_none());
            if !names_something || retrieval.hits.is_empty() {
                // "No" alone names nothing to suggest: say sorry and offer a person, never an
                // empty list of sections.
                self.converse(IntentAction::NotHelpful, true, &replies, lang, trace)
            } else {
                Decision {
                    feedback: Some(false),
                    ..self.suggest(&retrieval, &replies, lang, true, trace)
                }
            }
        } else if let Some(n) = not_csp {
            trace.reason = format!(
                "the customer did not buy through a CSP (`{}`): point to the product portal",
                n.matched
            );
            let portal = self.portal_for(&findings.entities, &context_products, lang);
            let reply = fill(
                &replies.not_csp,
                &[
                    ("{portal}", portal),
                    ("{partner}", self.support.partner_name.clone()),
                ],
            );
            reply_without_citation(reply, lang, trace)
        } else if let Some(i) = support_info {
            trace.reason = format!(
                "the customer asks about the support they get (`{}`): the support model answers",
                i.matched
            );
            self.support_info(&replies, lang, trace, now)
        } else if let Some(d) =
            // A product named in passing ("an azure blue paint") does not make small talk a
            // guidance question; a confident answer about the product does.
            decline.filter(|_| findings.entities.products.is_empty() || !confident)
        {
            trace.reason = format!(
                "out of scope: intent `{}` (`{}`) and no confident guidance",
                d.intent, d.matched
            );
            self.decline(&replies, lang, trace)
        } else if retrieval.hits.is_empty() {
            trace.reason = "no guidance matches any word of the message".into();
            self.decline(&replies, lang, trace)
        } else if self.config.layers.confidence && retrieval.known_share < UNDERSTOOD_SHARE {
            trace.reason = format!(
                "the guidance knows {:.0}% of the message's words (< {:.0}%): not understood",
                retrieval.known_share * 100.0,
                UNDERSTOOD_SHARE * 100.0
            );
            self.decline(&replies, lang, trace)
        } else if confident {
            trace.reason = format!(
                "answer probability {answer_probability:.2} >= answer threshold {answer_threshold:.2}"
            );
            self.answer(&retrieval, &replies, lang, trace)
        } else if retrieval.confidence >= self.config.suggest_threshold || answer_intent.is_some() {
            let offer = context.low_confidence_turns >= 1;
            trace.reason = format!(
                "answer probability {answer_probability:.2} below answer threshold {answer_threshold:.2}{}: suggest sections",
                if offer {
                    "; second unsure turn, offer a person"
                } else {
                    ""
                }
            );
            self.suggest(&retrieval, &replies, lang, true, trace)
        } else {
            trace.reason = format!(
                "confidence {:.2} below suggest threshold {:.2}: out of scope",
                retrieval.confidence, self.config.suggest_threshold
            );
            self.decline(&replies, lang, trace)
        };
        context.awaiting_feedback = decision.asks_feedback;
        if !follows_conversation
            && matches!(
                decision.outcome,
                Outcome::Answer | Outcome::Suggest | Outcome::Handoff
            )
        {
            context.topic_queue = match &decision.handoff {
                Some(h) => Some(h.queue.clone()),
                None => self.topic_queue(&prediction),
            };
        }
        context.low_confidence_turns = match decision.outcome {
            Outcome::Suggest => context.low_confidence_turns + 1,
            _ => 0,
        };
        context.last_question = match decision.outcome {
            Outcome::Answer | Outcome::Suggest if !decision.citations.is_empty() => {
                Some(searched.to_string())
            }
            // A greeting, thanks or feedback keeps the subject; anything else ends it.
            Outcome::Reply => context.last_question.take(),
            _ => None,
        };
        Ok(decision)
    }

    /// The queue whose requests a message is likeliest about (the classifier's probabilities
    /// of its handoff intents summed per queue), if that is at least [`TOPIC_MIN`]: where "can I
    /// talk to someone?" goes next in the conversation.
    fn topic_queue(&self, prediction: &crate::intents::IntentPrediction) -> Option<String> {
        let labels = &self.plugins.classifier.labels;
        let mut per_queue: Vec<(&str, f32)> = Vec::new();
        for &(label, p) in &prediction.ranked {
            let Some(intent) = labels.get(label) else { continue };
            let Some(queue) = intent.queue.as_deref() else {
                continue;
            };
            let generic = self
                .plugins
                .intent_spec(&intent.plugin, &intent.intent)
                .is_some_and(|s| s.queue_from_conversation);
            if intent.action != IntentAction::Handoff || generic {
                continue;
            }
            match per_queue.iter_mut().find(|(q, _)| *q == queue) {
                Some(entry) => entry.1 += p,
                None => per_queue.push((queue, p)),
            }
        }
        per_queue
            .into_iter()
            .filter(|(_, p)| *p >= TOPIC_MIN)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(q, _)| q.to_string())
    }

    fn run_code_plugins(&self, text: &str, lang: Language, fired: &[FiredIntent]) -> Findings {
        let input = CodePluginInput {
            text,
            language: lang,
            plugins: &self.plugins,
            fired,
        };
        let mut findings = Findings::default();
        for plugin in CODE_PLUGINS {
            plugin.inspect(&input, &mut findings);
        }
        findings
    }

    /// A greeting, thanks or feedback (a "no" that names nothing new offers a person): a reply
    /// of its own, never a guidance answer.
    fn converse(
        &self,
        action: IntentAction,
        awaiting_feedback: bool,
        replies: &ReplyTemplates,
        lang: Language,
        trace: Trace,
    ) -> Decision {
        let builtin = default_replies(lang);
        let pick = |own: &Option<String>, fallback: &Option<String>| {
            own.clone().or_else(|| fallback.clone()).unwrap_or_default()
        };
        let (template, feedback) = match action {
            IntentAction::Greeting => (pick(&replies.greeting, &builtin.greeting), None),
            IntentAction::Helpful => (
                pick(&replies.feedback_thanks, &builtin.feedback_thanks),
                awaiting_feedback.then_some(true),
            ),
            IntentAction::NotHelpful => (
                pick(&replies.not_helpful, &builtin.not_helpful),
                awaiting_feedback.then_some(false),
            ),
            _ => (pick(&replies.thanks, &builtin.thanks), None),
        };
        Decision {
            outcome: Outcome::Reply,
            reply: fill(&template, &[("{partner}", self.support.partner_name.clone())]),
            language: lang,
            citations: Vec::new(),
            handoff: None,
            offers_human: action == IntentAction::NotHelpful,
            asks_feedback: false,
            feedback,
            trace,
        }
    }

    /// The portal of the product the customer named (in this message or earlier in the
    /// conversation); with none named, every portal, since guessing sends a Microsoft 365
    /// customer to the Azure portal.
    fn portal_for(&self, entities: &Entities, context_products: &[String], lang: Language) -> String {
        let portals = &self.support.direct_customer_portals;
        let named: Vec<String> = entities
            .products
            .iter()
            .chain(context_products)
            .map(|p| p.to_lowercase())
            .collect();
        let mut picked: Vec<Product> = Vec::new();
        for name in &named {
            let product = if name.contains("azure") {
                Product::Azure
            } else if name.contains("dynamics")
                || name.contains("business central")
                || name.contains("power apps")
            {
                Product::Dynamics365
            } else {
                // Microsoft 365, Office 365, its plans (E3, Business Premium) and apps (Teams).
                Product::Microsoft365
            };
            if !picked.contains(&product) {
                picked.push(product);
            }
        }
        if picked.is_empty() {
            picked = vec![Product::Microsoft365, Product::Azure, Product::Dynamics365];
        }
        let chosen: Vec<&str> = picked.iter().map(|p| portals.for_product(*p, lang)).collect();
        chosen.join("; ")
    }

    fn answer(
        &self,
        retrieval: &Retrieval,
        replies: &ReplyTemplates,
        lang: Language,
        trace: Trace,
    ) -> Decision {
        let first = &retrieval.hits[0];
        // A document's introduction that only says what the document is about (its
        // description) answers nothing: the document's best section answers, and without one
        // the customer gets the sections to choose from.
        let top = if is_summary_only(first) {
            let best_section = retrieval.hits[1..]
                .iter()
                .find(|h| h.doc_path == first.doc_path && !h.anchor.is_empty());
            let Some(section) = best_section else {
                let mut trace = trace;
                trace
                    .reason
                    .push_str("; the top section only summarises its document: suggest");
                return self.suggest(retrieval, replies, lang, true, trace);
            };
            section
        } else {
            first
        };
        let passage = self
            .kb
            .best_passage(top, &retrieval.query_terms, ANSWER_EXCERPT_CHARS);
        let mut reply = format!("{}\n\n{passage}", top.heading);
        reply.push_str(&format!(
            "\n\n{} {} › {} ({})",
            replies.answer_source, top.title, top.heading, top.citation
        ));
        let mut citations = vec![Self::citation(top)];
        // The ranking is sure of the document; within it, a section scoring nearly as well may
        // be the one the customer meant.
        if let Some(sibling) = retrieval.hits.iter().find(|h| {
            h.doc_path == top.doc_path
                && h.anchor != top.anchor
                && !is_summary_only(h)
                && h.score >= SEE_ALSO_SHARE * top.score
        }) {
            let see_also = replies
                .see_also
                .clone()
                .or_else(|| default_replies(lang).see_also)
                .unwrap_or_default();
            reply.push_str(&format!(
                "\n{see_also} {} › {} ({})",
                sibling.title, sibling.heading, sibling.citation
            ));
            citations.push(Self::citation(sibling));
        }
        reply.push_str(&format!("\n\n{}", replies.helpful));
        Decision {
            outcome: Outcome::Answer,
            reply,
            language: lang,
            citations,
            handoff: None,
            offers_human: false,
            asks_feedback: true,
            feedback: None,
            trace,
        }
    }

    fn suggest(
        &self,
        retrieval: &Retrieval,
        replies: &ReplyTemplates,
        lang: Language,
        offer_human: bool,
        trace: Trace,
    ) -> Decision {
        let picks = Self::top_sections(&retrieval.hits, SUGGESTED);
        // "These may help:" only above a list that has something in it.
        let mut reply = if picks.is_empty() {
            String::new()
        } else {
            replies.suggest.clone()
        };
        for hit in &picks {
            reply.push_str(&format!("\n- {} › {} ({})", hit.title, hit.heading, hit.citation));
        }
        if offer_human {
            if !reply.is_empty() {
                reply.push_str("\n\n");
            }
            reply.push_str(&fill(
                &replies.offer_human,
                &[("{partner}", self.support.partner_name.clone())],
            ));
        }
        Decision {
            outcome: Outcome::Suggest,
            reply,
            language: lang,
            citations: picks.into_iter().map(Self::citation).collect(),
            handoff: None,
            offers_human: offer_human,
            asks_feedback: false,
            feedback: None,
            trace,
        }
    }

    /// Every queue's hours, whether it is open now (or when it opens), contact and price.
    fn support_info(
        &self,
        replies: &ReplyTemplates,
        lang: Language,
        trace: Trace,
        now: Timestamp,
    ) -> Decision {
        let builtin = default_replies(lang);
        let template = |pick: fn(&ReplyTemplates) -> &Option<String>| -> String {
            pick(replies)
                .clone()
                .or_else(|| pick(&builtin).clone())
                .unwrap_or_default()
        };
        let mut reply = fill(
            &template(|r| &r.support_info),
            &[("{partner}", self.support.partner_name.clone())],
        );
        for queue in &self.support.queues {
            let status = queue.status_at(now);
            let status_text = if status.open {
                template(|r| &r.support_open)
            } else {
                fill(
                    &template(|r| &r.support_closed),
                    &[("{next_open}", status.next_open_in(lang))],
                )
            };
            let price = queue
                .price
                .as_ref()
                .map_or_else(|| template(|r| &r.support_free), |p| price_text(p, lang));
            reply.push('\n');
            reply.push_str(&fill(
                &template(|r| &r.support_queue),
                &[
                    ("{queue}", queue.name.get(lang).to_string()),
                    ("{hours}", queue.hours_text_in(lang)),
                    ("{status}", status_text),
                    ("{contact}", queue.contact.get(lang).to_string()),
                    ("{price}", price),
                ],
            ));
        }
        reply_without_citation(reply, lang, trace)
    }

    fn decline(&self, replies: &ReplyTemplates, lang: Language, trace: Trace) -> Decision {
        let reply = fill(
            &replies.decline,
            &[("{partner}", self.support.partner_name.clone())],
        );
        Decision {
            outcome: Outcome::Decline,
            reply,
            language: lang,
            citations: Vec::new(),
            handoff: None,
            offers_human: true,
            asks_feedback: false,
            feedback: None,
            trace,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn handoff(
        &self,
        queue_id: &str,
        reason: &str,
        text: &str,
        lang: Language,
        entities: &Entities,
        retrieval: &Retrieval,
        replies: &ReplyTemplates,
        trace: Trace,
        now: Timestamp,
    ) -> Decision {
        let queue = self
            .support
            .queue(queue_id)
            .or_else(|| self.support.queue(&self.support.default_queue))
            .expect("default queue validated");
        let status = queue.status_at(now);
        let suggested: Vec<Citation> = Self::top_sections(&retrieval.hits, SUGGESTED)
            .into_iter()
            .map(Self::citation)
            .collect();
        let price = queue.price.as_ref().map(|p| price_text(p, lang));
        let fields = [
            ("{partner}", self.support.partner_name.clone()),
            ("{queue}", queue.name.get(lang).to_string()),
            // What the customer reads is in their language; the handoff's fields for staff
            // stay as they are.
            ("{hours}", queue.hours_text_in(lang)),
            ("{contact}", queue.contact.get(lang).to_string()),
            ("{respond_by}", status.respond_by_in(lang)),
            ("{next_open}", status.next_open_in(lang)),
            ("{price}", price.clone().unwrap_or_default()),
        ];
        let mut reply = fill(
            if status.open {
                &replies.handoff_open
            } else {
                &replies.handoff_closed
            },
            &fields,
        );
        if price.is_some() {
            reply.push(' ');
            reply.push_str(&fill(&replies.handoff_price, &fields));
        }
        let mut summary = format!("[{}] Customer wrote: \"{}\"", lang, excerpt(text, 280));
        summary.push_str(&format!(" Routed to `{}`: {reason}.", queue.id));
        if let Some(m) = entities.largest_amount() {
            summary.push_str(&format!(" Amount: {m}."));
        }
        if !entities.invoice_numbers.is_empty() {
            summary.push_str(&format!(" Invoice: {}.", entities.invoice_numbers.join(", ")));
        }
        if !entities.products.is_empty() {
            summary.push_str(&format!(" Products: {}.", entities.products.join(", ")));
        }
        Decision {
            outcome: Outcome::Handoff,
            reply,
            language: lang,
            citations: Vec::new(),
            handoff: Some(Handoff {
                queue: queue.id.clone(),
                queue_name: queue.name.get(lang).to_string(),
                reason: reason.to_string(),
                summary,
                entities: entities.clone(),
                suggested,
                open_now: status.open,
                hours: queue.hours_text_in(lang),
                next_open: status.next_open,
                respond_by: status.respond_by,
                contact: queue.contact.get(lang).to_string(),
                price,
            }),
            offers_human: false,
            asks_feedback: false,
            feedback: None,
            trace,
        }
    }
}

/// What the intent classifier reads of a message: a greeting or sign-off says nothing of what
/// the customer wants, unless it is all the message says.
pub fn intent_text(text: &str) -> &str {
    let without = crate::pleasantries::without_pleasantries(text);
    if without.trim().is_empty() {
        text
    } else {
        without
    }
}

/// The last question about the products named now instead of those it named: `None` unless
/// products are named now and none of them was the last question's.
fn asked_about_other_products(last: &str, before: &[String], now: &[String]) -> Option<String> {
    if now.is_empty() || now.iter().any(|p| before.contains(p)) {
        return None;
    }
    let named = now.join(" ");
    let mut question = last.to_string();
    let mut replaced = false;
    for product in before {
        let pattern = format!("(?i){}", regex::escape(product));
        if let Ok(re) = regex::Regex::new(&pattern) {
            if re.is_match(&question) {
                question = re.replace_all(&question, regex::NoExpand(&named)).into_owned();
                replaced = true;
            }
        }
    }
    if !replaced {
        question.push(' ');
        question.push_str(&named);
    }
    Some(question)
}

/// An answer that comes from the support model or a fixed text, not from guidance.
fn reply_without_citation(reply: String, lang: Language, trace: Trace) -> Decision {
    Decision {
        outcome: Outcome::Answer,
        reply,
        language: lang,
        citations: Vec::new(),
        handoff: None,
        offers_human: false,
        asks_feedback: false,
        feedback: None,
        trace,
    }
}

fn fill(template: &str, fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .fold(template.to_string(), |acc, (k, v)| acc.replace(k, v))
}

/// The first sentences of `text`, up to about `max` characters.
fn excerpt(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    match cut.rfind(". ") {
        Some(end) if end > max / 3 => cut[..=end].to_string(),
        _ => format!("{}…", cut.trim_end()),
    }
}

/// Built-in replies, used when no plugin provides templates.
pub fn default_replies(lang: Language) -> ReplyTemplates {
    match lang {
        Language::En => ReplyTemplates {
            answer_source: "Source:".into(),
            helpful: "Was this helpful? (yes / no)".into(),
            suggest: "I am not sure this answers it, but these may help:".into(),
            offer_human: "If not, say \"talk to a human\" and a person from {partner} takes over.".into(),
            handoff_open: "I have passed this to our {queue}. You will hear back by {respond_by}. You can also reach us via {contact}.".into(),
            handoff_closed: "I have passed this to our {queue}. They are available {hours}; the team opens {next_open} and you will hear back by {respond_by}. You can also reach us via {contact}.".into(),
            handoff_price: "This support is charged at {price}.".into(),
            decline: "I can help with billing, licences and support for Azure, Microsoft 365 and Dynamics 365 bought through {partner}. For anything else, say \"talk to a human\".".into(),
            not_csp: "If you bought directly from Microsoft, {partner} cannot see your billing: please use {portal}.".into(),
            support_info: Some("Support from {partner}:".into()),
            support_queue: Some("- {queue}: {hours} ({status}); {contact}; {price}".into()),
            support_open: Some("open now".into()),
            support_closed: Some("closed now, opens {next_open}".into()),
            support_free: Some("free of charge".into()),
            see_also: Some("See also:".into()),
            greeting: Some("Hello! I answer questions about billing, licences, subscriptions and support for Azure, Microsoft 365 and Dynamics 365 bought through {partner}, and pass anything a person must do to our team. What can I do for you?".into()),
            thanks: Some("You're welcome! If anything else comes up, just ask.".into()),
            feedback_thanks: Some("Thank you for the feedback, glad it helped. Anything else?".into()),
            not_helpful: Some("Sorry that did not help. Say \"talk to a human\" and a person from {partner} takes over, or ask again in other words.".into()),
        },
        Language::De => ReplyTemplates {
            answer_source: "Quelle:".into(),
            helpful: "War das hilfreich? (ja / nein)".into(),
            suggest: "Ich bin nicht sicher, ob das Ihre Frage beantwortet, aber das hier könnte helfen:".into(),
            offer_human: "Falls nicht, schreiben Sie „mit einem Menschen sprechen“, und jemand von {partner} übernimmt.".into(),
            handoff_open: "Ich habe Ihr Anliegen an unser {queue} übergeben. Sie hören bis {respond_by} von uns. Sie erreichen uns auch über {contact}.".into(),
            handoff_closed: "Ich habe Ihr Anliegen an unser {queue} übergeben. Servicezeiten: {hours}; das Team ist ab {next_open} wieder da, Sie hören bis {respond_by} von uns. Sie erreichen uns auch über {contact}.".into(),
            handoff_price: "Dieser Support kostet {price}.".into(),
            decline: "Ich helfe bei Abrechnung, Lizenzen und Support für Azure, Microsoft 365 und Dynamics 365, gekauft über {partner}. Für alles andere schreiben Sie „mit einem Menschen sprechen“.".into(),
            not_csp: "Wenn Sie direkt bei Microsoft gekauft haben, kann {partner} Ihre Abrechnung nicht sehen: bitte nutzen Sie {portal}.".into(),
            support_info: Some("Support von {partner}:".into()),
            support_queue: Some("- {queue}: {hours} ({status}); {contact}; {price}".into()),
            support_open: Some("jetzt erreichbar".into()),
            support_closed: Some("jetzt geschlossen, wieder ab {next_open}".into()),
            support_free: Some("kostenlos".into()),
            see_also: Some("Siehe auch:".into()),
            greeting: Some("Hallo! Ich beantworte Fragen zu Abrechnung, Lizenzen, Abonnements und Support für Azure, Microsoft 365 und Dynamics 365, gekauft über {partner}, und gebe alles, was ein Mensch erledigen muss, an unser Team weiter. Was kann ich für Sie tun?".into()),
            thanks: Some("Gern geschehen! Wenn noch etwas ist, fragen Sie einfach.".into()),
            feedback_thanks: Some("Danke für die Rückmeldung, schön, dass es geholfen hat. Kann ich sonst noch etwas tun?".into()),
            not_helpful: Some("Schade, dass das nicht geholfen hat. Schreiben Sie „mit einem Menschen sprechen“, und jemand von {partner} übernimmt, oder fragen Sie mit anderen Worten.".into()),
        },
    }
}

/// Link authority within the results: a document that other documents retrieved for the same
/// question link to is where their authors send readers on this subject, so each distinct citing
/// document raises its sections' scores by [`LINK_AUTHORITY_WEIGHT`] (a query-time form of
/// Kleinberg's authorities). Citations from outside the results say nothing about the question
/// and are not counted: the most linked documents of a corpus are hubs such as API references.
/// A section headed with the opposite of the asked change ranks below its document's section
/// headed with the asked one, whatever else it shares with the question.
fn rank_below_counterparts(
    ranked: &mut [(f32, SearchHit, RankInput)],
    asked: Option<direction::Direction>,
    lang: Language,
) {
    let Some(asked) = asked else { return };
    for i in 0..ranked.len() {
        if !direction::contradicts(asked, heading_of(&ranked[i].1), lang) {
            continue;
        }
        let counterpart = ranked
            .iter()
            .filter(|(_, h, _)| {
                h.doc_path == ranked[i].1.doc_path
                    && direction::direction_of(heading_of(h), lang) == Some(asked)
            })
            .map(|(s, _, _)| *s)
            .fold(0.0f32, f32::max);
        if counterpart > 0.0 {
            ranked[i].0 = ranked[i].0.min(OPPOSITE_BELOW * counterpart);
        }
    }
}

/// Whether a section is a document's introduction with no more than one short paragraph (in
/// the guidance: the document's description): it says what the document is about, not how.
fn is_summary_only(hit: &SearchHit) -> bool {
    hit.anchor.is_empty()
        && hit.body.chars().count() < 300
        && hit.body.lines().filter(|l| !l.trim().is_empty()).count() <= 1
}

/// What a section says it is about: its heading, or its document's title for an introduction.
fn heading_of(hit: &SearchHit) -> &str {
    if hit.anchor.is_empty() {
        &hit.title
    } else {
        &hit.heading
    }
}

/// Other retrieved documents that link to `hit`'s document.
fn linking_documents(hits: &[SearchHit], hit: &SearchHit) -> usize {
    hits.iter()
        .filter(|other| other.doc_path != hit.doc_path && other.linked_documents.contains(&hit.doc_path))
        .map(|other| other.doc_path.as_str())
        .collect::<HashSet<_>>()
        .len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_knowledge::{Language, Section};

    fn section(path: &str, body: &str, links: &[&str]) -> Section {
        Section {
            body: body.into(),
            links: links.iter().map(ToString::to_string).collect(),
            ..Section::new(path, Language::En)
        }
    }

    #[test]
    fn link_authority_counts_each_citing_retrieved_document_once() {
        let kb = KnowledgeBase::build_in_ram(&[
            section("en-us/refunds.md", "Refunds are credited.", &[]),
            section("en-us/cancel.md", "Cancel for a refund.", &["refunds.md"]),
            // A second section of the same citing document does not count again.
            section(
                "en-us/cancel.md",
                "A refund takes a week.",
                &["refunds.md#timing"],
            ),
            section(
                "en-us/invoice.md",
                "A refund shows on the invoice.",
                &["refunds.md"],
            ),
            section("en-us/other.md", "A refund of quota.", &[]),
            // Not retrieved for the question: its link says nothing about it.
            section(
                "en-us/unrelated.md",
                "Quotas and limits.",
                &["refunds.md", "other.md"],
            ),
        ])
        .expect("index builds");
        let mut request = SearchRequest::new("refund", 10);
        request.language = Some(Language::En);
        let hits = kb.search(&request).expect("search").hits;
        assert_eq!(hits.len(), 5);
        for hit in &hits {
            let expected = match hit.doc_path.as_str() {
                "en-us/refunds.md" => 2,
                _ => 0,
            };
            assert_eq!(linking_documents(&hits, hit), expected, "{}", hit.doc_path);
        }
    }
}
