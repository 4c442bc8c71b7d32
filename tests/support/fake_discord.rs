//! A fake Discord for tests: REST routes and a gateway websocket on 127.0.0.1. It records
//! every request; a request to a route it does not know is listed in `unknown`.
#![allow(dead_code, clippy::needless_pass_by_value)] // Each test file uses part of it.

use axum::extract::ws::{Message as Ws, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router as Axum};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub const APP: u64 = 1_000;
pub const BOT: u64 = 1_001;
pub const GUILD: u64 = 900;
pub const CUSTOMER: u64 = 111;
pub const DM: u64 = 801;
pub const HELPDESK_CHANNEL: u64 = 501;
pub const HELPDESK_PING: u64 = 601;
pub const BILLING_CHANNEL: u64 = 502;
pub const BILLING_PING: u64 = 602;
pub const HELPDESK_AGENT_ROLE: u64 = 703;
pub const SALES_AGENT_ROLE: u64 = 702;
pub const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub body: Value,
    /// The status the fake answered with (a fault's, or 200).
    pub status: u16,
}

/// An injected fault: requests with this method and path get `status` while the fault lasts.
struct Fault {
    method: String,
    path: String,
    status: u16,
    /// Only requests whose body contains this.
    body_contains: Option<String>,
    /// Answered normally after this long, instead of failing.
    delay: Option<Duration>,
    /// Requests still to fail (`None`: until `until`).
    remaining: Option<u32>,
    until: Instant,
}

