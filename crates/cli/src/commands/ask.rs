//! `switchboard ask`: the whole pipeline once, with an optional trace.

use super::Env;
use anyhow::Result;
use std::process::ExitCode;
use switchboard_core::language::say;
use switchboard_core::{ConversationContext, Decision, Message, RouterConfig};
use switchboard_knowledge::Language;

#[derive(Debug, clap::Args)]
pub struct AskArgs {
    /// The customer's question.
    question: String,
    /// The customer's language, if known (de or en).
    #[arg(long)]
    lang: Option<Language>,
    /// Print the decision trace.
    #[arg(long)]
    explain: bool,
    /// Print the decision (with its trace) as JSON.
    #[arg(long)]
    json: bool,
    /// Evaluate service hours at this instant (RFC 3339) instead of now.
    #[arg(long)]
    at: Option<jiff::Timestamp>,
}

pub fn run(env: &Env, args: &AskArgs) -> Result<ExitCode> {
    let (router, problems) = env.router(RouterConfig::default())?;
    for p in &problems {
        eprintln!("warning: plugin problem: {p}");
    }
    let mut message = Message::text(args.question.clone());
    message.language_hint = args.lang;
    let now = args.at.unwrap_or_else(jiff::Timestamp::now);
    let decision = router.decide(&message, &mut ConversationContext::default(), now)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&decision)?);
        return Ok(ExitCode::SUCCESS);
    }
    // A one-shot command cannot read an answer to "was this helpful?": it is not asked.
    println!("{}", decision.reply_without_feedback_question());
    if let Some(h) = &decision.handoff {
        // In the customer's language, like the reply above; the summary is written for staff.
        let words = h.labels(decision.language);
        let label = say(decision.language, "[Übergabe]", "[handoff]");
        println!();
        println!(
            "{label} {}: {} (`{}`, {})",
            words.team, h.queue_name, h.queue, words.state
        );
        println!(
            "{label} {}: {}; {}: {}",
            words.hours, h.hours, words.contact, h.contact
        );
        if let Some(p) = &h.price {
            println!("{label} {}: {p}", words.price);
        }
        println!("[handoff] summary for staff: {}", h.summary);
    }
    if args.explain {
        print_trace(&decision);
    }
    // The process ends here: taking the router apart (the index, ~100,000 learnt features)
    // would cost a one-shot `ask` about a tenth of its time for memory the exit frees anyway.
    std::mem::forget(router);
    Ok(ExitCode::SUCCESS)
}

/// The trace, as staff and admins read it.
pub fn print_trace(d: &Decision) {
    let t = &d.trace;
    println!();
    println!("--- trace ---");
    println!("outcome:     {:?}", d.outcome);
    println!("language:    {} (from {:?})", t.language, t.language_source);
    let learnt: Vec<String> = t
        .learnt_intents
        .iter()
        .take(3)
        .map(|(intent, p)| format!("{intent} {p:.2}"))
        .collect();
    if !learnt.is_empty() {
        println!("learnt:      {}", learnt.join(", "));
        let features: Vec<String> = t
            .deciding_features
            .iter()
            .map(|(f, w)| format!("{f} (+{w:.2})"))
            .collect();
        println!("deciding:    {}", features.join(", "));
    }
    if let Some(verdict) = &t.arbiter {
        let probs: Vec<String> = verdict.iter().map(|(v, p)| format!("{v} {p:.2}")).collect();
        println!("arbiter:     {}", probs.join(", "));
    }
    if t.fired.is_empty() {
        println!("intents:     none acted on");
    }
    for f in &t.fired {
        let queue = f.queue.as_deref().map(|q| format!(" -> {q}")).unwrap_or_default();
        println!(
            "intent:      {}/{} {:?}{queue} (priority {}) matched `{}`",
            f.plugin, f.intent, f.action, f.priority, f.matched
        );
    }
    println!("code plugins: {}", t.code_plugins.join(", "));
    if !t.entities.is_empty() {
        println!(
            "entities:    {}",
            serde_json::to_string(&t.entities).unwrap_or_default()
        );
    }
    for (from, to) in &t.expansions {
        println!("expansion:   `{from}` -> `{to}`");
    }
    println!("terms:       {}", t.terms.join(" "));
    for (i, h) in t.top.iter().take(5).enumerate() {
        println!(
            "top {}:       {} score {:.2} (raw {:.2})",
            i + 1,
            h.citation,
            h.score,
            h.raw_score
        );
    }
    let signals: Vec<String> = t.signals.iter().map(|(k, v)| format!("{k}={v:.2}")).collect();
    println!(
        "confidence:  {:.2} [{}]; suggest >= {:.2}",
        t.confidence,
        signals.join(", "),
        t.suggest_threshold
    );
    println!(
        "answer gate: p(top section right) {:.2}; answer >= {:.2}",
        t.answer_probability, t.answer_threshold
    );
    println!("reason:      {}", t.reason);
}
