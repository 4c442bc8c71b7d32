//! `switchboard check`: validate guidance and plugins without starting anything.

use super::Env;
use std::process::ExitCode;
use switchboard_core::{load_plugins, load_support_model};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

pub fn run(env: &Env, _args: &CheckArgs) -> ExitCode {
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
    let (support, support_error) = load_support_model(&env.plugins);
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
            for gap in plugins.thesaurus_gaps(|lang, word| kb.knows_word(lang, word)) {
                println!("warning: {gap}");
            }
        }
        Err(e) => {
            errors += 1;
            println!("error: indexing the guidance to check the thesaurus against it: {e}");
        }
    }
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
