//! The shipped binary's `switchboard serve` against the fake Discord: DISCORD_API_BASE points
//! it at the fake, the token comes only from the environment and is never printed, not even at
//! `RUST_LOG=trace` (where the websocket crate would print the IDENTIFY frame). It checks the
//! token and the API before it claims to run, stops cleanly on SIGTERM, reloads guidance
//! without a restart and reports a lost gateway connection.

#[path = "support/fake_discord.rs"]
mod fake_discord;

use fake_discord::{ask_in_dm, start_fake, GatewayCommand, CONFIG};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "very-secret-test-token";

/// The binary set up to serve against the API at `api_base`, with the token in the
/// environment and data in `data`; the caller adds flags, [`serve_args`] and pipes.
fn serve_command(data: &std::path::Path, api_base: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .arg("--data-dir")
        .arg(data)
        .env("DISCORD_TOKEN", TOKEN)
        .env("DISCORD_API_BASE", api_base)
        .env_remove("RUST_LOG")
        .env_remove("SWITCHBOARD_KNOWLEDGE")
        .env_remove("SWITCHBOARD_PLUGINS")
        .env_remove("SWITCHBOARD_DATABASE_URL");
    command
}

/// Everything `pipe` yields, read on a thread of its own so the server never blocks on a full
/// pipe; joined once the process has ended.
fn read_in_background(pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut pipe = pipe;
        let mut out = Vec::new();
        let _ = pipe.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
}

