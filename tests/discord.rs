//! The Discord adapter end to end: the real serenity client against a fake Discord on
//! 127.0.0.1 (REST routes and a gateway websocket) inside this test process. The fake records
//! every request; a request to a route it does not know fails the test.
#![allow(clippy::needless_pass_by_value)] // The JSON builders read better taking values.

use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router as Axum};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_core::desk::Desk;
use switchboard_core::plugins::{load_plugins, load_support_model};
use switchboard_core::tickets::{TicketStatus, TicketStore};
use switchboard_core::{Router, RouterConfig};
use switchboard_discord::{build_client, run, Bot, DiscordConfig, Shards};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;
use switchboard_tickets::SqliteTicketStore;
use tokio::sync::mpsc;

const APP: u64 = 1_000;
const BOT: u64 = 1_001;
const GUILD: u64 = 900;
const CUSTOMER: u64 = 111;
const DM: u64 = 801;
const HELPDESK_CHANNEL: u64 = 501;
const HELPDESK_PING: u64 = 601;
const HELPDESK_AGENT_ROLE: u64 = 703;
const SALES_AGENT_ROLE: u64 = 702;
const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    body: Value,
}

enum GatewayCommand {
    Dispatch(&'static str, Value),
    Reconnect,
}

#[derive(Clone)]
struct Fake {
    base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    unknown: Arc<Mutex<Vec<String>>>,
    gateway_log: Arc<Mutex<Vec<String>>>,
    commands: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<GatewayCommand>>>,
    seq: Arc<AtomicU64>,
    ids: Arc<AtomicU64>,
}

fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": null, "avatar": null, "bot": bot})
}

fn message(id: u64, channel: u64, author: Value, content: &str, guild_roles: Option<&[u64]>) -> Value {
    let mut m = json!({
        "id": id.to_string(), "channel_id": channel.to_string(), "author": author, "content": content,
        "timestamp": "2026-11-28T10:00:00.000000+00:00", "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0
    });
    if let Some(roles) = guild_roles {
        m["guild_id"] = json!(GUILD.to_string());
        m["member"] = json!({"roles": roles.iter().map(ToString::to_string).collect::<Vec<_>>(), "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false});
    }
    m
}

fn member(id: u64, name: &str, roles: &[u64]) -> Value {
    json!({"user": user(id, name, false), "roles": roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0})
}

impl Fake {
    fn record(&self, method: &str, path: &str, body: Value) {
        self.requests.lock().unwrap().push(Recorded {
            method: method.into(),
            path: path.into(),
            body,
        });
    }

    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::SeqCst)
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits for a request matching `pred` at or after index `from`; returns its index.
    async fn wait_for(&self, from: usize, what: &str, pred: impl Fn(&Recorded) -> bool) -> (usize, Recorded) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            let reqs = self.requests();
            if let Some((i, r)) = reqs.iter().enumerate().skip(from).find(|(_, r)| pred(r)) {
                return (i, r.clone());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {what}; requests: {:#?}", self.requests());
    }

    async fn wait_gateway(&self, what: &str) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self.gateway_log.lock().unwrap().iter().any(|l| l == what) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("gateway never saw {what}: {:?}", self.gateway_log.lock().unwrap());
    }
}

async fn rest(State(fake): State<Fake>, method: Method, uri: Uri, body: axum::body::Bytes) -> Response {
    let path = uri.path().to_string();
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.record(method.as_str(), &path, body.clone());
    let parts: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let ws = format!("{}/gw", fake.base.replace("http://", "ws://"));
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["gateway"]) => Json(json!({"url": ws})).into_response(),
        ("GET", ["gateway", "bot"]) => Json(json!({"url": ws, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})).into_response(),
        ("PUT", ["applications", _, "commands"]) => Json(json!([])).into_response(),
        ("POST", ["channels", channel, "messages"]) => {
            let channel: u64 = channel.parse().unwrap();
            let content = body["content"].as_str().unwrap_or("");
            Json(message(fake.next_id(), channel, user(BOT, "switchboard", true), content, None)).into_response()
        }
        ("POST", ["channels", parent, "threads"]) => Json(json!({
            "id": fake.next_id().to_string(), "type": 12, "guild_id": GUILD.to_string(),
            "parent_id": parent, "name": body["name"], "position": 0, "permission_overwrites": []
        }))
        .into_response(),
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) => {
            let content = body["content"].as_str().unwrap_or("");
            Json(message(fake.next_id(), DM, user(BOT, "switchboard", true), content, None)).into_response()
        }
        _ => {
            fake.unknown.lock().unwrap().push(format!("{method} {path}"));
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

async fn gateway(State(fake): State<Fake>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| session(fake, socket))
}

