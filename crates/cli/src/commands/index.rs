//! `switchboard index`: ingest guidance and build the index, with a summary.

use super::Env;
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct IndexArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Print every warning, not only the first few.
    #[arg(long)]
    verbose: bool,
}

const WARNINGS_SHOWN: usize = 20;

pub fn run(env: &Env, args: &IndexArgs) -> Result<ExitCode> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading guidance {pos}/{len} {wide_bar} {eta}",
            )
            .expect("valid template"),
        );
        bar
    });
    env.require_knowledge_roots()?;
    let (_, report) = env
        .store()
        .build(&env.knowledge, |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            }
        })
        .context("building the index")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let roots: Vec<String> = env.knowledge.iter().map(|p| p.display().to_string()).collect();
    println!(
        "Indexed {} in {:.2}s -> {}",
        roots.join(", "),
        report.elapsed.as_secs_f64(),
        report.index_dir.display()
    );
    println!("  files:     {}", report.files);
    println!("  documents: {}", report.stats.documents);
    println!("  sections:  {}", report.stats.sections);
    for (lang, n) in &report.stats.sections_by_language {
        println!("    {lang}: {n} sections");
    }
    println!(
        "  German compound dictionary: {} words",
        report.stats.compound_words
    );
    println!("  skipped:   {} files", report.skipped.len());
    for s in &report.skipped {
        println!("    {}: {}", s.path.display(), s.reason);
    }
    println!("  warnings:  {}", report.warnings.len());
    let shown = if args.verbose {
        report.warnings.len()
    } else {
        WARNINGS_SHOWN
    };
    for w in report.warnings.iter().take(shown) {
        println!("    {w}");
    }
    if report.warnings.len() > shown {
        println!(
            "    ... {} more (--verbose shows all)",
            report.warnings.len() - shown
        );
    }
    Ok(ExitCode::SUCCESS)
}
