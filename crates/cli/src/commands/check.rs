//! `switchboard check`: validate guidance and plugins without starting anything.

use super::Env;
use std::process::ExitCode;
use switchboard_core::intents::{IntentClassifier, CV_FOLDS};
use switchboard_core::load_plugins;
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;
use switchboard_knowledge::Language;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// List each plugin's thesaurus words that the checked guidance does not use.
    #[arg(long)]
    verbose: bool,
}

pub fn run(env: &Env, args: &CheckArgs) -> ExitCode {
    let mut errors = 0usize;
    let ingested = ingest_roots(&env.knowledge);
    for s in &ingested.skipped {
        if s.is_error {
            errors += 1;
            println!("error: {}: {}", s.path.display(), s.reason);
        }
    }
    for w in &ingested.warnings {
        if w.is_error {
            errors += 1;
            println!("error: {w}");
        } else {
            println!("warning: {w}");
        }
    }
    for broken in switchboard_knowledge::links::broken_links(&ingested.sections) {
        println!("warning: {broken}");
    }
    println!(
        "knowledge: {} files, {} sections",
        ingested.files,
        ingested.sections.len()
    );
    let (support, support_error) = env.support_model();
    if let Some(e) = support_error {
        errors += 1;
        println!("error: {e}");
    }
    let plugins = load_plugins(&env.plugins, &support);
    for e in &plugins.errors {
        errors += 1;
        println!("error: {e}");
    }
    // Checked against this knowledge only: an index in memory, nothing written.
    match KnowledgeBase::build_in_ram(&ingested.sections) {
        Ok(kb) => {
            // A thesaurus word this guidance does not use is no fault of the plugin: the entry
            // serves knowledge roots that use it (the bundled plugins also serve the Partner
            // Center corpus). Counted in one note; listed on request.
            let gaps = plugins.thesaurus_gaps(|lang, word| kb.knows_word(lang, word));
            if args.verbose {
                for gap in &gaps {
                    println!("note: {gap}");
                }
            } else if !gaps.is_empty() {
                println!(
                    "note: {} plugin thesaurus list(s) name words this guidance does not use; they act only with knowledge that uses them (`check --verbose` lists them)",
                    gaps.len()
                );
            }
            // What the guidance taught the search: shown, so an admin sees why `gdap` finds
            // sections that say "granular delegated admin privileges".
            let abbreviations = kb.abbreviations().entries();
            if args.verbose {
                for (lang, short, long) in &abbreviations {
                    println!("abbreviation ({}): {short} = {long}", lang.code());
                }
            } else if !abbreviations.is_empty() {
                println!(
                    "abbreviations: {} defined by the guidance, searched with their long forms (`check --verbose` lists them)",
                    abbreviations.len()
                );
            }
        }
        Err(e) => {
            errors += 1;
            println!("error: indexing the guidance to check the thesaurus against it: {e}");
        }
    }
    report_learnt_intents(&plugins.classifier);
    let names: Vec<&str> = plugins.plugins.iter().map(|p| p.manifest.name.as_str()).collect();
    println!(
        "plugins: {} loaded ({}); queues: {}",
        names.len(),
        names.join(", "),
        support.queue_ids().join(", ")
    );
    if errors > 0 {
        println!("{errors} error(s)");
        return ExitCode::from(1);
    }
    println!("ok");
    ExitCode::SUCCESS
}

/// What the classifier learnt, per language: accuracy on held-out examples (k-fold), each
/// intent's recall, and the pairs of intents it confuses, as `rasa test nlu` reports them.
fn report_learnt_intents(classifier: &IntentClassifier) {
    for lang in Language::ALL {
        let Some(cv) = classifier.cross_validate(lang, CV_FOLDS) else {
            continue;
        };
        println!(
            "intents ({}): {} examples, {} intents, {CV_FOLDS}-fold cross-validated accuracy {:.3}",
            lang.code(),
            cv.examples,
            classifier.example_counts(lang).iter().filter(|n| **n > 0).count(),
            cv.accuracy
        );
        let counts = classifier.example_counts(lang);
        for (label, intent) in classifier.labels.iter().enumerate() {
            if counts[label] == 0 {
                continue;
            }
            let missed: usize = cv
                .confused
                .iter()
                .filter(|((e, _), _)| *e == label)
                .map(|(_, n)| n)
                .sum();
            println!(
                "  {}/{}: {} examples, recall {:.2}",
                intent.plugin,
                intent.intent,
                counts[label],
                1.0 - missed as f32 / counts[label] as f32
            );
        }
        let name = |l: usize| classifier.labels.get(l).map_or("?", |i| i.intent.as_str());
        let pairs: Vec<String> = cv
            .confused
            .iter()
            .take(5)
            .map(|((e, p), n)| format!("{} -> {} ({n})", name(*e), name(*p)))
            .collect();
        if !pairs.is_empty() {
            println!("  most confused: {}", pairs.join(", "));
        }
    }
}
