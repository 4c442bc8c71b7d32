//! Intents learnt from examples: every plugin intent that lists example messages per language
//! (`examples/<intent>.<lang>.txt` beside its `plugin.toml`, or `examples.de`/`examples.en` in
//! the manifest) is a class of one classifier per language, trained when plugins load.
//! The router combines its distribution with what the guidance knows (see `router`).

mod features;
mod model;

pub use features::{features, normalise, visit_features};
pub use model::{dense_row, FitSettings, SoftmaxModel, SparseRow};

use crate::plugins::{IntentAction, PerLanguage};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::Hasher;
use std::ops::Range;
use switchboard_knowledge::Language;

/// An intent needs at least this many examples per language to be learnt.
pub const MIN_EXAMPLES: usize = 40;
/// Folds of the cross-validation `switchboard check` reports.
pub const CV_FOLDS: usize = 5;

/// A class of the classifier: one plugin intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentLabel {
    /// Plugin name.
    pub plugin: String,
    /// Intent name.
    pub intent: String,
    /// What it does.
    pub action: IntentAction,
    /// Queue of a handoff intent.
    pub queue: Option<String>,
}

/// Labelled example messages of one language: `(text, class)`.
pub type Examples = Vec<(String, usize)>;

/// The key a feature name is looked up by: its 64-bit hash. Keys rather than names keep the
/// stored model free of a string per feature (reading tens of thousands of them back was a fifth
/// of a one-shot `ask` process) and a message's lookups free of hashing a string twice. Two of a
/// few ten thousand names share a key with a chance of about 10^-10; the fingerprint holds the
/// probe message's keys, so a hasher that changed never reads back a stored model.
fn feature_key(name: &str) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(name.as_bytes());
    hasher.finish()
}

/// Column numbers of feature names (by [`feature_key`]), built from the training examples.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Vocabulary {
    columns: FxHashMap<u64, u32>,
    /// Inverse document frequency per column: a word in every other example (`bitte`, `the`,
    /// `we`) says little about the class, and unweighted it decided as much as `erstatten`.
    idf: Vec<f32>,
}

impl Vocabulary {
    /// Features of at least two examples: a character n-gram that occurs once says little about
    /// its class, and every column costs training time.
    fn build<'a>(texts: impl Iterator<Item = &'a str>, lang: Language) -> Self {
        // Per feature: the examples that have it, and the last one counted (a feature twice in
        // one example counts once).
        let mut seen: FxHashMap<String, (u32, u32)> = FxHashMap::default();
        let mut documents = 0u32;
        for text in texts {
            documents += 1;
            visit_features(text, lang, |name| match seen.get_mut(name) {
                Some((n, last)) if *last != documents => {
                    *n += 1;
                    *last = documents;
                }
                Some(_) => {}
                None => {
                    seen.insert(name.to_string(), (1, documents));
                }
            });
        }
        // Words are kept even when one example holds them (out of scope is a long tail of
        // topics, each named once: `wetter`, `spotify`); character n-grams only from two.
        let mut kept: Vec<(String, u32)> = seen
            .into_iter()
            .map(|(f, (n, _))| (f, n))
            .filter(|(f, n)| *n >= 2 || f.starts_with("w:"))
            .collect();
        kept.sort_unstable();
        // Smoothed as scikit-learn's TfidfVectorizer: never zero, so a feature of every example
        // still counts a little.
        let idf = kept
            .iter()
            .map(|(_, n)| ((1.0 + documents as f32) / (1.0 + *n as f32)).ln() + 1.0)
            .collect();
        let columns = kept
            .into_iter()
            .enumerate()
            .map(|(i, (f, _))| (feature_key(&f), i as u32))
            .collect();
        Vocabulary { columns, idf }
    }

    /// The message as a sparse row: each group of features (words, word pairs and shapes;
    /// character n-grams) weighted by rarity and scaled to unit length, so long messages do not
    /// shout. Shapes and punctuation share the words' group: in a group of their own, one
    /// question mark or number weighed as much as everything the message says.
    fn encode(&self, text: &str, lang: Language) -> Encoded {
        // Per group: (column, count, where its name is in `names`); `at` finds a column
        // already counted.
        let mut groups: [Vec<(u32, f32, Range<usize>)>; 2] = Default::default();
        let mut at: FxHashMap<u32, (usize, usize)> = FxHashMap::default();
        let mut names = String::new();
        let (mut words, mut known_words) = (0usize, 0usize);
        visit_features(text, lang, |name| {
            let column = self.columns.get(&feature_key(name)).copied();
            if name.starts_with("w:") {
                words += 1;
                known_words += usize::from(column.is_some());
            }
            let Some(column) = column else {
                return;
            };
            match at.entry(column) {
                std::collections::hash_map::Entry::Occupied(seen) => {
                    let (g, i) = *seen.get();
                    groups[g][i].1 += 1.0;
                }
                std::collections::hash_map::Entry::Vacant(new) => {
                    let group = usize::from(name.starts_with("c:"));
                    new.insert((group, groups[group].len()));
                    let start = names.len();
                    names.push_str(name);
                    groups[group].push((column, 1.0, start..names.len()));
                }
            }
        });
        let mut row = Vec::new();
        let mut spans = Vec::new();
        for group in &mut groups {
            for (column, value, _) in group.iter_mut() {
                *value *= self.idf.get(*column as usize).copied().unwrap_or(1.0);
            }
            let norm = group.iter().map(|(_, v, _)| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                for (column, value, span) in group.drain(..) {
                    row.push((column, value / norm));
                    spans.push(span);
                }
            }
        }
        Encoded {
            row,
            spans,
            names,
            known_share: if words == 0 {
                1.0
            } else {
                known_words as f32 / words as f32
            },
        }
    }
}