/// Sends SIGTERM and waits (up to 25 s) for the process to end.
async fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(25);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The arguments that start `serve` on `config`.
fn serve_args(config: &std::path::Path) -> [&str; 3] {
    ["serve", "--discord-config", config.to_str().unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_discord_against_the_fake() {
    let (fake, gateway) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("discord.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = serve_command(&dir.path().join("data"), &fake.base)
        .args(serve_args(&config))
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while it runs: at trace level the logs would fill the pipe and block the server.
    let stdout = read_in_background(child.stdout.take().unwrap());
    let stderr = read_in_background(child.stderr.take().unwrap());
    fake.wait_gateway("identify").await;
    let (_, answer) = ask_in_dm(
        &fake,
        &gateway,
        10,
        "Innerhalb welcher Frist kann ich ein Abonnement kündigen?",
    )
    .await;
    assert!(
        answer.body.to_string().contains("de-de/kuendigung.md#window"),
        "{}",
        answer.body
    );
    let labels = answer.body["components"][0]["components"].to_string();
    assert!(
        labels.contains("Mit einem Menschen sprechen"),
        "German labels: {labels}"
    );
    // SIGTERM: the gateway is closed with 1000 and the process exits 0.
    let status = terminate(&mut child).await;
    let printed = format!("{}{}", stdout.join().unwrap(), stderr.join().unwrap());
    assert!(status.success(), "exit after SIGTERM: {status:?}\n{printed}");
    assert!(
        fake.gateway_log().iter().any(|l| l == "close:1000"),
        "{:?}",
        fake.gateway_log()
    );
    assert!(printed.contains("Discord adapter running"), "{printed}");
    assert!(
        !printed.contains(TOKEN),
        "the token never appears in output or logs"
    );
    assert!(
        fake.unknown.lock().unwrap().is_empty(),
        "unknown routes: {:?}",
        fake.unknown.lock().unwrap()
    );
}

/// `serve` against `api_base` until it exits: what it printed and how it ended.
fn serve_once(api_base: &str, data: &std::path::Path) -> Output {
    let config = data.join("discord.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = serve_command(&data.join("data"), api_base)
        .args(serve_args(&config))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(40);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("serve kept running against {api_base}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_or_api_stops_serve_with_a_clear_error() {
    let (fake, _gateway) = start_fake().await;
    fake.fail("GET", "/users/@me", 401, 1000);
    let dir = tempfile::tempdir().unwrap();
    let base = fake.base.clone();
    let unreachable = {
        // A port nothing listens on: bound, then released.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for (api_base, expected) in [
        (base.as_str(), "rejected the bot token"),
        (unreachable.as_str(), "cannot reach the Discord API"),
        ("not-a-url", "not an http:// or https:// URL"),
    ] {
        let path = dir.path().join(expected.replace(' ', "-"));
        std::fs::create_dir_all(&path).unwrap();
        let api_base = api_base.to_string();
        let out = tokio::task::spawn_blocking(move || serve_once(&api_base, &path))
            .await
            .unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "{expected}: {printed}");
        assert!(printed.contains(expected), "{expected}: {printed}");
        assert!(!printed.contains("adapter running"), "{printed}");
        assert!(!printed.contains(TOKEN), "{printed}");
    }
}

/// Copies a folder tree.
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in walk(from) {
        let target = to.join(entry.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &target).unwrap();
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

const NEW_GUIDANCE: &str = "---\ntitle: The zorblax surcharge\ndescription: What the zorblax surcharge is and when it applies.\nproducts: [azure]\n---\n# The zorblax surcharge\n\n## <a name=\"when\"></a>When the zorblax surcharge applies\n\nThe zorblax surcharge of 2 % applies to invoices paid after the due date by bank transfer from outside the euro area.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_guidance_is_answered_without_a_restart_and_a_broken_file_keeps_the_last_good() {
    let (fake, gateway) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let knowledge = dir.path().join("knowledge");
    let plugins = dir.path().join("plugins");
    copy_tree(&repo.join("knowledge"), &knowledge);
    copy_tree(&repo.join("plugins"), &plugins);
    let config = dir.path().join("discord.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = serve_command(&dir.path().join("data"), &fake.base)
        .arg("--knowledge")
        .arg(&knowledge)
        .arg("--plugins")
        .arg(&plugins)
        .args(serve_args(&config))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = read_in_background(child.stderr.take().unwrap());
    fake.wait_gateway("identify").await;
    let question = "when does the zorblax surcharge apply?";
    let mut id = 100;
    let mut ask = |text: &str| {
        id += 1;
        let (gateway, fake, text) = (gateway.clone(), fake.clone(), text.to_string());
        let id = id;
        async move { ask_in_dm(&fake, &gateway, id, &text).await.1.body.to_string() }
    };
    assert!(!ask(question).await.contains("zorblax.md"));
    std::fs::write(knowledge.join("en-us/zorblax.md"), NEW_GUIDANCE).unwrap();
    // Questions keep being answered while the new index is built; within seconds the answers
    // come from the new guidance.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = ask(question).await;
        if answer.contains("en-us/zorblax.md#when") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never answered from the new file: {answer}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A broken file: the reload is refused and the last good guidance still answers.
    std::fs::write(
        knowledge.join("en-us/broken.md"),
        "---\ntitle: [unclosed\n---\n# Broken\n\ntext\n",
    )
    .unwrap();
    tokio::time::sleep(RELOAD_WAIT).await;
    assert!(ask(question).await.contains("en-us/zorblax.md#when"));
    terminate(&mut child).await;
    let printed = stderr.join().unwrap();
    assert!(printed.contains("guidance and plugins reloaded"), "{printed}");
    assert!(
        printed.contains("reload refused") && printed.contains("broken.md"),
        "{printed}"
    );
}

/// Longer than the reload's poll and a rebuild of the bundled knowledge.
const RELOAD_WAIT: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_in_the_middle_of_a_handoff_lets_it_finish_before_exiting() {
    let (fake, gateway) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("discord.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = serve_command(&dir.path().join("data"), &fake.base)
        .args(serve_args(&config))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    fake.wait_gateway("identify").await;
    // Opening the staff thread takes 3 s; SIGTERM arrives while it is under way.
    fake.delay("POST", "/channels/501/threads", Duration::from_secs(3), 1);
    let (_, ack) = ask_in_dm(
        &fake,
        &gateway,
        150,
        "please call me back, I want to talk to a person",
    )
    .await;
    assert!(ack.body.to_string().contains("T-1"), "{}", ack.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = terminate(&mut child).await;
    assert!(status.success(), "{status:?}");
    // The handler in flight finished: staff got the ticket before the process ended.
    assert!(
        fake.requests().iter().any(|r| r.status == 200
            && r.body["content"]
                .as_str()
                .is_some_and(|c| c.contains("new ticket T-1"))),
        "{:#?}",
        fake.requests()
    );
    assert!(fake.gateway_log().iter().any(|l| l == "close:1000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_gateway_connection_is_reported_at_the_default_log_level() {
    let (fake, gateway) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("discord.toml");
    std::fs::write(
        &config,
        format!("report_disconnected_after_seconds = 1\n{CONFIG}"),
    )
    .unwrap();
    let mut child = serve_command(&dir.path().join("data"), &fake.base)
        .args(serve_args(&config))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = read_in_background(child.stderr.take().unwrap());
    fake.wait_gateway("identify").await;
    // Discord goes away for 4 s.
    fake.gateway_down(Duration::from_secs(4));
    gateway.send(GatewayCommand::Drop).unwrap();
    fake.wait_gateway("refused").await;
    // Back: the bot reconnects by itself and answers again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (_, answer) = ask_in_dm(
        &fake,
        &gateway,
        160,
        "what happens to our access if we do not pay an invoice?",
    )
    .await;
    assert!(answer.body.to_string().contains("billing-policy.md#nonpayment"));
    tokio::time::sleep(Duration::from_secs(2)).await;
    terminate(&mut child).await;
    let printed = stderr.join().unwrap();
    assert!(
        printed.contains("has not been connected to Discord for 1 s"),
        "{printed}"
    );
    assert!(printed.contains("connected to Discord again"), "{printed}");
}

/// Waits (up to 2 minutes) until the web server on `port` says it is ready; fails if the
/// process ends first. Blocking: the server is another process.
fn wait_until_ready(port: u16, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_mins(2);
    while !std::net::TcpStream::connect(("127.0.0.1", port))
        .is_ok_and(|_| http(port, "GET", "/readyz", "").starts_with("HTTP/1.1 200"))
    {
        assert!(Instant::now() < deadline, "the web server did not become ready");
        assert!(child.try_wait().unwrap().is_none(), "serve exited early");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One HTTP/1.1 request on a new connection (closed after the answer); the whole answer.
fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_server_answers_keeps_its_key_private_and_stops_on_sigterm_with_streams_open() {
    use std::io::{Read, Write};
    let data = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["serve", "--http", &format!("127.0.0.1:{port}")])
        .env_remove("DISCORD_TOKEN")
        .env_remove("SWITCHBOARD_WEB_SECRET")
        .env_remove("SWITCHBOARD_KNOWLEDGE")
        .env_remove("SWITCHBOARD_PLUGINS")
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = read_in_background(child.stderr.take().unwrap());
    wait_until_ready(port, &mut child);
    let started = http(port, "POST", "/api/v1/conversations", "{\"language\":\"en\"}");
    assert!(started.starts_with("HTTP/1.1 201"), "{started}");
    let token = started
        .split("\"token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let answer = http(
        port,
        "POST",
        &format!("/api/v1/conversations/{token}/messages"),
        "{\"text\":\"who sends us the invoice?\"}",
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join("web-secret"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the token key is its owner's alone");
    }

    // A live stream is open when SIGTERM comes: it is ended, and the server exits 0.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /api/v1/conversations/{token}/events HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));
    let sent = Instant::now();
    let status = terminate(&mut child).await;
    assert!(status.success(), "{status:?}");
    assert!(sent.elapsed() < Duration::from_secs(10), "{:?}", sent.elapsed());
    let log = stderr.join().unwrap();
    assert!(log.contains("switchboard: stopped"), "{log}");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}

/// Issue 17's live reload under load, through the web API: 1,000 questions from eight clients,
/// each in a conversation of its own, while a guidance file and a plugin with a new intent
/// (taught by examples alone) are added; none fails, and every question sent 2 s after the
/// change is answered from the new guidance or routed by the new intent. A broken file then
/// is refused and reported, and the last good guidance keeps answering.
#[test]
fn a_thousand_questions_during_a_reload_all_answered_and_switched_within_two_seconds() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    const QUESTIONS: usize = 1_000;
    const GUIDANCE_QUESTION: &str = "when does the zorblax surcharge apply?";
    const INTENT_QUESTION: &str = "could you book a teams training for our new colleagues?";
    let dir = tempfile::tempdir().unwrap();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (knowledge, plugins) = (dir.path().join("knowledge"), dir.path().join("plugins"));
    copy_tree(&repo.join("knowledge"), &knowledge);
    copy_tree(&repo.join("plugins"), &plugins);
    let config = dir.path().join("web.toml");
    std::fs::write(
        &config,
        "[limits]\nrequests_per_minute_per_client = 1000000\nmessages_per_minute_per_conversation = 1000\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--knowledge")
        .arg(&knowledge)
        .arg("--plugins")
        .arg(&plugins)
        .args(["serve", "--http", &format!("127.0.0.1:{port}"), "--web-config"])
        .arg(&config)
        .env_remove("DISCORD_TOKEN")
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = read_in_background(child.stderr.take().unwrap());
    wait_until_ready(port, &mut child);
    let ask = |question: &str| -> (bool, String) {
        let started = http(port, "POST", "/api/v1/conversations", "{\"language\":\"en\"}");
        let Some(token) = started
            .split("\"token\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            return (false, started);
        };
        let body = serde_json::json!({ "text": question }).to_string();
        let answer = http(
            port,
            "POST",
            &format!("/api/v1/conversations/{token}/messages"),
            &body,
        );
        (answer.starts_with("HTTP/1.1 200"), answer)
    };
    // Before: the bundled guidance has no such file, and no intent books trainings.
    assert!(!ask(GUIDANCE_QUESTION).1.contains("zorblax.md"));
    assert!(!ask(INTENT_QUESTION).1.contains("\"queue\":\"sales\""));

    let next = AtomicUsize::new(0);
    let changed_at: Mutex<Option<Instant>> = Mutex::new(None);
    // (sent, which question, answered, from the new guidance or intent)
    let results: Vec<(Instant, usize, bool, bool)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..8)
            .map(|_| {
                let (next, ask) = (&next, &ask);
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= QUESTIONS {
                            return mine;
                        }
                        // Paced, so the questions span the reload: about 8 s in all.
                        std::thread::sleep(Duration::from_millis(60));
                        let sent = Instant::now();
                        let (ok, answer) = ask(if n % 2 == 0 {
                            GUIDANCE_QUESTION
                        } else {
                            INTENT_QUESTION
                        });
                        let new = if n % 2 == 0 {
                            answer.contains("en-us/zorblax.md#when")
                        } else {
                            answer.contains("\"queue\":\"sales\"")
                        };
                        mine.push((sent, n % 2, ok, new));
                    }
                })
            })
            .collect();
        // A fifth of the way in: the new guidance and the new plugin arrive.
        while next.load(Ordering::Relaxed) < QUESTIONS / 5 {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::write(knowledge.join("en-us/zorblax.md"), NEW_GUIDANCE).unwrap();
        copy_tree(
            &repo.join("tests/fixtures/plugins/training"),
            &plugins.join("training"),
        );
        *changed_at.lock().unwrap() = Some(Instant::now());
        clients.into_iter().flat_map(|c| c.join().unwrap()).collect()
    });
    let changed = changed_at.into_inner().unwrap().unwrap();
    assert_eq!(results.len(), QUESTIONS);
    let mut problems = Vec::new();
    let failed = results.iter().filter(|r| !r.2).count();
    if failed > 0 {
        problems.push(format!("{failed} questions not answered during the reload"));
    }
    for kind in 0..2 {
        let name = ["guidance", "intent"][kind];
        let Some(first_new) = results.iter().filter(|r| r.1 == kind && r.3).map(|r| r.0).min() else {
            problems.push(format!("{name}: never answered the new way"));
            continue;
        };
        eprintln!(
            "{name}: answered the new way from {:?} after the change",
            first_new.saturating_duration_since(changed)
        );
        let late_old = results
            .iter()
            .filter(|r| r.1 == kind && !r.3 && r.0 >= changed + Duration::from_secs(2))
            .count();
        if late_old > 0 {
            problems.push(format!(
                "{name}: {late_old} questions answered the old way 2 s after the change"
            ));
        }
    }
    if !problems.is_empty() {
        // What the server said (its reload times, an unwatched folder) tells why.
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "{}\nthe server printed:\n{}",
            problems.join("\n"),
            stderr.join().unwrap()
        );
    }

    // A broken file: refused and reported, the last good guidance keeps answering.
    std::fs::write(
        knowledge.join("en-us/broken.md"),
        "---\ntitle: [unclosed\n---\n# Broken\n\ntext\n",
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(ask(GUIDANCE_QUESTION).1.contains("en-us/zorblax.md#when"));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let printed = stderr.join().unwrap();
    assert!(
        printed.contains("reload refused") && printed.contains("broken.md"),
        "{printed}"
    );
}
