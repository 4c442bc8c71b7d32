//! `switchboard serve`: the web adapter (`--http ADDR`) and the Discord adapter (when
//! DISCORD_TOKEN is set), in one process over one desk.

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
    /// Serve the web chat, the staff console and the JSON API on this address (such as
    /// 127.0.0.1:8080).
    #[arg(long, env = "SWITCHBOARD_HTTP")]
    http: Option<std::net::SocketAddr>,
    /// The web configuration (allowed origins, staff accounts, limits). Default: the bundled web.toml.
    #[arg(long, env = "SWITCHBOARD_WEB_CONFIG")]
    web_config: Option<PathBuf>,
    /// Print an argon2 hash of the password read from standard input (for `web.toml`), and exit.
    #[arg(long)]
    hash_password: bool,
}

/// How often the guidance, plugins and support model are checked for changes (one `stat` of
/// each file; nothing is read unless something changed) while the file system sends events for
/// all of them: a check that only catches what an event was lost for.
const RELOAD_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// The same where a source is not watched (no watcher, or one folder the watcher refused): the
/// poll is then all that finds a change, and a change must show within two seconds.
const RELOAD_POLL_UNWATCHED: std::time::Duration = std::time::Duration::from_millis(400);

/// How long after a file-system event more are awaited: saving in an editor or copying a plugin
/// folder is a burst of events, and one reload.
const RELOAD_SETTLE: std::time::Duration = std::time::Duration::from_millis(150);

/// Watches what the router is built from and puts a new router in place when it changes; a
/// change with errors (a broken guidance file, a plugin that does not load) is refused and
/// reported, and the last good guidance and plugins stay. File-system events (`notify`) start
/// the check at once; the poll remains for file systems that send none (network shares).
fn reload_on_change(env: &Env, desk: &Desk) {
    let sources = env.sources();
    let (changed, events) = std::sync::mpsc::channel();
    let watcher = watch(&sources, changed);
    let poll = if watcher.as_ref().is_some_and(|w| w.all_watched) {
        RELOAD_POLL
    } else {
        RELOAD_POLL_UNWATCHED
    };
    let mut seen = stat_signature(&sources);
    loop {
        match events.recv_timeout(poll) {
            Ok(()) => {
                std::thread::sleep(RELOAD_SETTLE);
                while events.try_recv().is_ok() {}
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(poll),
        }
        let now = stat_signature(&sources);
        if now == seen {
            continue;
        }
        seen = now;
        let started = std::time::Instant::now();
        match env.router_for_reload(RouterConfig::default()) {
            Ok((router, errors)) if errors.is_empty() => {
                desk.replace_router(router);
                eprintln!(
                    "switchboard: guidance and plugins reloaded in {:.2} s",
                    started.elapsed().as_secs_f64()
                );
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

/// A file-system watcher and whether it watches every source.
struct Watching {
    _watcher: notify::RecommendedWatcher,
    all_watched: bool,
}

/// A watcher sending on `changed` whenever something under `sources` changes; `None` (polling
/// only) where the platform's watcher cannot be set up.
fn watch(sources: &[std::path::PathBuf], changed: std::sync::mpsc::Sender<()>) -> Option<Watching> {
    use notify::Watcher;
    let mut watcher = match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = changed.send(());
        }
    }) {
        Ok(watcher) => watcher,
        Err(e) => {
            eprintln!("switchboard: no file-system watcher ({e}); changes are found by polling");
            return None;
        }
    };
    let mut all_watched = true;
    for source in sources {
        if let Err(e) = watcher.watch(source, notify::RecursiveMode::Recursive) {
            all_watched = false;
            eprintln!(
                "switchboard: {} is not watched ({e}); its changes are found by polling",
                source.display()
            );
        }
    }
    Some(Watching {
        _watcher: watcher,
        all_watched,
    })
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

/// The key conversation tokens are signed with: SWITCHBOARD_WEB_SECRET (64 hex digits), else
/// a random key kept in the data directory (0600), so customers' tokens survive restarts.
fn web_secret(env: &Env) -> Result<[u8; 32]> {
    if let Ok(hex) = std::env::var("SWITCHBOARD_WEB_SECRET") {
        let hash = blake3::Hash::from_hex(hex.trim())
            .context("SWITCHBOARD_WEB_SECRET must be 64 hexadecimal digits")?;
        return Ok(*hash.as_bytes());
    }
    let path = env.data_dir.join("web-secret");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let hash = blake3::Hash::from_hex(text.trim())
            .with_context(|| format!("{} is damaged (not 64 hexadecimal digits); delete it to make a new key (customers then start new conversations)", path.display()))?;
        return Ok(*hash.as_bytes());
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).context("no random source for the web secret")?;
    let hex = blake3::Hash::from_bytes(key).to_hex().to_string();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(hex.as_bytes())
                .and_then(|()| file.sync_all())
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => web_secret(env),
        Err(e) => {
            eprintln!(
                "switchboard: cannot keep the web secret in {} ({e}); conversation tokens will not survive a restart",
                path.display()
            );
            Ok(key)
        }
    }
}

fn hash_password() -> Result<ExitCode> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.len() < 12 {
        bail!("a staff password needs at least 12 characters");
    }
    let hash = switchboard_web::auth::hash_password(password).map_err(anyhow::Error::msg)?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}

