//! `switchboard serve`: runs the Discord adapter when DISCORD_TOKEN is set.

use super::{bundled_dir, Env};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use switchboard_core::desk::Desk;
use switchboard_core::RouterConfig;
use switchboard_discord::{build_client, check_login, run_until, Bot, DiscordConfig};
use switchboard_knowledge::stat_signature;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The Discord configuration (channels, staff roles, shards). Default: the bundled discord.toml.
    #[arg(long, env = "SWITCHBOARD_DISCORD_CONFIG")]
    discord_config: Option<PathBuf>,
    /// Hours after resolution in which a new message reopens the ticket (0 to 87,600: ten years).
    #[arg(long, default_value_t = 72, value_parser = clap::value_parser!(i64).range(0..=87_600))]
    reopen_hours: i64,
}

/// How often the guidance, plugins and support model are checked for changes (one `stat` of
/// each file; nothing is read unless something changed).
const RELOAD_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Watches what the router is built from and puts a new router in place when it changes; a
/// change with errors (a broken guidance file, a plugin that does not load) is refused and
/// reported, and the last good guidance and plugins stay.
fn reload_on_change(env: &Env, desk: &Desk) {
    let sources = env.sources();
    let mut seen = stat_signature(&sources);
    loop {
        std::thread::sleep(RELOAD_POLL);
        let now = stat_signature(&sources);
        if now == seen {
            continue;
        }
        seen = now;
        match env.router_for_reload(RouterConfig::default()) {
            Ok((router, errors)) if errors.is_empty() => {
                desk.replace_router(router);
                eprintln!("switchboard: guidance and plugins reloaded");
            }
            Ok((_, errors)) => {
                eprintln!(
                    "switchboard: reload refused, the last good guidance and plugins stay in use; fix: {}",
                    errors.join("; ")
                );
            }
            Err(e) => {
                eprintln!(
                    "switchboard: reload failed, the last good guidance and plugins stay in use: {e:#}"
                );
            }
        }
    }
}

/// How long handlers in flight may finish after SIGTERM or SIGINT.
const STOP_DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// Completes on SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                eprintln!("switchboard: cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = terminate => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

pub fn run(env: &Env, args: &ServeArgs) -> Result<ExitCode> {
    // The token comes from the environment only, and is never printed or logged.
    let Ok(token) = std::env::var("DISCORD_TOKEN") else {
        bail!("DISCORD_TOKEN is not set: `serve` runs the Discord adapter, which needs the bot token in the environment");
    };
    if token.trim().is_empty() {
        bail!("DISCORD_TOKEN is empty");
    }
    // For deployments behind a Discord HTTP proxy (and for testing against a fake Discord).
    let api_base = std::env::var("DISCORD_API_BASE")
        .ok()
        .filter(|b| !b.trim().is_empty());
    let path = args
        .discord_config
        .clone()
        .unwrap_or_else(|| bundled_dir("discord.toml"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let desk = Arc::new(env.desk(args.reopen_hours)?);
    let queues = desk
        .router()
        .support()
        .queue_ids()
        .iter()
        .map(|q| (*q).to_string())
        .collect::<Vec<_>>();
    let queue_refs: Vec<&str> = queues.iter().map(String::as_str).collect();
    let config =
        DiscordConfig::from_toml(&text, &queue_refs).with_context(|| format!("in {}", path.display()))?;
    // The websocket and HTTP crates log whole frames and requests at trace level, the gateway's
    // IDENTIFY (with the token) among them: they are capped at info whatever RUST_LOG says.
    let mut filter = tracing_subscriber::EnvFilter::from_default_env();
    for crate_name in [
        "tungstenite",
        "tokio_tungstenite",
        "hyper",
        "hyper_util",
        "reqwest",
        "h2",
        "rustls",
    ] {
        if let Ok(directive) = format!("{crate_name}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let shards = config.shards;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        // A bad token or an unreachable API is an error now, not a silent retry loop.
        let name = check_login(&token, api_base.as_deref()).await?;
        {
            let (env, desk) = (env.clone(), Arc::clone(&desk));
            std::thread::spawn(move || reload_on_change(&env, &desk));
        }
        let bot = Bot::new(desk, config);
        let handle = bot.handle();
        let mut client = build_client(bot, &token, api_base.as_deref())
            .await
            .context("starting the Discord client")?;
        eprintln!(
            "switchboard: Discord adapter running as {name}{}",
            api_base
                .as_ref()
                .map(|b| format!(" against {b}"))
                .unwrap_or_default()
        );
        run_until(&mut client, shards, &handle, stop_signal(), STOP_DRAIN)
            .await
            .context("Discord connection")?;
        eprintln!("switchboard: stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
