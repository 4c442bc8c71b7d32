//! Load on the web API over loopback, against the in-process `ask` measured in the same run:
//! 200 concurrent conversations send questions for a fixed time while 1,000 live connections
//! (server-sent events) stay open; reports answers per second, p50/p99 latency per message, and
//! the ratio to the in-process capacity (2 cores / mean `ask` time).
//!
//! Questions: ../shared/eval/dev.toml over ../shared/corpus when present, else the bundled
//! knowledge and its fixture questions (tests/fixtures/eval/bundled.toml).
//!
//! Run: `cargo bench -p switchboard-web --bench http_load`

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_core::desk::Desk;
use switchboard_core::plugins::{load_plugins, load_support_model};
use switchboard_core::{ConversationContext, Message, Router, RouterConfig};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;
use switchboard_tickets::SqliteTicketStore;
use switchboard_web::{WebConfig, WebState};

const CONVERSATIONS: usize = 200;
/// Messages per conversation before its customer leaves and a new one starts: a chat is a few
/// questions, and a conversation of hundreds of messages (a ticket with a transcript of hundreds
/// of entries, read and written per message) is not what 200 customers at once look like.
const MESSAGES_PER_CONVERSATION: usize = 5;

/// Live connections held open (1,000; `HTTP_LOAD_LIVE` changes it, to see what they cost).
fn live_connections() -> usize {
    std::env::var("HTTP_LOAD_LIVE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}
const LOAD_SECONDS: u64 = 15;
const CORES: f64 = 2.0;

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

fn setup() -> (Vec<PathBuf>, Vec<String>, &'static str) {
    let shared = repo("../shared");
    let (roots, cases, source) = if shared.join("corpus").is_dir() {
        (
            vec![shared.join("corpus"), shared.join("corpus-products")],
            shared.join("eval/dev.toml"),
            "../shared/corpus with ../shared/eval/dev.toml",
        )
    } else {
        (
            vec![repo("knowledge")],
            repo("tests/fixtures/eval/bundled.toml"),
            "bundled knowledge with tests/fixtures/eval/bundled.toml",
        )
    };
    let text = std::fs::read_to_string(&cases).expect("case file");
    let table: toml::Table = toml::from_str(&text).expect("valid TOML");
    let questions = table["case"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["question"].as_str().map(str::to_string))
        .collect();
    (
        roots.into_iter().filter(|r| r.is_dir()).collect(),
        questions,
        source,
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

fn main() {
    let (roots, questions, source) = setup();
    let dir = tempfile::tempdir().unwrap();
    let kb = KnowledgeBase::build_in_ram(&ingest_roots(&roots).sections).unwrap();
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(&repo("plugins"), &support);
    let router = Router::new(kb, plugins, support, RouterConfig::default());

    // The baseline: the in-process pipeline over the same questions, one thread.
    let now = jiff::Timestamp::now();
    let route_all = || {
        for q in &questions {
            let _ = router.decide(
                &Message::text(q.as_str()),
                &mut ConversationContext::default(),
                now,
            );
        }
    };
    route_all();
    let rounds = 5;
    let started = Instant::now();
    for _ in 0..rounds {
        route_all();
    }
    let ask_mean = started.elapsed() / (rounds * questions.len()) as u32;
    let capacity = CORES / ask_mean.as_secs_f64();
    // The same work on two threads at once: what the two cores give together when both route
    // (shared caches, memory bandwidth, the allocator), the ceiling of any server on them.
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..rounds {
                    route_all();
                }
            });
        }
    });
    let two_threads = (2 * rounds * questions.len()) as f64 / started.elapsed().as_secs_f64();

    let store = Arc::new(SqliteTicketStore::open(&dir.path().join("tickets.sqlite3")).unwrap());
    let desk = Arc::new(Desk::new(router, store, 72));
    let config = WebConfig::from_toml(
        "[limits]\nrequests_per_minute_per_client = 100000000\nmessages_per_minute_per_conversation = 1000000\nmax_live_connections_per_client = 100000\n",
    )
    .unwrap();
    let state = WebState::new(desk, config, [5; 32]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (_stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(switchboard_web::serve(listener, state, async {
            let _ = stop_rx.await;
        }));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(2_000)
            .build()
            .unwrap();
        let start = |client: reqwest::Client, base: String| async move {
            let body = client
                .post(format!("{base}/api/v1/conversations"))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            value["token"].as_str().unwrap().to_string()
        };

        // 1,000 live connections, held open through the load.
        let mut live = Vec::new();
        for _ in 0..live_connections() {
            let token = start(client.clone(), base.clone()).await;
            let response = client
                .get(format!("{base}/api/v1/conversations/{token}/events"))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
            live.push(response);
        }

        let stop = Arc::new(AtomicBool::new(false));
        let questions = Arc::new(questions);
        let mut tasks = Vec::new();
        for n in 0..CONVERSATIONS {
            let (client, base, stop, questions) =
                (client.clone(), base.clone(), Arc::clone(&stop), Arc::clone(&questions));
            tasks.push(tokio::spawn(async move {
                let mut token = start(client.clone(), base.clone()).await;
                let mut latencies = Vec::new();
                let mut i = n;
                while !stop.load(Ordering::Relaxed) {
                    if latencies.len() % MESSAGES_PER_CONVERSATION == MESSAGES_PER_CONVERSATION - 1 {
                        token = start(client.clone(), base.clone()).await;
                    }
                    let q = &questions[i % questions.len()];
                    i += 7;
                    let body = serde_json::json!({ "text": q }).to_string();
                    let sent = Instant::now();
                    let response = client
                        .post(format!("{base}/api/v1/conversations/{token}/messages"))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let ok = response.status().is_success();
                    let _ = response.bytes().await;
                    assert!(ok, "a message failed");
                    latencies.push(sent.elapsed());
                }
                latencies
            }));
        }
        tokio::time::sleep(Duration::from_secs(LOAD_SECONDS)).await;
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.unwrap());
        }
        // Every live connection is still open: a chunk arrives or the wait times out, none ends.
        let mut open = 0;
        for response in &mut live {
            match tokio::time::timeout(Duration::from_millis(1), response.chunk()).await {
                Err(_) | Ok(Ok(Some(_))) => open += 1,
                Ok(_) => {}
            }
        }
        latencies.sort();
        let per_second = latencies.len() as f64 / LOAD_SECONDS as f64;
        println!("questions: {source} ({} questions)", questions.len());
        println!("in-process ask, mean:            {:>9.0} µs", ask_mean.as_secs_f64() * 1e6);
        println!("in-process capacity (2 cores):   {capacity:>9.0} answers/s");
        println!("in-process, two threads at once: {two_threads:>9.0} answers/s ({:.2}x capacity)", two_threads / capacity);
        println!(
            "HTTP, {CONVERSATIONS} at once, {MESSAGES_PER_CONVERSATION} messages each, {LOAD_SECONDS} s: {:>6.0} answers/s ({} messages)",
            per_second,
            latencies.len()
        );
        println!(
            "HTTP latency p50 / p99:          {:>9.1} / {:.1} ms",
            percentile(&latencies, 0.5).as_secs_f64() * 1e3,
            percentile(&latencies, 0.99).as_secs_f64() * 1e3
        );
        println!("live connections held open:      {open:>9} of {}", live_connections());
        println!("throughput / in-process capacity: {:>8.2}x", per_second / capacity);
    });
}