fn log_to_stderr() {
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
}

pub fn run(env: &Env, args: &ServeArgs) -> Result<ExitCode> {
    if args.hash_password {
        return hash_password();
    }
    // The token comes from the environment only, and is never printed or logged.
    let token = std::env::var("DISCORD_TOKEN").ok();
    if token.is_none() && args.http.is_none() {
        bail!("nothing to serve: pass --http ADDR for the web chat, and/or set DISCORD_TOKEN in the environment for the Discord adapter");
    }
    if token.as_deref().is_some_and(|t| t.trim().is_empty()) {
        bail!("DISCORD_TOKEN is empty");
    }
    let web_config = if args.http.is_some() {
        let path = args.web_config.clone().unwrap_or_else(|| bundled_dir("web.toml"));
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Some(switchboard_web::WebConfig::from_toml(&text).with_context(|| format!("in {}", path.display()))?)
    } else {
        None
    };
    let desk = Arc::new(env.desk(args.reopen_hours)?);
    log_to_stderr();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_signal().await;
            stop_tx.send_replace(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let web = match (args.http, web_config) {
            (Some(addr), Some(config)) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("listening on {addr}"))?;
                let state = switchboard_web::WebState::new(Arc::clone(&desk), config, web_secret(env)?);
                eprintln!(
                    "switchboard: web chat on http://{0}/ and staff console on http://{0}/staff",
                    listener.local_addr()?
                );
                let stop = stopped(stop_rx.clone());
                Some(tokio::spawn(switchboard_web::serve(listener, state, stop)))
            }
            _ => None,
        };
        {
            let (env, desk) = (env.clone(), Arc::clone(&desk));
            std::thread::spawn(move || reload_on_change(&env, &desk));
        }
        if let Some(token) = token {
            run_discord(&desk, args, &token, stopped(stop_rx.clone())).await?;
        }
        if let Some(web) = web {
            web.await
                .context("the web server stopped unexpectedly")?
                .context("web server")?;
        }
        eprintln!("switchboard: stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn run_discord(
    desk: &Arc<Desk>,
    args: &ServeArgs,
    token: &str,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    // For deployments behind a Discord HTTP proxy (and for testing against a fake Discord).
    let api_base = std::env::var("DISCORD_API_BASE")
        .ok()
        .filter(|b| !b.trim().is_empty());
    let path = args
        .discord_config
        .clone()
        .unwrap_or_else(|| bundled_dir("discord.toml"));
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
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
    let shards = config.shards;
    // A bad token or an unreachable API is an error now, not a silent retry loop.
    let name = check_login(token, api_base.as_deref()).await?;
    let bot = Bot::new(Arc::clone(desk), config);
    let handle = bot.handle();
    let mut client = build_client(bot, token, api_base.as_deref())
        .await
        .context("starting the Discord client")?;
    eprintln!(
        "switchboard: Discord adapter running as {name}{}",
        api_base
            .as_ref()
            .map(|b| format!(" against {b}"))
            .unwrap_or_default()
    );
    run_until(&mut client, shards, &handle, stop, STOP_DRAIN)
        .await
        .context("Discord connection")?;
    Ok(())
}
