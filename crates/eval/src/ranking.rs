//! Fitting the learnt ranking on labelled questions, with cross-validated hit@1 and hit@3
//! beside the hand-set ranking's on the same questions.

use crate::folds::{splits, FOLDS, SHUFFLES};
use crate::{Case, Expect};
use serde::Serialize;
use switchboard_core::ranker::{RankInput, Ranker};
use switchboard_core::{Layers, Router, RouterConfig};
use switchboard_knowledge::{KnowledgeError, Language};

/// One question: its language and its retrieved sections (document, features, right or not).
type Question = (Language, Vec<(String, RankInput, bool)>);

/// Hit@1 and hit@3 of one language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct RankFigures {
    /// Answer questions with a right section among the retrieved ones.
    pub questions: usize,
    /// Questions whose first document is right.
    pub hit_at_1: f64,
    /// Questions with a right document among the first three.
    pub hit_at_3: f64,
}

/// The fit and how well it holds out of sample.
#[derive(Debug, Clone, Serialize)]
pub struct RankerFit {
    /// Fitted on all questions.
    pub ranker: Ranker,
    /// The L2 penalty chosen (by cross-validated hit@1).
    pub l2: f64,
    /// Per language: the hand-set ranking, and the learnt one cross-validated.
    pub figures: Vec<(Language, RankFigures, RankFigures)>,
}

/// Hit@1 and hit@3 of the documents in the order `score` puts their sections.
fn hits(sections: &[(String, RankInput, bool)], score: impl Fn(&RankInput) -> f32) -> (bool, bool) {
    let mut order: Vec<(f32, &str, bool)> = sections
        .iter()
        .map(|(doc, input, right)| (score(input), doc.as_str(), *right))
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut docs: Vec<(&str, bool)> = Vec::new();
    for (_, doc, right) in order {
        if !docs.iter().any(|(d, _)| *d == doc) {
            docs.push((doc, right));
        }
    }
    let first = docs.first().is_some_and(|(_, r)| *r);
    let three = docs.iter().take(3).any(|(_, r)| *r);
    (first, three)
}

fn figures<'a>(questions: impl Iterator<Item = (&'a Question, (bool, bool))>, lang: Language) -> RankFigures {
    let (mut n, mut one, mut three) = (0, 0, 0);
    for ((l, _), (first, top3)) in questions {
        if *l == lang {
            n += 1;
            one += usize::from(first);
            three += usize::from(top3);
        }
    }
    let share = |a: usize| if n == 0 { 0.0 } else { a as f64 / n as f64 };
    RankFigures {
        questions: n,
        hit_at_1: share(one),
        hit_at_3: share(three),
    }
}

fn training_rows(questions: &[&Question]) -> Vec<Vec<(RankInput, bool)>> {
    questions
        .iter()
        .map(|(_, sections)| sections.iter().map(|(_, i, r)| (*i, *r)).collect())
        .collect()
}

/// Cross-validated (first right, right in three) per question, one shuffle per `seed`.
fn cross_validated(questions: &[Question], extra: &[Question], l2: f64, seed: u64) -> Vec<(bool, bool)> {
    let mut out = vec![(false, false); questions.len()];
    for (training, held_out) in splits(questions.len(), FOLDS, seed) {
        let train: Vec<&Question> = training.iter().map(|&i| &questions[i]).chain(extra).collect();
        let ranker = Ranker::fit(&training_rows(&train), l2);
        for i in held_out {
            out[i] = hits(&questions[i].1, |x| ranker.score(x));
        }
    }
    out
}

/// Retrieves every answer case's sections (in search order, with what the ranker reads of them),
/// fits the ranker and cross-validates it. `pseudo` are extra training questions written by the
/// guidance itself (a section's heading asked as a question, its document the right answer):
/// they join every training fold and are never tested on. Questions with no right section
/// retrieved teach nothing and are left out of the figures of both rankings.
pub fn fit_ranker(
    router: &Router,
    cases: &[Case],
    pseudo: &[(Language, String, String)],
) -> Result<RankerFit, KnowledgeError> {
    let hand_set = router.with_config(RouterConfig {
        layers: Layers {
            ranker: false,
            ..router.config().layers
        },
        ..*router.config()
    });
    let mut questions: Vec<Question> = Vec::new();
    let mut hand_set_hits = Vec::new();
    for case in cases.iter().filter(|c| c.expect == Expect::Answer) {
        let sections: Vec<(String, RankInput, bool)> = hand_set
            .rank_candidates(&case.question, case.lang)?
            .into_iter()
            .map(|(doc, input)| {
                let right = case.docs.contains(&doc);
                (doc, input, right)
            })
            .collect();
        if sections.iter().any(|(_, _, r)| *r) {
            hand_set_hits.push(hits(&sections, RankInput::hand_set_score));
            questions.push((case.lang, sections));
        }
    }
    let mut extra: Vec<Question> = Vec::new();
    for (lang, query, doc) in pseudo {
        let sections: Vec<(String, RankInput, bool)> = hand_set
            .rank_candidates(query, *lang)?
            .into_iter()
            .map(|(d, input)| {
                let right = d == *doc;
                (d, input, right)
            })
            .collect();
        if sections.iter().any(|(_, _, r)| *r) && sections.iter().any(|(_, _, r)| !*r) {
            extra.push((*lang, sections));
        }
    }
    let mean_hit1 =
        |runs: &[Vec<(bool, bool)>]| runs.iter().flatten().filter(|(first, _)| *first).count() as f64;
    let (l2, runs) = [1e-3, 1e-2, 1e-1, 1.0]
        .into_iter()
        .map(|l2| {
            let runs: Vec<Vec<(bool, bool)>> = (0..SHUFFLES)
                .map(|seed| cross_validated(&questions, &extra, l2, seed))
                .collect();
            (l2, runs)
        })
        .max_by(|a, b| mean_hit1(&a.1).total_cmp(&mean_hit1(&b.1)))
        .expect("penalties to choose from");
    let mut out = Vec::new();
    for lang in Language::ALL {
        let before = figures(questions.iter().zip(hand_set_hits.iter().copied()), lang);
        let mut learnt = RankFigures::default();
        for run in &runs {
            let f = figures(questions.iter().zip(run.iter().copied()), lang);
            learnt.questions = f.questions;
            learnt.hit_at_1 += f.hit_at_1 / SHUFFLES as f64;
            learnt.hit_at_3 += f.hit_at_3 / SHUFFLES as f64;
        }
        out.push((lang, before, learnt));
    }
    let all: Vec<&Question> = questions.iter().chain(&extra).collect();
    Ok(RankerFit {
        ranker: Ranker::fit(&training_rows(&all), l2),
        l2,
        figures: out,
    })
}
