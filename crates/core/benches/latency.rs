//! Latency benchmark on ../shared/corpus and ../shared/corpus-products: index build time,
//! index size, peak memory, and p50/p99 latency over chat-style questions (those of
//! ../shared/eval/dev.toml) for the paths below, interleaved per question, all in this process on
//! the same index:
//! a plain tantivy `QueryParser` search (the baseline), Switchboard's search, and the whole
//! `ask` pipeline (language, plugins, entities, search, confidence, reply).
//!
//! Run: `cargo bench -p switchboard-core --bench latency`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use switchboard_core::{
    load_plugins, load_support_model, ConversationContext, Message, Router, RouterConfig,
};
use switchboard_knowledge::{IndexStore, KnowledgeBase, Language, SearchRequest};

const ROUNDS: usize = 5;

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    dir.join("corpus").is_dir().then_some(dir)
}

fn questions(shared: &Path) -> Vec<(String, Option<Language>)> {
    let text = std::fs::read_to_string(shared.join("eval/dev.toml")).expect("dev.toml");
    let value: toml::Table = toml::from_str(&text).expect("valid TOML");
    value["case"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let q = c["question"].as_str().unwrap_or("").to_string();
            let lang = c
                .get("lang")
                .and_then(|l| l.as_str())
                .and_then(|l| l.parse().ok());
            (q, lang)
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let m = e.metadata().unwrap();
                if m.is_dir() {
                    dir_size(&e.path())
                } else {
                    m.len()
                }
            })
            .sum()
    })
}

/// One path of the benchmark: its label and what it runs for a question.
type Timed<'a> = (&'static str, Box<dyn FnMut(&str, Option<Language>) + 'a>);

/// Times every path on every question, the paths interleaved per question (so drift of a shared
/// machine moves them alike and their ratios hold), and prints each path's p50 and p99.
fn measure_interleaved(
    qs: &[(String, Option<Language>)],
    paths: &mut [Timed<'_>],
) -> Vec<(Duration, Duration)> {
    for (q, lang) in qs {
        for (_, run) in paths.iter_mut() {
            run(q, *lang); // warm-up
        }
    }
    let mut times = vec![Vec::with_capacity(qs.len() * ROUNDS); paths.len()];
    // Per path and question, the fastest of the rounds: which questions make the tail.
    let mut per_question = vec![vec![Duration::MAX; qs.len()]; paths.len()];
    for _ in 0..ROUNDS {
        for (i, (q, lang)) in qs.iter().enumerate() {
            for (((_, run), t), fastest) in paths
                .iter_mut()
                .zip(times.iter_mut())
                .zip(per_question.iter_mut())
            {
                let start = Instant::now();
                run(q, *lang);
                let took = start.elapsed();
                t.push(took);
                fastest[i] = fastest[i].min(took);
            }
        }
    }
    if let Some(last) = per_question.last() {
        let mut slowest: Vec<usize> = (0..qs.len()).collect();
        slowest.sort_by_key(|&i| std::cmp::Reverse(last[i]));
        println!("slowest questions on the last path (fastest of {ROUNDS} rounds):");
        for &i in slowest.iter().take(5) {
            let q: String = qs[i].0.chars().take(70).collect();
            println!(
                "  {:>7.1} µs  {} chars  {q}",
                last[i].as_secs_f64() * 1e6,
                qs[i].0.len()
            );
        }
    }
    paths
        .iter()
        .zip(times.iter_mut())
        .map(|((label, _), t)| {
            t.sort();
            let (p50, p99) = (percentile(t, 0.5), percentile(t, 0.99));
            println!(
                "{label:<44} p50 {:>8.1} µs   p99 {:>8.1} µs   ({} searches)",
                p50.as_secs_f64() * 1e6,
                p99.as_secs_f64() * 1e6,
                t.len()
            );
            (p50, p99)
        })
        .collect()
}

fn main() {
    // `cargo test --benches` passes --bench-less args; only run when asked to bench.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Some(shared) = shared() else {
        println!("skipped: ../shared/corpus not found beside the repository");
        return;
    };
    let roots = vec![shared.join("corpus"), shared.join("corpus-products")];
    let data = tempfile::tempdir().expect("temp dir");
    let store = IndexStore::new(data.path());
    let start = Instant::now();
    let (kb, report) = store.build(&roots, |_, _| {}).expect("index builds");
    let build = start.elapsed();
    let size = dir_size(&report.index_dir);
    println!(
        "corpus: {} files, {} sections ({:?})",
        report.files, report.stats.sections, report.stats.sections_by_language
    );
    println!(
        "index build (ingest + index + merge): {:.2} s",
        build.as_secs_f64()
    );
    println!("index size on disk: {:.1} MB", size as f64 / 1_048_576.0);
    println!("peak memory after build (VmHWM): {:.0} MB", peak_rss_mb());
    let qs = questions(&shared);
    let kb: &KnowledgeBase = &kb;
    let plugins_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    let (support, _) = load_support_model(&plugins_dir);
    let plugins = load_plugins(&plugins_dir, &support);
    let (routed_kb, _) = store.open_or_build(&roots).expect("index opens");
    let router = Router::new(routed_kb, plugins, support, RouterConfig::default());
    let now = jiff::Timestamp::now();
    let mut paths: Vec<Timed<'_>> = vec![
        (
            "baseline: tantivy QueryParser",
            Box::new(|q, lang| {
                std::hint::black_box(kb.baseline_search(q, lang, 10).expect("search"));
            }),
        ),
        (
            "switchboard search, no snippets",
            Box::new(|q, lang| {
                let mut r = SearchRequest::new(q, 10);
                r.language = lang;
                r.snippets = false;
                std::hint::black_box(kb.search(&r).expect("search"));
            }),
        ),
        (
            "switchboard search, top 3 with snippets",
            Box::new(|q, lang| {
                let mut r = SearchRequest::new(q, 3);
                r.language = lang;
                std::hint::black_box(kb.search(&r).expect("search"));
            }),
        ),
        (
            "ask: the whole routing pipeline",
            Box::new(|q, lang| {
                let mut m = Message::text(q);
                m.language_hint = lang;
                std::hint::black_box(
                    router
                        .decide(&m, &mut ConversationContext::default(), now)
                        .expect("decides"),
                );
            }),
        ),
    ];
    let figures = measure_interleaved(&qs, &mut paths);
    let [(base50, base99), (ours50, ours99), (snip50, snip99), (ask50, ask99)] = figures[..] else {
        unreachable!("four paths");
    };
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "search vs baseline (no snippets): p50 {:.2}x  p99 {:.2}x",
        ratio(ours50, base50),
        ratio(ours99, base99)
    );
    println!(
        "search vs baseline (snippets):    p50 {:.2}x  p99 {:.2}x",
        ratio(snip50, base50),
        ratio(snip99, base99)
    );
    println!(
        "ask vs switchboard search:        p50 {:.2}x  p99 {:.2}x",
        ratio(ask50, ours50),
        ratio(ask99, ours99)
    );
    println!("peak memory at end (VmHWM): {:.0} MB", peak_rss_mb());
}
