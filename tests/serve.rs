//! The shipped binary's `switchboard serve` against the fake Discord: DISCORD_API_BASE points
//! it at the fake, the token comes only from the environment and is never printed, not even at
//! `RUST_LOG=trace` (where the websocket crate would print the IDENTIFY frame).

#[path = "support/fake_discord.rs"]
mod fake_discord;

use fake_discord::{ask_in_dm, start_fake, CONFIG};
use std::process::{Command, Stdio};

const TOKEN: &str = "very-secret-test-token";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_discord_against_the_fake() {
    let (fake, gateway) = start_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("discord.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["serve", "--discord-config", config.to_str().unwrap()])
        .env("DISCORD_TOKEN", TOKEN)
        .env("DISCORD_API_BASE", &fake.base)
        .env("RUST_LOG", "trace")
        .env_remove("SWITCHBOARD_KNOWLEDGE")
        .env_remove("SWITCHBOARD_PLUGINS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while it runs: at trace level the logs would fill the pipe and block the server.
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            String::from_utf8_lossy(&out).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
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
    child.kill().unwrap();
    child.wait().unwrap();
    let printed = format!("{}{}", stdout.join().unwrap(), stderr.join().unwrap());
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