async fn send(socket: &mut WebSocket, value: Value) -> bool {
    socket.send(Ws::Text(value.to_string().into())).await.is_ok()
}

/// One gateway connection: HELLO, then IDENTIFY -> READY or RESUME -> RESUMED, heartbeats
/// acknowledged, and dispatches from the test. Events queued while no client is connected
/// wait for the next connection.
async fn session(fake: Fake, mut socket: WebSocket) {
    fake.gateway_log.lock().unwrap().push("connect".into());
    if !send(&mut socket, json!({"op": 10, "d": {"heartbeat_interval": 45000}})).await {
        return;
    }
    let mut ready = false;
    loop {
        let mut commands = fake.commands.lock().await;
        tokio::select! {
            incoming = socket.recv() => {
                drop(commands);
                let Some(Ok(Ws::Text(text))) = incoming else { return };
                let frame: Value = serde_json::from_str(&text).unwrap();
                match frame["op"].as_u64() {
                    Some(1) => { send(&mut socket, json!({"op": 11})).await; }
                    Some(2) => {
                        fake.gateway_log.lock().unwrap().push("identify".into());
                        let s = fake.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        let ws = format!("{}/gw", fake.base.replace("http://", "ws://"));
                        send(&mut socket, json!({"op": 0, "t": "READY", "s": s, "d": {
                            "v": 10, "user": user(BOT, "switchboard", true), "guilds": [],
                            "session_id": "session-1", "resume_gateway_url": ws,
                            "application": {"id": APP.to_string(), "flags": 0}}})).await;
                        ready = true;
                    }
                    Some(6) => {
                        fake.gateway_log.lock().unwrap().push("resume".into());
                        let s = fake.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        send(&mut socket, json!({"op": 0, "t": "RESUMED", "s": s, "d": {}})).await;
                        ready = true;
                    }
                    _ => {}
                }
            }
            command = commands.recv(), if ready => {
                match command {
                    Some(GatewayCommand::Dispatch(t, d)) => {
                        let s = fake.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        send(&mut socket, json!({"op": 0, "t": t, "s": s, "d": d})).await;
                    }
                    Some(GatewayCommand::Reconnect) => {
                        send(&mut socket, json!({"op": 7, "d": null})).await;
                        fake.gateway_log.lock().unwrap().push("reconnect-sent".into());
                        drop(commands);
                        // Stop reading commands on this connection; the client reconnects.
                        while let Some(Ok(_)) = socket.recv().await {}
                        return;
                    }
                    None => return,
                }
            }
        }
    }
}

async fn start_fake() -> (Fake, mpsc::UnboundedSender<GatewayCommand>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let fake = Fake {
        base,
        requests: Arc::default(),
        unknown: Arc::default(),
        gateway_log: Arc::default(),
        commands: Arc::new(tokio::sync::Mutex::new(rx)),
        seq: Arc::default(),
        ids: Arc::new(AtomicU64::new(5_000)),
    };
    let app = Axum::new()
        .route("/gw", get(gateway))
        .fallback(rest)
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (fake, tx)
}

