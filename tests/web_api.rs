//! The web adapter's HTTP API, in process (tower's `oneshot`): the customer chat, staff sign-in
//! and every ticket action with its role check, CSRF, rate limits, body limits, unknown tokens,
//! live delivery of staff replies, and hostile text that must stay text.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use switchboard_core::desk::Desk;
use switchboard_core::plugins::{load_plugins, load_support_model};
use switchboard_core::{Router, RouterConfig};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;
use switchboard_tickets::SqliteTicketStore;
use switchboard_web::auth::hash_password;
use switchboard_web::{app, WebConfig, WebState};
use tower::ServiceExt;

const XSS: &str = "<img src=x onerror=alert(1)>";

fn repo(dir: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

fn desk_over(knowledge: &Path, tickets: &Path) -> Arc<Desk> {
    let store = Arc::new(SqliteTicketStore::open(tickets).unwrap());
    let kb = KnowledgeBase::build_in_ram(&ingest_roots(&[knowledge.to_path_buf()]).sections).unwrap();
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(&repo("plugins"), &support);
    let router = Router::new(kb, plugins, support, RouterConfig::default());
    Arc::new(Desk::new(router, store, 72))
}

/// Hashing once per test binary: argon2 is slow on purpose.
fn password_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("s3cret-pass").unwrap())
}

fn config(extra: &str) -> WebConfig {
    let hash = password_hash();
    WebConfig::from_toml(&format!(
        r#"
{extra}
[[staff]]
user = "anna"
roles = ["billing-admin"]
password_hash = "{hash}"

[[staff]]
user = "sam"
roles = ["sales-agent"]
password_hash = "{hash}"

[[staff]]
user = "robot"
roles = ["billing-admin"]
token_env = "SWITCHBOARD_TEST_STAFF_TOKEN"

[[staff]]
user = "mia"
roles = ["sales-agent", "billing-admin"]
password_hash = "{hash}"
"#
    ))
    .unwrap()
}

struct Server {
    _dir: tempfile::TempDir,
    state: Arc<WebState>,
}

impl Server {
    fn new() -> Self {
        Self::with_config(config(""))
    }

    fn with_config(config: WebConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let desk = desk_over(&repo("knowledge"), &dir.path().join("tickets.sqlite3"));
        Server {
            state: WebState::new(desk, config, [42; 32]),
            _dir: dir,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = app(Arc::clone(&self.state)).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, body)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        auth: &Auth,
    ) -> (StatusCode, Value) {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(cookie) = &auth.cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        if let Some(csrf) = &auth.csrf {
            builder = builder.header("x-csrf-token", csrf);
        }
        if let Some(bearer) = &auth.bearer {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        let request = match body {
            Some(b) => builder
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => builder.body(Body::empty()),
        }
        .unwrap();
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None, &Auth::default()).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body), &Auth::default()).await
    }

    async fn start(&self, name: Option<&str>) -> String {
        let (status, body) = self
            .post("/api/v1/conversations", json!({ "name": name, "language": "de" }))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// Posts a message body (any JSON) to a conversation.
    async fn message(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.post(&format!("/api/v1/conversations/{token}/messages"), body)
            .await
    }

    async fn say(&self, token: &str, text: &str) -> Vec<Value> {
        let (status, body) = self.message(token, json!({ "text": text })).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["events"].as_array().unwrap().clone()
    }

    async fn sign_in(&self, user: &str) -> Auth {
        let request = Request::post("/api/v1/staff/session")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({ "user": user, "password": "s3cret-pass" }).to_string(),
            ))
            .unwrap();
        let (status, headers, body) = self.send(request).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let set_cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
        for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(set_cookie.contains(attribute), "{set_cookie} lacks {attribute}");
        }
        Auth {
            cookie: Some(set_cookie.split(';').next().unwrap().to_string()),
            csrf: body["csrf_token"].as_str().map(str::to_string),
            bearer: None,
        }
    }

    /// A ticket action (`claim`, `reply`, ...) as `auth`.
    async fn act(&self, ticket: &str, action: &str, body: Option<Value>, auth: &Auth) -> (StatusCode, Value) {
        self.call(
            Method::POST,
            &format!("/api/v1/tickets/{ticket}/{action}"),
            body,
            auth,
        )
        .await
    }

    /// Claims a ticket and replies on it, as `auth`.
    async fn claim_and_reply(&self, ticket: &str, text: &str, auth: &Auth) {
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/api/v1/tickets/{ticket}/claim"),
                None,
                auth,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) = self
            .call(
                Method::POST,
                &format!("/api/v1/tickets/{ticket}/reply"),
                Some(json!({ "text": text })),
                auth,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    /// A ticket in the billing queue, from a customer asking for a refund.
    async fn billing_ticket(&self, name: Option<&str>) -> (String, String) {
        let token = self.start(name).await;
        let events = self
            .say(
                &token,
                "Bitte erstatten Sie uns die doppelt abgebuchten 1.234,56 EUR",
            )
            .await;
        let ticket = &events.last().unwrap()["ticket"];
        assert_eq!(ticket["queue"], "billing", "{events:#?}");
        (token, ticket["id"].as_str().unwrap().to_string())
    }
}

