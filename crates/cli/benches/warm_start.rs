//! A warm start of the whole process: `switchboard ask` with the index and the intent models
//! current, against `switchboard --version` in the same run, at the Partner Center corpus and at
//! 20 copies of it (a generated corpus of 20x the files and sections). Issue 17 asks for a warm
//! `ask` within 3x the start of `--version` plus 10 ms, and for 20x the corpus to cost a warm
//! start no more than 2x.
//!
//! The three are run in turn, round after round, so drift of the shared machine moves them
//! alike; medians are reported. Needs ../shared/corpus; building the 20x index once takes about
//! half a minute.
//!
//! Run: `cargo bench -p switchboard --bench warm_start`

#[path = "../../../tests/support/files.rs"]
mod files;
use files::copy_dir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const ROUNDS: usize = 30;
const COPIES: usize = 20;
const QUESTION: &str = "how do I read my invoice";

fn run(args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    took
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    if !corpus.is_dir() {
        println!("skipped: ../shared/corpus is not here");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let large: PathBuf = work.path().join("corpus-20x");
    for copy in 0..COPIES {
        copy_dir(&corpus, &large.join(format!("copy-{copy:02}")));
    }
    let corpus = corpus.to_string_lossy().into_owned();
    let large = large.to_string_lossy().into_owned();
    let data_1x = work.path().join("data-1x").to_string_lossy().into_owned();
    let data_20x = work.path().join("data-20x").to_string_lossy().into_owned();
    let ask_1x = ["--data-dir", &data_1x, "--knowledge", &corpus, "ask", QUESTION];
    let ask_20x = ["--data-dir", &data_20x, "--knowledge", &large, "ask", QUESTION];
    // Cold: builds the indexes and trains the intents; then warm once more each.
    let cold_1x = run(&ask_1x);
    let cold_20x = run(&ask_20x);
    // Files written within two seconds before a check are not trusted to it (the racy-file
    // rule): until then every start reads a new index's checksums again.
    std::thread::sleep(Duration::from_millis(2_500));
    for _ in 0..2 {
        run(&ask_1x);
        run(&ask_20x);
    }
    let (mut version, mut warm_1x, mut warm_20x) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        version.push(run(&["--version"]));
        warm_1x.push(run(&ask_1x));
        warm_20x.push(run(&ask_20x));
    }
    let (version, warm_1x, warm_20x) = (median(version), median(warm_1x), median(warm_20x));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "first start (builds the index): 1x {:.0} ms, 20x {:.0} ms",
        ms(cold_1x),
        ms(cold_20x)
    );
    println!("median of {ROUNDS} rounds, run in turn:");
    println!("  switchboard --version        {:>7.1} ms", ms(version));
    println!("  warm ask, Partner Center     {:>7.1} ms", ms(warm_1x));
    println!("  warm ask, 20x the corpus     {:>7.1} ms", ms(warm_20x));
    println!(
        "warm ask / (3 x --version + 10 ms): {:.2} (issue 17: <= 1)",
        ms(warm_1x) / (3.0 * ms(version) + 10.0)
    );
    println!(
        "warm ask at 20x / at 1x:           {:.2} (issue 17: <= 2)",
        ms(warm_20x) / ms(warm_1x)
    );
}