pub enum GatewayCommand {
    Dispatch(&'static str, Value),
    /// Op 7: reconnect and resume.
    Reconnect,
    /// Op 9 with `d: false`: the session is invalid, identify again.
    InvalidSession,
    /// The connection is closed (code 4000); see [`Fake::gateway_down`] to keep it closed.
    Drop,
}

#[derive(Clone)]
pub struct Fake {
    pub base: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    pub unknown: Arc<Mutex<Vec<String>>>,
    gateway_log: Arc<Mutex<Vec<String>>>,
    commands: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<GatewayCommand>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    /// Until when the gateway refuses connections.
    down_until: Arc<Mutex<Option<Instant>>>,
    seq: Arc<AtomicU64>,
    ids: Arc<AtomicU64>,
}

pub fn user(id: u64, name: &str, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": null, "avatar": null, "bot": bot})
}

pub fn message(id: u64, channel: u64, author: Value, content: &str, guild_roles: Option<&[u64]>) -> Value {
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

pub fn member(id: u64, name: &str, roles: &[u64]) -> Value {
    json!({"user": user(id, name, false), "roles": roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0})
}

impl Fake {
    fn record(&self, method: &str, path: &str, body: Value, status: u16) {
        self.requests.lock().unwrap().push(Recorded {
            method: method.into(),
            path: path.into(),
            body,
            status,
        });
    }

    /// The next `times` requests to `method path` (path after `/api/v10`) fail with `status`.
    pub fn fail(&self, method: &str, path: &str, status: u16, times: u32) {
        self.faults.lock().unwrap().push(Fault {
            method: method.into(),
            path: format!("/api/v10{path}"),
            status,
            body_contains: None,
            delay: None,
            remaining: Some(times),
            until: Instant::now() + Duration::from_hours(1),
        });
    }

    /// Requests to `method path` are rate limited (429 with `retry_after`) for `duration`.
    pub fn rate_limit(&self, method: &str, path: &str, duration: Duration) {
        self.faults.lock().unwrap().push(Fault {
            method: method.into(),
            path: format!("/api/v10{path}"),
            status: 429,
            body_contains: None,
            delay: None,
            remaining: None,
            until: Instant::now() + duration,
        });
    }

    /// The next `times` `method` requests whose body contains `text` fail with `status`.
    pub fn fail_body(&self, method: &str, text: &str, status: u16, times: u32) {
        self.faults.lock().unwrap().push(Fault {
            method: method.into(),
            path: String::new(),
            status,
            body_contains: Some(text.into()),
            delay: None,
            remaining: Some(times),
            until: Instant::now() + Duration::from_hours(1),
        });
    }

    /// The next `times` requests to `method path` are answered normally, but only after
    /// `delay` (a slow Discord, a request in flight when the process is stopped).
    pub fn delay(&self, method: &str, path: &str, delay: Duration, times: u32) {
        self.faults.lock().unwrap().push(Fault {
            method: method.into(),
            path: format!("/api/v10{path}"),
            status: 200,
            body_contains: None,
            delay: Some(delay),
            remaining: Some(times),
            until: Instant::now() + Duration::from_hours(1),
        });
    }

    /// The gateway refuses connections for `duration` (a Discord outage).
    pub fn gateway_down(&self, duration: Duration) {
        *self.down_until.lock().unwrap() = Some(Instant::now() + duration);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.faults.lock().unwrap().clear();
    }

    /// The status of an injected fault for this request, if one applies (counting it down),
    /// with the seconds left for a rate limit.
    fn fault(&self, method: &str, path: &str, body: &Value) -> Option<(u16, f64, Option<Duration>)> {
        let body = body.to_string();
        let mut faults = self.faults.lock().unwrap();
        let now = Instant::now();
        let fault = faults.iter_mut().find(|f| {
            f.method == method
                && match &f.body_contains {
                    Some(text) => body.contains(text.as_str()),
                    None => f.path == path,
                }
                && f.until > now
                && f.remaining.is_none_or(|n| n > 0)
        })?;
        if let Some(n) = &mut fault.remaining {
            *n -= 1;
        }
        Some((fault.status, (fault.until - now).as_secs_f64(), fault.delay))
    }

    fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits for a request matching `pred` at or after index `from`; returns its index.
    pub async fn wait_for(
        &self,
        from: usize,
        what: &str,
        pred: impl Fn(&Recorded) -> bool,
    ) -> (usize, Recorded) {
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

    /// How many IDENTIFYs the gateway has seen (one per client start).
    pub fn identifies(&self) -> usize {
        self.gateway_log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| *l == "identify")
            .count()
    }

    /// Waits until the gateway has seen `n` IDENTIFYs.
    pub async fn wait_identifies(&self, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.identifies() < n {
            assert!(Instant::now() < deadline, "gateway never saw identify #{n}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the gateway saw (connects, identifies, resumes, close codes).
    pub fn gateway_log(&self) -> Vec<String> {
        self.gateway_log.lock().unwrap().clone()
    }

    pub async fn wait_gateway(&self, what: &str) {
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
    let fault = fake.fault(method.as_str(), &path, &body);
    if let Some((_, _, Some(delay))) = fault {
        tokio::time::sleep(delay).await;
    } else if let Some((status, left, None)) = fault {
        fake.record(method.as_str(), &path, body, status);
        let code = StatusCode::from_u16(status).unwrap();
        return if status == 429 {
            let retry_after = (left * 1000.0).ceil() / 1000.0;
            (
                code,
                [("retry-after", format!("{retry_after}"))],
                Json(json!({"message": "You are being rate limited.", "retry_after": retry_after, "global": false, "code": 0})),
            )
                .into_response()
        } else {
            (code, Json(json!({"message": "Internal Server Error", "code": 0}))).into_response()
        };
    }
    fake.record(method.as_str(), &path, body.clone(), 200);
    let parts: Vec<&str> = path.trim_start_matches("/api/v10/").split('/').collect();
    let ws = format!("{}/gw", fake.base.replace("http://", "ws://"));
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["users", "@me"]) => Json(user(BOT, "switchboard", true)).into_response(),
        ("GET", ["gateway"]) => Json(json!({"url": ws})).into_response(),
        ("GET", ["gateway", "bot"]) => Json(json!({"url": ws, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})).into_response(),
        ("PUT", ["applications", _, "commands"] | ["applications", _, "guilds", _, "commands"]) => {
            Json(json!([])).into_response()
        }
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
        ("POST", ["interactions", _, _, "callback"]) | ("DELETE", ["channels", _, "messages", _]) => {
            StatusCode::NO_CONTENT.into_response()
        }
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
    if fake
        .down_until
        .lock()
        .unwrap()
        .is_some_and(|until| Instant::now() < until)
    {
        fake.gateway_log.lock().unwrap().push("refused".into());
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    upgrade.on_upgrade(move |socket| session(fake, socket))
}

async fn send(socket: &mut WebSocket, value: Value) -> bool {
    socket.send(Ws::Text(value.to_string().into())).await.is_ok()
}

/// The next command for a connection. The queue is held only briefly at a time, so with two
/// connections (two bot processes) each command goes to one of them, whichever asks first,
/// and neither waits to read its own socket.
async fn next_command(fake: &Fake) -> Option<GatewayCommand> {
    loop {
        {
            let mut commands = fake.commands.lock().await;
            if let Ok(command) = tokio::time::timeout(Duration::from_millis(20), commands.recv()).await {
                return command;
            }
        }
        tokio::task::yield_now().await;
    }
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
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Ws::Text(text))) => text,
                    Some(Ok(Ws::Close(frame))) => {
                        let code = frame.map_or(0, |f| f.code);
                        fake.gateway_log.lock().unwrap().push(format!("close:{code}"));
                        return;
                    }
                    Some(Ok(_)) => continue,
                    _ => return,
                };
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
            command = next_command(&fake), if ready => {
                match command {
                    Some(GatewayCommand::Dispatch(t, d)) => {
                        let s = fake.seq.fetch_add(1, Ordering::SeqCst) + 1;
                        send(&mut socket, json!({"op": 0, "t": t, "s": s, "d": d})).await;
                    }
                    Some(GatewayCommand::Reconnect) => {
                        send(&mut socket, json!({"op": 7, "d": null})).await;
                        fake.gateway_log.lock().unwrap().push("reconnect-sent".into());
                        // Stop reading commands on this connection; the client reconnects.
                        while let Some(Ok(_)) = socket.recv().await {}
                        return;
                    }
                    Some(GatewayCommand::Drop) => {
                        let _ = socket
                            .send(Ws::Close(Some(axum::extract::ws::CloseFrame {
                                code: 4000,
                                reason: "unknown error".into(),
                            })))
                            .await;
                        fake.gateway_log.lock().unwrap().push("dropped".into());
                        return;
                    }
                    Some(GatewayCommand::InvalidSession) => {
                        send(&mut socket, json!({"op": 9, "d": false})).await;
                        fake.gateway_log.lock().unwrap().push("invalid-session-sent".into());
                        // Nothing is dispatched until the client identifies again.
                        ready = false;
                    }
                    None => return,
                }
            }
        }
    }
}

pub async fn start_fake() -> (Fake, mpsc::UnboundedSender<GatewayCommand>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let fake = Fake {
        base,
        requests: Arc::default(),
        unknown: Arc::default(),
        gateway_log: Arc::default(),
        commands: Arc::new(tokio::sync::Mutex::new(rx)),
        faults: Arc::default(),
        down_until: Arc::default(),
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

/// A customer writes `text` in the DM channel; waits for the bot's reply there.
pub async fn ask_in_dm(
    fake: &Fake,
    gateway: &mpsc::UnboundedSender<GatewayCommand>,
    id: u64,
    text: &str,
) -> (usize, Recorded) {
    let from = fake.requests().len();
    let customer = user(CUSTOMER, "casey", false);
    gateway
        .send(GatewayCommand::Dispatch(
            "MESSAGE_CREATE",
            message(id, DM, customer, text, None),
        ))
        .unwrap();
    fake.wait_for(from, "the answer in the DM", |r| {
        r.method == "POST" && r.path == format!("/api/v10/channels/{DM}/messages")
    })
    .await
}

/// The Discord configuration matching the fake's channels and roles.
pub const CONFIG: &str = r#"
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