/// A message as the classifier reads it.
struct Encoded {
    row: SparseRow,
    /// Where the feature name of each row entry is in `names`, in row order.
    spans: Vec<Range<usize>>,
    names: String,
    /// Share of the message's words (`w:` features) the vocabulary holds.
    known_share: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LanguageModel {
    vocabulary: Vocabulary,
    model: SoftmaxModel,
    /// The classes this language's model knows (indices into the labels), in model order.
    classes: Vec<usize>,
}

impl LanguageModel {
    fn train(examples: &Examples, lang: Language, settings: FitSettings) -> Option<Self> {
        let mut classes: Vec<usize> = examples.iter().map(|(_, c)| *c).collect();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() < 2 {
            return None;
        }
        let vocabulary = Vocabulary::build(examples.iter().map(|(t, _)| t.as_str()), lang);
        let rows: Vec<SparseRow> = examples
            .iter()
            .map(|(t, _)| vocabulary.encode(t, lang).row)
            .collect();
        let labels: Vec<usize> = examples
            .iter()
            .map(|(_, c)| classes.binary_search(c).unwrap_or(0))
            .collect();
        let model = SoftmaxModel::fit(&rows, &labels, classes.len(), vocabulary.columns.len(), settings);
        Some(LanguageModel {
            vocabulary,
            model,
            classes,
        })
    }
}

impl LanguageModel {
    fn predict(&self, text: &str, lang: Language) -> IntentPrediction {
        let encoded = self.vocabulary.encode(text, lang);
        let probs = self.model.probabilities(&encoded.row);
        let mut ranked: Vec<(usize, f32)> = self.classes.iter().copied().zip(probs).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top_class = self
            .classes
            .iter()
            .position(|&c| Some(c) == ranked.first().map(|r| r.0));
        let mut deciding: Vec<(usize, f32)> = match top_class {
            Some(tc) => encoded
                .row
                .iter()
                .enumerate()
                .map(|(i, &(column, value))| (i, value * self.model.weight(tc, column)))
                .filter(|(_, contribution)| *contribution > 0.0)
                .collect(),
            None => Vec::new(),
        };
        deciding.sort_by(|a, b| b.1.total_cmp(&a.1));
        deciding.truncate(6);
        let deciding = deciding
            .into_iter()
            .map(|(i, contribution)| (encoded.names[encoded.spans[i].clone()].to_string(), contribution))
            .collect();
        let known_share = encoded.known_share;
        IntentPrediction {
            ranked,
            deciding_features: deciding,
            known_share,
        }
    }
}

/// The follow-up model's class for everything that is not a follow-up.
const OTHER: usize = usize::MAX;

/// What the classifier thinks a message is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IntentPrediction {
    /// Classes by probability, best first: `(label index, probability)`.
    pub ranked: Vec<(usize, f32)>,
    /// The features that raised the best class most, with their contribution.
    pub deciding_features: Vec<(String, f32)>,
    /// Share of the message's words that occur in the training examples.
    pub known_share: f32,
}

impl IntentPrediction {
    /// The best class and its probability.
    pub fn top(&self) -> Option<(usize, f32)> {
        self.ranked.first().copied()
    }