fn repo(dir: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

const CONFIG: &str = r#"
guild = 900
support_channels = [{ id = 777, trigger = "mention" }]
shards = { fixed = 1 }
[queues]
helpdesk = { channel = 501, ping_role = 601 }
billing = { channel = 502, ping_role = 602 }
technical = { channel = 503, ping_role = 603 }
sales = { channel = 504, ping_role = 604 }
[staff_roles]
"701" = "billing-admin"
"702" = "sales-agent"
"703" = "helpdesk-agent"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_through_the_real_serenity_client() {
    let (fake, gateway) = start_fake().await;
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteTicketStore::open(&data.path().join("tickets.sqlite3")).unwrap());
    let kb = KnowledgeBase::build_in_ram(&ingest_roots(&[repo("knowledge")]).sections).unwrap();
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(&repo("plugins"), &support);
    let config = DiscordConfig::from_toml(CONFIG, &support.queue_ids()).unwrap();
    let router = Router::new(kb, plugins, support, RouterConfig::default());
    let desk = Arc::new(Desk::new(router, store.clone(), 72));
    let links = data.path().join("discord-threads.json");
    let bot = Bot::new(Arc::clone(&desk), config.clone()).with_links_file(links.clone());
    let mut client = build_client(bot, "test-token", Some(&fake.base)).await.unwrap();
    tokio::spawn(async move { run(&mut client, Shards::Fixed(1)).await });

    fake.wait_gateway("identify").await;
    fake.wait_for(0, "slash command registration", |r| {
        r.method == "PUT" && r.path.ends_with("/commands")
    })
    .await;

    // 1. A DM question is answered with a citation embed and buttons.
    let customer = user(CUSTOMER, "casey", false);
    gateway
        .send(GatewayCommand::Dispatch(
            "MESSAGE_CREATE",
            message(
                10,
                DM,
                customer.clone(),
                "what happens to our access if we do not pay an invoice?",
                None,
            ),
        ))
        .unwrap();
    let (i, answer) = fake
        .wait_for(0, "the answer in the DM", |r| {
            r.method == "POST" && r.path == format!("/api/v10/channels/{DM}/messages")
        })
        .await;
    let embed = &answer.body["embeds"][0];
    assert!(
        embed["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("`en-us/billing-policy.md#nonpayment`"),
        "{embed}"
    );
    let buttons: Vec<&str> = answer.body["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, ["Helpful: Yes", "No", "Talk to a human"]);

    // 2. "Talk to a human": acknowledged first, then a private thread in the helpdesk staff channel.
    let bot_message = message(11, DM, user(BOT, "switchboard", true), "", None);
    gateway.send(GatewayCommand::Dispatch("INTERACTION_CREATE", json!({
        "id": "20", "application_id": APP.to_string(), "type": 3, "token": "tok-20", "version": 1,
        "data": {"custom_id": "sb:human", "component_type": 2}, "channel_id": DM.to_string(),
        "user": customer, "message": bot_message, "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608
    }))).unwrap();
    let (ack, _) = fake
        .wait_for(i, "the deferred acknowledgement", |r| {
            r.path == "/api/v10/interactions/20/tok-20/callback"
        })
        .await;
    let (thread_at, thread_req) = fake
        .wait_for(i, "a private thread", |r| {
            r.path == format!("/api/v10/channels/{HELPDESK_CHANNEL}/threads")
        })
        .await;
    assert!(ack < thread_at, "acknowledged before the slow work");
    assert_eq!(thread_req.body["type"], 12, "private thread");
    let (_, post) = fake
        .wait_for(thread_at, "the ticket in the thread", |r| {
            r.body["content"]
                .as_str()
                .is_some_and(|c| c.contains(&format!("<@&{HELPDESK_PING}>")))
        })
        .await;
    let thread: u64 = post.path.split('/').nth(4).unwrap().parse().unwrap();
    assert!(
        post.body["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Ticket T-1"),
        "{}",
        post.body
    );
    fake.wait_for(i, "the customer told the ticket id", |r| {
        r.path == format!("/api/v10/channels/{DM}/messages") && r.body.to_string().contains("T-1")
    })
    .await;
    let ticket = store.get("T-1").unwrap();
    assert_eq!(ticket.queue, "helpdesk");
    assert_eq!(ticket.customer.adapter, "discord");

    // 3. A staff member without a role for the queue is refused; nothing reaches the customer.
    let before = fake.requests().len();
    gateway
        .send(GatewayCommand::Dispatch(
            "MESSAGE_CREATE",
            message(
                30,
                thread,
                user(222, "sam", false),
                "I will take this",
                Some(&[SALES_AGENT_ROLE]),
            ),
        ))
        .unwrap();
    fake.wait_for(before, "the refusal", |r| {
        r.path == format!("/api/v10/channels/{thread}/messages")
            && r.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("do not have a staff role")
    })
    .await;

    // 4. A helpdesk agent's message in the thread is relayed to the customer's DM.
    let before = fake.requests().len();
    gateway
        .send(GatewayCommand::Dispatch(
            "MESSAGE_CREATE",
            message(
                31,
                thread,
                user(333, "hana", false),
                "Hello Casey, I can help.",
                Some(&[HELPDESK_AGENT_ROLE]),
            ),
        ))
        .unwrap();
    fake.wait_for(before, "the relay to the DM", |r| {
        r.path == format!("/api/v10/channels/{DM}/messages")
            && r.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("Hello Casey, I can help.")
    })
    .await;
    assert!(
        !fake.requests()[..before]
            .iter()
            .any(|r| r.path == format!("/api/v10/channels/{DM}/messages")
                && r.body.to_string().contains("I will take this")),
        "the refused message was not relayed"
    );

    // 5. A gateway reconnect in the middle: the customer's next message is queued meanwhile
    //    and still arrives, in the ticket and in the thread.
    let before = fake.requests().len();
    gateway.send(GatewayCommand::Reconnect).unwrap();
    gateway
        .send(GatewayCommand::Dispatch(
            "MESSAGE_CREATE",
            message(
                40,
                DM,
                user(CUSTOMER, "casey", false),
                "thanks, one more thing about the invoice",
                None,
            ),
        ))
        .unwrap();
    fake.wait_gateway("resume").await;
    fake.wait_for(before, "the message after the reconnect, in the thread", |r| {
        r.path == format!("/api/v10/channels/{thread}/messages")
            && r.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("one more thing")
    })
    .await;
    assert!(store
        .get("T-1")
        .unwrap()
        .transcript
        .iter()
        .any(|e| e.text.contains("one more thing")));

    // 6. /resolve from the helpdesk agent closes the ticket in the store.
    let before = fake.requests().len();
    gateway
        .send(GatewayCommand::Dispatch(
            "INTERACTION_CREATE",
            json!({
                "id": "50", "application_id": APP.to_string(), "type": 2, "token": "tok-50", "version": 1,
                "data": {"id": "9001", "name": "resolve", "type": 1}, "guild_id": GUILD.to_string(),
                "channel_id": thread.to_string(), "member": member(333, "hana", &[HELPDESK_AGENT_ROLE]),
                "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608
            }),
        ))
        .unwrap();
    let (ack, _) = fake
        .wait_for(before, "the ephemeral deferral", |r| {
            r.path == "/api/v10/interactions/50/tok-50/callback"
        })
        .await;
    assert_eq!(fake.requests()[ack].body["data"]["flags"], 64, "ephemeral");
    fake.wait_for(before, "the command's answer", |r| {
        r.method == "PATCH" && r.body["content"].as_str().unwrap_or("").contains("resolved")
    })
    .await;
    assert_eq!(store.get("T-1").unwrap().status, TicketStatus::Resolved);

    assert!(
        fake.unknown.lock().unwrap().is_empty(),
        "unknown routes: {:?}",
        fake.unknown.lock().unwrap()
    );
    // A restarted bot still knows the staff thread.
    assert_eq!(Bot::new(desk, config).with_links_file(links).known_threads(), 1);
}

#[test]
fn the_bundled_discord_config_loads_and_bad_ones_are_named() {
    let queues = ["helpdesk", "billing", "technical", "sales"];
    let bundled = std::fs::read_to_string(repo("discord.toml")).unwrap();
    let config = DiscordConfig::from_toml(&bundled, &queues).unwrap();
    assert_eq!(config.queues.len(), 4);
    assert_eq!(config.shards, Shards::Fixed(1));
    let err = DiscordConfig::from_toml(&format!("token = \"secret\"\n{CONFIG}"), &queues).unwrap_err();
    assert!(err.to_string().contains("unknown field `token`"), "{err}");
    let err = DiscordConfig::from_toml(&CONFIG.replace("sales = {", "legal = {"), &queues).unwrap_err();
    assert!(err.to_string().contains("queues.legal: unknown queue"), "{err}");
    let auto = DiscordConfig::from_toml(
        &CONFIG.replace("shards = { fixed = 1 }", "shards = \"auto\""),
        &queues,
    )
    .unwrap();
    assert_eq!(auto.shards, Shards::Auto);
}
