//! `switchboard search`: ranked sections for a query.

use super::Env;
use anyhow::Result;
use serde::Serialize;
use std::io::IsTerminal;
use std::process::ExitCode;
use switchboard_knowledge::{Language, SearchHit, SearchRequest};

#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// What to search for.
    query: String,
    /// Search one language only (de or en).
    #[arg(long)]
    lang: Option<Language>,
    /// How many sections to show.
    #[arg(long, default_value_t = 5)]
    limit: usize,
    /// Print stable JSON (see README).
    #[arg(long)]
    json: bool,
}

/// The `--json` output: documented in the README; fields are only ever added.
#[derive(Serialize)]
struct SearchJson<'a> {
    query: &'a str,
    language: Option<Language>,
    results: &'a [SearchHit],
}

pub fn run(env: &Env, args: &SearchArgs) -> Result<ExitCode> {
    let kb = env.knowledge_base()?;
    let mut request = SearchRequest::new(&args.query, args.limit.min(100));
    request.language = args.lang;
    let outcome = kb.search(&request)?;
    if args.json {
        let out = SearchJson {
            query: &args.query,
            language: args.lang,
            results: &outcome.hits,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    if outcome.hits.is_empty() {
        println!("No matching guidance.");
    }
    let terminal = std::io::stdout().is_terminal();
    for (i, hit) in outcome.hits.iter().enumerate() {
        println!("{}. {}  (score {:.2})", i + 1, hit.citation, hit.score);
        println!("   {} > {}", hit.title, hit.heading);
        println!("   {}", highlighted(&hit.snippet, terminal));
    }
    Ok(ExitCode::SUCCESS)
}

/// A snippet's `**matched**` words in bold on a terminal, plain when piped.
fn highlighted(snippet: &str, terminal: bool) -> String {
    let mut out = String::with_capacity(snippet.len());
    for (i, part) in snippet.split("**").enumerate() {
        if i % 2 == 1 && terminal {
            out.push_str("\x1b[1m");
            out.push_str(part);
            out.push_str("\x1b[0m");
        } else {
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::highlighted;

    #[test]
    fn matched_words_are_bold_on_a_terminal_and_plain_otherwise() {
        let snippet = "we **refund** it on **request**";
        assert_eq!(highlighted(snippet, false), "we refund it on request");
        assert_eq!(
            highlighted(snippet, true),
            "we \x1b[1mrefund\x1b[0m it on \x1b[1mrequest\x1b[0m"
        );
    }
}