    /// The summed probability of the classes `pick` selects.
    pub fn mass(&self, pick: impl Fn(usize) -> bool) -> f32 {
        self.ranked.iter().filter(|(l, _)| pick(*l)).map(|(_, p)| p).sum()
    }
}

/// Bumped whenever the features or the model's code change, so a stored model of another version
/// is never read back (the fit settings are part of the fingerprint by themselves).
const MODEL_VERSION: u32 = 7;

/// A message with every kind of feature (words, pairs, character n-grams, umlauts, shapes,
/// punctuation), for the fingerprint.
const FEATURE_PROBE: &str =
    "Grüße! Wir kündigen: Rechnung INV-2093, 1.234,56 €, Fehler 0x80070005, a@b.de? Thanks, 12345 users";

/// The learnt intents of all plugins: one model per language.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IntentClassifier {
    /// Classes (plugin intents with examples).
    pub labels: Vec<IntentLabel>,
    /// Every class but follow-ups.
    models: PerLanguage<Option<LanguageModel>>,
    /// Follow-ups on a ticket against everything else ([`OTHER`]): asked only when the customer
    /// has a ticket, so that "how long will that take?" never costs an information question
    /// without one its probability (a follow-up class in the main model did: "how long can a
    /// GDAP relationship last?" lost to it).
    follow_ups: PerLanguage<Option<LanguageModel>>,
    /// Training examples per language (kept for cross-validation in `check`).
    #[serde(skip)]
    examples: PerLanguage<Examples>,
}

impl IntentClassifier {
    /// Trains one model per language from labelled examples.
    pub fn train(labels: Vec<IntentLabel>, examples: PerLanguage<Examples>) -> Self {
        let settings = FitSettings::default();
        let follow_up = |class: usize| {
            labels
                .get(class)
                .is_some_and(|l| l.action == IntentAction::FollowUp)
        };
        let split = |examples: &Examples| -> (Examples, Examples) {
            let main = examples.iter().filter(|(_, c)| !follow_up(*c)).cloned().collect();
            let follow_ups = examples
                .iter()
                .map(|(t, c)| (t.clone(), if follow_up(*c) { *c } else { OTHER }))
                .collect();
            (main, follow_ups)
        };
        let train = |examples: &Examples, lang: Language| {
            let (main, follow_ups) = split(examples);
            let follow_ups = follow_ups
                .iter()
                .any(|(_, c)| *c != OTHER)
                .then(|| LanguageModel::train(&follow_ups, lang, settings))
                .flatten();
            (LanguageModel::train(&main, lang, settings), follow_ups)
        };
        // The two languages' models are independent: one core each.
        let (de, en) = std::thread::scope(|scope| {
            let de = scope.spawn(|| train(&examples.de, Language::De));
            let en = train(&examples.en, Language::En);
            (de.join().unwrap_or((None, None)), en)
        });
        IntentClassifier {
            labels,
            models: PerLanguage { de: de.0, en: en.0 },
            follow_ups: PerLanguage { de: de.1, en: en.1 },
            examples,
        }
    }

