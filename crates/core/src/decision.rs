//! What the core decides for one message, and the trace that explains it.

use crate::entities::Entities;
use crate::language::LanguageSource;
use crate::plugins::FiredIntent;
use serde::Serialize;
use switchboard_knowledge::Language;

/// The four outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A confident answer with citations.
    Answer,
    /// Candidate sections and the offer of a person.
    Suggest,
    /// A ticket for a human queue.
    Handoff,
    /// Out of scope.
    Decline,
    /// A conversational reply: a greeting, thanks, feedback acknowledged (no guidance, no ticket).
    Reply,
}

/// A cited guidance section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// `path#anchor`.
    pub citation: String,
    /// Document title.
    pub title: String,
    /// Section heading.
    pub heading: String,
    /// The first link of the section, if any (for adapters that show links).
    pub link: Option<String>,
    /// Ranking score.
    pub score: f32,
}

/// Everything staff and the customer need on a handoff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handoff {
    /// Queue id.
    pub queue: String,
    /// Queue name in the customer's language.
    pub queue_name: String,
    /// Why it was handed off.
    pub reason: String,
    /// One paragraph for staff.
    pub summary: String,
    /// Entities found.
    pub entities: Entities,
    /// Sections staff may want to read or send.
    pub suggested: Vec<Citation>,
    /// Whether the queue is open now.
    pub open_now: bool,
    /// The service hours.
    pub hours: String,
    /// When it next opens, if closed.
    pub next_open: Option<String>,
    /// When the customer should hear back.
    pub respond_by: Option<String>,
    /// Contact method.
    pub contact: String,
    /// Price where support is charged.
    pub price: Option<String>,
}

/// The words that label a handoff's details for a customer, in their language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoffLabels {
    /// "Team" / "queue".
    pub team: &'static str,
    /// Whether the team is reachable now.
    pub state: &'static str,
    /// "Servicezeiten" / "hours".
    pub hours: &'static str,
    /// "Kontakt" / "contact".
    pub contact: &'static str,
    /// "Preis" / "price".
    pub price: &'static str,
}

impl Handoff {
    /// The words that label this handoff's details for a customer of `lang`.
    pub fn labels(&self, lang: Language) -> HandoffLabels {
        match lang {
            Language::De => HandoffLabels {
                team: "Team",
                state: if self.open_now {
                    "jetzt erreichbar"
                } else {
                    "jetzt geschlossen"
                },
                hours: "Servicezeiten",
                contact: "Kontakt",
                price: "Preis",
            },
            Language::En => HandoffLabels {
                team: "queue",
                state: if self.open_now { "open now" } else { "closed now" },
                hours: "hours",
                contact: "contact",
                price: "price",
            },
        }
    }
}

/// One candidate section in a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TracedHit {
    /// `path#anchor`.
    pub citation: String,
    /// Final score after priors.
    pub score: f32,
    /// The retrieval score before priors.
    pub raw_score: f32,
}

/// How a decision came about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trace {
    /// Language used.
    pub language: Language,
    /// How it was decided.
    pub language_source: LanguageSource,
    /// Intents (and money rules) that fired, best first.
    pub fired: Vec<FiredIntent>,
    /// Code plugins that ran.
    pub code_plugins: Vec<&'static str>,
    /// Entities.
    pub entities: Entities,
    /// Query expansions used (customer word -> guidance words).
    pub expansions: Vec<(String, String)>,
    /// Terms searched for.
    pub terms: Vec<String>,
    /// Top sections.
    pub top: Vec<TracedHit>,
    /// Distinct documents in rank order (up to ten).
    pub ranked_docs: Vec<String>,
    /// Confidence in the top answer, 0..1.
    pub confidence: f32,
    /// The signals that make up the confidence.
    pub signals: Vec<(String, f32)>,
    /// The answer gate's probability that the top section answers the message.
    pub answer_probability: f32,
    /// What the answer gate read of the message.
    pub gate_input: Option<crate::answer_gate::GateInput>,
    /// The answer probability at or above which the bot answers.
    pub answer_threshold: f32,
    /// Threshold to suggest.
    pub suggest_threshold: f32,
    /// The classifier's intents by probability, best first (`plugin/intent`, probability).
    pub learnt_intents: Vec<(String, f32)>,
    /// The message's features that raised the most likely intent most.
    pub deciding_features: Vec<(String, f32)>,
    /// The arbiter's probabilities of answer, handoff and decline (absent when a conversation
    /// act decided).
    pub arbiter: Option<Vec<(String, f32)>>,
    /// What the arbiter read of the message.
    pub arbiter_input: Option<crate::policy::ArbiterInput>,
    /// The reason for the outcome, in words.
    pub reason: String,
}

/// The decision for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The outcome.
    pub outcome: Outcome,
    /// The reply to send, in the customer's language.
    pub reply: String,
    /// Its language.
    pub language: Language,
    /// Cited (answer) or suggested (suggest) sections.
    pub citations: Vec<Citation>,
    /// On a handoff, the details.
    pub handoff: Option<Handoff>,
    /// Whether the reply offers a person.
    pub offers_human: bool,
    /// Whether the reply asks "was this helpful?".
    pub asks_feedback: bool,
    /// Feedback on the previous answer this message gave (`true`: it helped).
    pub feedback: Option<bool>,
    /// The explanation.
    pub trace: Trace,
}

impl Decision {
    /// The reply without its closing "was this helpful?", for a channel that cannot read the
    /// answer (a one-shot `ask`) or asks in its own way (buttons).
    pub fn reply_without_feedback_question(&self) -> &str {
        if self.asks_feedback {
            if let Some((body, _question)) = self.reply.rsplit_once("\n\n") {
                return body;
            }
        }
        &self.reply
    }
}