#[derive(Default, Clone)]
struct Auth {
    cookie: Option<String>,
    csrf: Option<String>,
    bearer: Option<String>,
}

impl Auth {
    fn without_csrf(&self) -> Auth {
        Auth {
            csrf: None,
            ..self.clone()
        }
    }
}

#[tokio::test]
async fn a_customer_asks_in_german_and_gets_an_answer_citing_a_section_page() {
    let server = Server::new();
    let token = server.start(None).await;
    let events = server.say(&token, "Wer stellt mir die Rechnung aus?").await;
    assert_eq!(events[0]["author"], "customer");
    assert_eq!(events[0]["text"], "Wer stellt mir die Rechnung aus?");
    let answer = events.last().unwrap();
    assert_eq!(answer["author"], "bot");
    assert_eq!(answer["outcome"], "answer", "{answer:#}");
    assert_eq!(answer["asks_feedback"], true);
    let href = answer["citations"][0]["href"].as_str().unwrap();
    assert!(href.starts_with("/kb/de-de/"), "{href}");

    // The cited page shows the section.
    let (status, page) = server.get(href).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    let heading = answer["citations"][0]["heading"].as_str().unwrap();
    assert!(page.contains(&format!("<h1>{heading}</h1>")), "{page}");

    // The conversation reads back whole (a page reload), and feedback goes through the desk.
    let (status, view) = server.get(&format!("/api/v1/conversations/{token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["events"].as_array().unwrap().len(), events.len());
    assert_eq!(view["language"], "de");
    let (status, body) = server
        .post(
            &format!("/api/v1/conversations/{token}/feedback"),
            json!({ "helpful": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["events"][0]["text"], "ja");
}

#[tokio::test]
async fn talk_to_a_person_opens_a_ticket_with_hours_contact_and_queue() {
    let server = Server::new();
    let token = server.start(None).await;
    server.say(&token, "Wer stellt mir die Rechnung aus?").await;
    let (status, body) = server
        .post(&format!("/api/v1/conversations/{token}/handoff"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = body["events"].as_array().unwrap();
    assert_eq!(events[0]["text"], "Ich möchte mit einem Menschen sprechen");
    let ticket = &events.last().unwrap()["ticket"];
    assert!(ticket["id"].as_str().is_some_and(|id| !id.is_empty()), "{body:#}");
    assert_eq!(ticket["queue"], "billing", "the conversation was about billing");
    for field in ["queue", "queue_name", "hours", "contact"] {
        assert!(
            ticket[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}: {ticket:#}"
        );
    }
    let text = events.last().unwrap()["text"].as_str().unwrap();
    assert!(text.contains(ticket["id"].as_str().unwrap()), "{text}");
}

#[tokio::test]
async fn unknown_forged_and_malformed_tokens_are_refused_alike() {
    let server = Server::new();
    let token = server.start(None).await;
    let (id, _mac) = token.split_once('.').unwrap();
    let forged = format!("{id}.{}", "0".repeat(64));
    let other = Server::with_config(config(""));
    let mut foreign = other.start(None).await;
    foreign.replace_range(0..1, if foreign.starts_with('a') { "b" } else { "a" });
    for bad in [forged.as_str(), id, "nope", foreign.as_str()] {
        let (status, body) = server.get(&format!("/api/v1/conversations/{bad}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(body["code"], "unknown_conversation");
        let (status, _) = server.message(bad, json!({ "text": "hallo" })).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
}

#[tokio::test]
async fn staff_sign_in_claim_reply_escalate_resolve_and_the_customer_sees_the_reply() {
    let server = Server::new();
    let (token, ticket) = server.billing_ticket(Some("Dana")).await;

    let (status, body) = server
        .post(
            "/api/v1/staff/session",
            json!({ "user": "anna", "password": "wrong" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "bad_credentials");
    let (status, _) = server.get("/api/v1/tickets").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let anna = server.sign_in("anna").await;
    let (status, me) = server
        .call(Method::GET, "/api/v1/staff/session", None, &anna)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"], "anna");
    let (_, queues) = server.call(Method::GET, "/api/v1/queues", None, &anna).await;
    assert_eq!(queues, json!([{ "id": "billing", "name": "billing team" }]));
    let (status, list) = server.call(Method::GET, "/api/v1/tickets", None, &anna).await;
    assert_eq!(status, StatusCode::OK);
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == ticket.as_str())
        .unwrap();
    assert_eq!(listed["customer"], "Dana");
    assert_eq!(listed["status"], "open");
    assert!(listed["due"].is_string());
    let (status, full) = server
        .call(Method::GET, &format!("/api/v1/tickets/{ticket}"), None, &anna)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        full["findings"]["entities"]["amounts"][0]["amount"], "1234.56",
        "{:#}",
        full["findings"]
    );

    // A change without the session's CSRF token is refused, with it it is done.
    let claim = format!("/api/v1/tickets/{ticket}/claim");
    let (status, body) = server
        .call(Method::POST, &claim, None, &anna.without_csrf())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "csrf");
    let wrong = Auth {
        csrf: Some("0".repeat(32)),
        ..anna.clone()
    };
    let (status, _) = server.call(Method::POST, &claim, None, &wrong).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = server.call(Method::POST, &claim, None, &anna).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "claimed");

    let reply = format!("/api/v1/tickets/{ticket}/reply");
    let (status, _) = server
        .call(
            Method::POST,
            &reply,
            Some(json!({ "text": "Wir erstatten den Betrag bis Freitag." })),
            &anna,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, view) = server.get(&format!("/api/v1/conversations/{token}")).await;
    let newest = view["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(newest["author"], "staff");
    assert_eq!(newest["staff"], "anna");
    assert_eq!(newest["text"], "Wir erstatten den Betrag bis Freitag.");

    let escalate = format!("/api/v1/tickets/{ticket}/escalate");
    let (status, body) = server
        .call(
            Method::POST,
            &escalate,
            Some(json!({ "to": "microsoft-commercial", "case_number": "2611300040001" })),
            &anna,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "escalated");
    assert_eq!(body["escalations"][0]["case_number"], "2611300040001");
    let (status, body) = server
        .call(Method::POST, &escalate, Some(json!({ "to": "the moon" })), &anna)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().unwrap().contains("the moon"));
    let (status, body) = server.act(&ticket, "resolve", None, &anna).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "resolved");
    let (status, body) = server
        .act(
            &ticket,
            "escalate",
            Some(json!({ "to": "microsoft-commercial" })),
            &anna,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "invalid_transition");

    // Signed out, the cookie acts no more.
    let (status, _) = server
        .call(Method::DELETE, "/api/v1/staff/session", None, &anna)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.call(Method::GET, "/api/v1/tickets", None, &anna).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_sales_agent_cannot_read_or_act_on_a_billing_ticket() {
    let server = Server::new();
    let (_token, ticket) = server.billing_ticket(None).await;
    let sam = server.sign_in("sam").await;
    let (status, list) = server.call(Method::GET, "/api/v1/tickets", None, &sam).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.as_array().unwrap().iter().all(|t| t["queue"] == "sales"),
        "{list}"
    );
    let (status, body) = server
        .call(Method::GET, &format!("/api/v1/tickets/{ticket}"), None, &sam)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden");
    for (path, body) in [
        ("claim", None),
        ("reply", Some(json!({ "text": "hi" }))),
        ("resolve", None),
        ("escalate", Some(json!({ "to": "queue", "queue": "sales" }))),
    ] {
        let (status, _) = server
            .call(
                Method::POST,
                &format!("/api/v1/tickets/{ticket}/{path}"),
                body,
                &sam,
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}

#[tokio::test]
async fn a_bearer_token_from_the_environment_acts_without_a_cookie() {
    // SAFETY of the test: this variable is read only by this test's server.
    std::env::set_var("SWITCHBOARD_TEST_STAFF_TOKEN", "robot-token-0123456789abcdef");
    let server = Server::new();
    let (_token, ticket) = server.billing_ticket(None).await;
    let robot = Auth {
        bearer: Some("robot-token-0123456789abcdef".into()),
        ..Auth::default()
    };
    let (status, body) = server.act(&ticket, "claim", None, &robot).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["assignee"], "robot");
    let impostor = Auth {
        bearer: Some("robot-token-0123456789abcdeX".into()),
        ..Auth::default()
    };
    let (status, _) = server.call(Method::GET, "/api/v1/tickets", None, &impostor).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn too_many_requests_get_429_with_retry_after() {
    let server = Server::with_config(config(
        "[limits]\nrequests_per_minute_per_client = 5\nmessages_per_minute_per_conversation = 2",
    ));
    let token = server.start(None).await;
    server.say(&token, "Wer stellt mir die Rechnung aus?").await;
    server.say(&token, "Und wann kommt sie?").await;
    // The conversation's allowance (2 per minute) is spent.
    let (status, body) = server.message(&token, json!({ "text": "Hallo?" })).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited");
    // The client's (5 per minute: four used) runs out next.
    let _ = server.get("/").await;
    let request = Request::get("/api/v1/queues").body(Body::empty()).unwrap();
    let (status, headers, body) = server.send(request).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Health stays reachable for the load balancer.
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_oversize_body_is_refused_with_413_and_a_json_error() {
    let server = Server::with_config(config("[limits]\nmax_body_bytes = 4096"));
    let token = server.start(None).await;
    let (status, body) = server
        .message(&token, json!({ "text": "x".repeat(10_000) }))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "payload_too_large");
    // Malformed JSON and unknown fields are named.
    let (status, body) = server.message(&token, json!({ "txt": "hi" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["message"].as_str().unwrap().contains("txt"), "{body}");
}

#[tokio::test]
async fn hostile_text_is_stored_as_text_and_every_page_forbids_inline_script() {
    let server = Server::new();
    let token = server.start(Some(XSS)).await;
    let events = server
        .say(
            &token,
            &format!("Bitte erstatten Sie die doppelt abgebuchten 10 EUR {XSS}"),
        )
        .await;
    assert!(
        events[0]["text"].as_str().unwrap().contains(XSS),
        "kept verbatim, as text"
    );
    let ticket = events.last().unwrap()["ticket"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let anna = server.sign_in("anna").await;
    let (_, list) = server.call(Method::GET, "/api/v1/tickets", None, &anna).await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == ticket.as_str())
        .unwrap();
    assert_eq!(listed["customer"], XSS);
    server.claim_and_reply(&ticket, XSS, &anna).await;

    for path in [
        "/",
        "/staff",
        "/api/v1/queues",
        &format!("/api/v1/conversations/{token}"),
    ] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let (_, headers, _) = server.send(request).await;
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    }
    // The JSON API returns the text as JSON strings, never as HTML.
    let request = Request::get(format!("/api/v1/conversations/{token}"))
        .body(Body::empty())
        .unwrap();
    let (_, headers, view) = server.send(request).await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(view["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["text"] == XSS && e["author"] == "staff"));
}

#[tokio::test]
async fn a_card_number_in_the_name_or_a_message_never_reaches_staff() {
    let server = Server::new();
    let token = server.start(Some("Dana 4111 1111 1111 1111")).await;
    let events = server
        .say(
            &token,
            "Bitte erstatten Sie die doppelt abgebuchten 80 EUR, Karte 4111-1111-1111-1111",
        )
        .await;
    assert!(
        events
            .iter()
            .all(|e| !e["text"].as_str().unwrap_or("").contains("4111-1111")),
        "{events:#?}"
    );
    assert!(
        events.iter().any(|e| e["author"] == "notice"),
        "the customer is told: {events:#?}"
    );
    let anna = server.sign_in("anna").await;
    let (_, list) = server.call(Method::GET, "/api/v1/tickets", None, &anna).await;
    let text = list.to_string();
    // The number, not a four-digit run alone: timestamps hold "4111" by chance.
    assert!(
        !text.contains("4111 1111") && !text.contains("4111-1111"),
        "{text}"
    );
    assert!(text.contains("Dana"), "{text}");
}

#[tokio::test]
async fn guidance_text_is_escaped_on_section_pages() {
    let dir = tempfile::tempdir().unwrap();
    let knowledge = dir.path().join("knowledge/en-us");
    std::fs::create_dir_all(&knowledge).unwrap();
    std::fs::write(
        knowledge.join("hostile.md"),
        format!("---\ntitle: Hostile {XSS}\n---\n\n# Refunds {XSS}\n\nRefunds take {XSS} five days.\n"),
    )
    .unwrap();
    let server = Server {
        state: WebState::new(
            desk_over(&dir.path().join("knowledge"), &dir.path().join("t.sqlite3")),
            config(""),
            [1; 32],
        ),
        _dir: dir,
    };
    let (status, _) = server.get("/api/v1/search?q=refunds").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "search is for staff");
    let (status, section) = server.get("/api/v1/sections/en-us/hostile.md").await;
    assert_eq!(status, StatusCode::OK, "{section}");
    let (status, page) = server.get("/kb/en-us/hostile.md").await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(!page.contains("<img"), "{page}");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"), "{page}");
}

#[tokio::test]
async fn a_staff_reply_reaches_the_customers_live_connection_at_once() {
    let server = Server::new();
    let (token, ticket) = server.billing_ticket(None).await;
    let anna = server.sign_in("anna").await;
    let (_, before) = server.get(&format!("/api/v1/conversations/{token}")).await;
    let seen = before["events"].as_array().unwrap().len();
    let request = Request::get(format!("/api/v1/conversations/{token}/events?after={seen}"))
        .body(Body::empty())
        .unwrap();
    let response = app(Arc::clone(&server.state)).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body();
    server.claim_and_reply(&ticket, "Schon erledigt.", &anna).await;
    let started = std::time::Instant::now();
    let mut text = String::new();
    while !text.contains("Schon erledigt.") {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(2), body.frame())
            .await
            .expect("the reply arrives within 2 s")
            .unwrap()
            .unwrap();
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1_500),
        "{:?}",
        started.elapsed()
    );
    assert!(text.contains(&format!("id: {}", seen + 1)), "{text}");
}

#[tokio::test]
async fn a_conversation_survives_a_restart_through_its_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let tickets = dir.path().join("tickets.sqlite3");
    let first = Server {
        state: WebState::new(desk_over(&repo("knowledge"), &tickets), config(""), [9; 32]),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (token, ticket) = first.billing_ticket(Some("Dana")).await;
    drop(first);
    let second = Server {
        state: WebState::new(desk_over(&repo("knowledge"), &tickets), config(""), [9; 32]),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (status, view) = second.get(&format!("/api/v1/conversations/{token}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let texts: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("1.234,56 EUR")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains(&ticket)), "{texts:?}");
    // A new server key makes old tokens unknown, not someone else's.
    let third = Server {
        state: WebState::new(desk_over(&repo("knowledge"), &tickets), config(""), [10; 32]),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (status, _) = third.get(&format!("/api/v1/conversations/{token}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_and_readiness() {
    let server = Server::new();
    assert_eq!(server.get("/healthz").await.0, StatusCode::OK);
    assert_eq!(server.get("/readyz").await.0, StatusCode::OK);
    let (status, body) = server.get("/api/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn the_openapi_document_describes_every_endpoint() {
    let server = Server::new();
    let (status, doc) = server.get("/api/v1/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    for (path, method) in [
        ("/api/v1/conversations", "post"),
        ("/api/v1/conversations/{token}", "get"),
        ("/api/v1/conversations/{token}/messages", "post"),
        ("/api/v1/conversations/{token}/feedback", "post"),
        ("/api/v1/conversations/{token}/handoff", "post"),
        ("/api/v1/conversations/{token}/events", "get"),
        ("/api/v1/staff/session", "post"),
        ("/api/v1/staff/session", "get"),
        ("/api/v1/staff/session", "delete"),
        ("/api/v1/queues", "get"),
        ("/api/v1/tickets", "get"),
        ("/api/v1/tickets/{id}", "get"),
        ("/api/v1/tickets/{id}/claim", "post"),
        ("/api/v1/tickets/{id}/take-over", "post"),
        ("/api/v1/tickets/{id}/reply", "post"),
        ("/api/v1/tickets/{id}/escalate", "post"),
        ("/api/v1/tickets/{id}/resolve", "post"),
        ("/api/v1/search", "get"),
        ("/api/v1/sections/{citation}", "get"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not described"
        );
    }
    let schema = &doc["components"]["schemas"]["ChatEvent"]["properties"];
    for field in [
        "id",
        "author",
        "text",
        "citations",
        "ticket",
        "asks_feedback",
        "offers_human",
    ] {
        assert!(schema[field].is_object(), "ChatEvent.{field}");
    }
}

#[tokio::test]
async fn passwords_are_not_guessed_at_the_pace_of_ordinary_requests() {
    let server = Server::new();
    let limit = switchboard_web::limits::SIGN_INS_PER_MINUTE;
    for _ in 0..limit {
        let (status, _) = server
            .post(
                "/api/v1/staff/session",
                json!({ "user": "anna", "password": "guess" }),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Spent: even the right password waits now, and says so.
    let (status, body) = server
        .post(
            "/api/v1/staff/session",
            json!({ "user": "anna", "password": "s3cret-pass" }),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited");
}

#[tokio::test]
async fn live_connections_per_client_are_capped_and_given_back_when_closed() {
    let server = Server::with_config(config("[limits]\nmax_live_connections_per_client = 2"));
    let token = server.start(None).await;
    let open = || async {
        let request = Request::get(format!("/api/v1/conversations/{token}/events"))
            .body(Body::empty())
            .unwrap();
        app(Arc::clone(&server.state)).oneshot(request).await.unwrap()
    };
    let first = open().await;
    let second = open().await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(second.status(), StatusCode::OK);
    let third = open().await;
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    drop(first);
    assert_eq!(
        open().await.status(),
        StatusCode::OK,
        "a closed one gives its place back"
    );
    drop(second);
}

#[tokio::test]
async fn only_the_partner_sites_may_frame_the_chat_and_nobody_the_console() {
    let server = Server::with_config(config("allowed_origins = [\"https://www.partner.example\"]"));
    let headers_of = |path: &'static str| {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let app = app(Arc::clone(&server.state));
        async move { app.oneshot(request).await.unwrap().headers().clone() }
    };
    let chat = headers_of("/").await;
    let csp = chat[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'self' https://www.partner.example"),
        "{csp}"
    );
    assert!(
        chat.get(header::X_FRAME_OPTIONS).is_none(),
        "CSP says who may frame it"
    );
    for path in ["/staff", "/kb/en-us/none.md", "/api/v1/queues"] {
        let headers = headers_of(path).await;
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
    }
    let widget = headers_of("/widget.js").await;
    assert!(widget[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
}

/// A send repeated with its id (the answer was lost; the browser sends again, possibly to
/// another replica) is answered again but stored once; a malformed id is refused.
#[tokio::test]
async fn a_message_sent_again_with_its_id_is_stored_once_on_any_replica() {
    let dir = tempfile::tempdir().unwrap();
    let tickets = dir.path().join("tickets.sqlite3");
    let replica = || Server {
        state: WebState::new(desk_over(&repo("knowledge"), &tickets), config(""), [7; 32]),
        _dir: tempfile::tempdir().unwrap(),
    };
    let (first, second) = (replica(), replica());
    let token = first.start(Some("Eve")).await;
    let send = json!({"text": "Wir wurden doppelt belastet, 1.234,56 EUR, bitte erstatten", "id": "send-1"});
    let (status, once) = first.message(&token, send.clone()).await;
    assert_eq!(status, StatusCode::OK, "{once}");
    let ticket = once["events"].as_array().unwrap().last().unwrap()["ticket"]["id"]
        .as_str()
        .expect("a handoff")
        .to_string();
    let (_, again) = first.message(&token, send.clone()).await;
    assert_eq!(again, once, "the same events from the same replica");
    let (status, elsewhere) = second.message(&token, send).await;
    assert_eq!(status, StatusCode::OK, "{elsewhere}");
    let desk = desk_over(&repo("knowledge"), &tickets);
    let stored = desk.store().get(&ticket).unwrap();
    let customer: Vec<_> = stored
        .transcript
        .iter()
        .filter(|e| e.text.contains("doppelt belastet"))
        .collect();
    assert_eq!(customer.len(), 1, "{:#?}", stored.transcript);
    assert_eq!(customer[0].id.as_deref(), Some("send-1"));
    for bad in ["", "has space", &"x".repeat(65), "<script>"] {
        let (status, body) = first.message(&token, json!({"text": "hi", "id": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

/// An account with several roles acts in the one the ticket's queue allows, whichever is
/// listed first; the audit names the person.
#[tokio::test]
async fn an_account_with_several_roles_acts_in_the_one_the_queue_allows() {
    let server = Server::new();
    let (_token, ticket) = server.billing_ticket(None).await;
    let mia = server.sign_in("mia").await;
    let (status, body) = server
        .call(Method::GET, &format!("/api/v1/tickets/{ticket}"), None, &mia)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = server.act(&ticket, "claim", None, &mia).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["assignee"], "mia");
}