    /// A fingerprint of what training would learn from: the labels, the examples and the
    /// model version. A stored model with the same fingerprint is the model training gives.
    pub fn fingerprint(labels: &[IntentLabel], examples: &PerLanguage<Examples>) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(&MODEL_VERSION.to_le_bytes());
        hasher.update(format!("{:?}", FitSettings::default()).as_bytes());
        // What the feature code makes of a probe message: a change to the features that
        // forgot MODEL_VERSION still gives another fingerprint, so a model whose columns mean
        // other features is never read back.
        for lang in Language::ALL {
            for name in features::features(FEATURE_PROBE, lang) {
                hasher.update(name.as_bytes());
                hasher.update(&feature_key(&name).to_le_bytes());
                hasher.update(b"\n");
            }
        }
        for label in labels {
            hasher.update(format!("{label:?}\n").as_bytes());
        }
        for lang in Language::ALL {
            for (text, class) in examples.get(lang) {
                hasher.update(format!("{}\t{class}\t{text}\n", lang.code()).as_bytes());
            }
        }
        hasher.finalize().to_hex().to_string()
    }

    /// The trained models as bytes (to store beside the index).
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// Models stored by [`IntentClassifier::to_bytes`], with the examples they were trained on;
    /// `None` if the bytes are not such models.
    pub fn from_bytes(
        bytes: &[u8],
        labels: Vec<IntentLabel>,
        examples: PerLanguage<Examples>,
    ) -> Option<Self> {
        let stored: IntentClassifier = postcard::from_bytes(bytes).ok()?;
        (stored.labels == labels).then_some(IntentClassifier {
            labels,
            models: stored.models,
            follow_ups: stored.follow_ups,
            examples,
        })
    }

    /// Whether any language has a model.
    pub fn is_trained(&self) -> bool {
        self.models.de.is_some() || self.models.en.is_some()
    }

    /// The distribution over intents for a message in `lang` (empty without a model), follow-ups
    /// on a ticket not among them.
    pub fn predict(&self, text: &str, lang: Language) -> IntentPrediction {
        self.models
            .get(lang)
            .as_ref()
            .map_or_else(IntentPrediction::default, |lm| lm.predict(text, lang))
    }

    /// The distribution for a customer who has a ticket: the follow-up model's probability that
    /// the message follows up on it, the other classes sharing the rest as [`Self::predict`]
    /// distributes them.
    pub fn predict_with_ticket(&self, text: &str, lang: Language) -> IntentPrediction {
        let mut prediction = self.predict(text, lang);
        let Some(follow_ups) = self.follow_ups.get(lang) else {
            return prediction;
        };
        let on_ticket = follow_ups.predict(text, lang);
        let other = on_ticket
            .ranked
            .iter()
            .find(|(c, _)| *c == OTHER)
            .map_or(1.0, |(_, p)| *p);
        for (_, p) in &mut prediction.ranked {
            *p *= other;
        }
        prediction
            .ranked
            .extend(on_ticket.ranked.iter().filter(|(c, _)| *c != OTHER));
        prediction.ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        // The follow-up model's features explain its top class; they are the trace's when that
        // class came out on top overall (OTHER never does: it is not in the ranking).
        if prediction.ranked.first().map(|t| t.0) == on_ticket.top().map(|t| t.0) {
            prediction.deciding_features = on_ticket.deciding_features;
        }
        prediction
    }

    /// Stratified k-fold cross-validation on the training examples of `lang`, with a fixed
    /// shuffle so that `check` prints the same figures every run.
    pub fn cross_validate(&self, lang: Language, folds: usize) -> Option<CrossValidation> {
        let examples = self.examples.get(lang);
        if examples.len() < folds * 2 {
            return None;
        }
        let mut order: Vec<usize> = (0..examples.len()).collect();
        let mut rng = fastrand::Rng::with_seed(7);
        rng.shuffle(&mut order);
        // Stratified: each class's examples are dealt round the folds in turn.
        order.sort_by_key(|&i| examples[i].1);
        let fold_of: Vec<usize> = {
            let mut f = vec![0; examples.len()];
            for (k, &i) in order.iter().enumerate() {
                f[i] = k % folds;
            }
            f
        };
        let mut confusion: HashMap<(usize, usize), usize> = HashMap::new();
        let mut correct = 0;
        for fold in 0..folds {
            let train: Examples = examples
                .iter()
                .enumerate()
                .filter(|(i, _)| fold_of[*i] != fold)
                .map(|(_, e)| e.clone())
                .collect();
            let mut fold_examples: PerLanguage<Examples> = PerLanguage::default();
            *fold_examples.get_mut(lang) = train;
            let classifier = IntentClassifier::train(self.labels.clone(), fold_examples);
            if classifier.models.get(lang).is_none() {
                continue;
            }
            for (i, (text, class)) in examples.iter().enumerate() {
                if fold_of[i] != fold {
                    continue;
                }
                // As with a ticket, where every class is possible (the harder case).
                let predicted = classifier
                    .predict_with_ticket(text, lang)
                    .top()
                    .map_or(usize::MAX, |t| t.0);
                if predicted == *class {
                    correct += 1;
                } else {
                    *confusion.entry((*class, predicted)).or_default() += 1;
                }
            }
        }
        let mut confused: Vec<((usize, usize), usize)> = confusion.into_iter().collect();
        confused.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Some(CrossValidation {
            examples: examples.len(),
            accuracy: correct as f32 / examples.len() as f32,
            confused,
        })
    }

    /// Number of training examples of each label in `lang`.
    pub fn example_counts(&self, lang: Language) -> Vec<usize> {
        let mut counts = vec![0; self.labels.len()];
        for (_, c) in self.examples.get(lang) {
            counts[*c] += 1;
        }
        counts
    }
}

/// Cross-validated accuracy of one language's model on its own examples.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValidation {
    /// Examples.
    pub examples: usize,
    /// Share predicted right when held out.
    pub accuracy: f32,
    /// `((expected, predicted), count)`, most confused first.
    pub confused: Vec<((usize, usize), usize)>,
}
