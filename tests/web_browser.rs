//! End to end in real headless Chromium (Debian's `chromium` and `chromium-driver`, driven
//! through ChromeDriver with fantoccini): a customer asks in German, follows the citation,
//! asks for a person; a staff member signs in in a second browser, finds the ticket in the
//! billing queue and replies; the reply appears on the customer's page without reload; an
//! XSS payload stays text on both pages. Screenshots of both pages are saved (to
//! `SWITCHBOARD_SCREENSHOTS`, default `target/screenshots`).
//!
//! Without ChromeDriver the test says so and passes, unless `SWITCHBOARD_REQUIRE_BROWSER` is
//! set (as `.ci/run` does), where it fails.

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_core::desk::Desk;
use switchboard_core::plugins::{load_plugins, load_support_model};
use switchboard_core::{Router, RouterConfig};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;
use switchboard_tickets::SqliteTicketStore;
use switchboard_web::auth::hash_password;
use switchboard_web::{WebConfig, WebState};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const XSS: &str = "<img src=x onerror=alert(1)>";

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver() -> (Driver, u16) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, port)
}

async fn browser(driver_port: u16, profile: &Path) -> Client {
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--lang=de-DE", "--window-size=1000,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": { "intl.accept_languages": "de-DE,de" }
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    // The workspace builds rustls with two crypto providers (serenity brings the second), so
    // none is chosen on its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    ClientBuilder::rustls()
        .expect("TLS set up")
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session")
}

/// Waits for an element (CSS) whose text contains `text`.
async fn wait_for_text(
    client: &Client,
    css: &str,
    text: &str,
    within: Duration,
) -> fantoccini::elements::Element {
    let deadline = Instant::now() + within;
    loop {
        for element in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
            if element.text().await.unwrap_or_default().contains(text) {
                return element;
            }
        }
        assert!(
            Instant::now() < deadline,
            "no `{css}` with text `{text}` within {within:?}; page text: {}",
            client
                .find(Locator::Css("body"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn type_into(client: &Client, id: &str, text: &str) {
    client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn no_injected_markup(client: &Client, page: &str) {
    // An alert would block the session: a script ran.
    assert!(
        client.get_alert_text().await.is_err(),
        "{page}: an alert opened, the payload ran"
    );
    let images = client.find_all(Locator::Css("main img")).await.unwrap();
    assert!(images.is_empty(), "{page}: the payload became an element");
}

async fn screenshot(client: &Client, name: &str) {
    let dir =
        std::env::var_os("SWITCHBOARD_SCREENSHOTS").map_or_else(|| repo("target/screenshots"), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_and_staff_in_two_browsers() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("SWITCHBOARD_REQUIRE_BROWSER").is_none(),
            "SWITCHBOARD_REQUIRE_BROWSER is set but {CHROMEDRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver)"
        );
        eprintln!("skipped: no {CHROMEDRIVER} / {CHROMIUM} (apt-get install chromium chromium-driver)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteTicketStore::open(&dir.path().join("tickets.sqlite3")).unwrap());
    let kb = KnowledgeBase::build_in_ram(&ingest_roots(&[repo("knowledge")]).sections).unwrap();
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(&repo("plugins"), &support);
    let desk = Arc::new(Desk::new(
        Router::new(kb, plugins, support, RouterConfig::default()),
        store,
        72,
    ));
    let config = WebConfig::from_toml(&format!(
        "[[staff]]\nuser = \"anna\"\nroles = [\"billing-admin\"]\npassword_hash = \"{}\"\n",
        hash_password("anna-password-1").unwrap()
    ))
    .unwrap();
    let state = WebState::new(desk, config, [3; 32]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // `localhost`, not 127.0.0.1: browsers keep Secure cookies for it over plain HTTP.
    let base = format!("http://localhost:{port}");
    let (_stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(switchboard_web::serve(listener, state, async {
        let _ = stop_rx.await;
    }));

    let (_driver, driver_port) = start_driver().await;
    let customer = browser(driver_port, &dir.path().join("customer-profile")).await;
    let staff = browser(driver_port, &dir.path().join("staff-profile")).await;

    // The customer asks in German and sees the answer with its citation.
    customer.goto(&format!("{base}/")).await.unwrap();
    let lang = customer
        .execute("return document.documentElement.lang", vec![])
        .await
        .unwrap();
    assert_eq!(lang, "de", "the page follows the browser's language");
    type_into(&customer, "message", "Wer stellt mir die Rechnung aus?").await;
    click(&customer, "#send").await;
    let citation = wait_for_text(
        &customer,
        ".message.bot a.citation",
        "Rechnung",
        Duration::from_secs(10),
    )
    .await;
    let href = citation.attr("href").await.unwrap().unwrap();
    assert!(href.contains("/kb/de-de/"), "{href}");

    // "Talk to a person": the ticket id is shown.
    click(&customer, "#human").await;
    let ticket = wait_for_text(&customer, ".ticket-id", "T-", Duration::from_secs(10))
        .await
        .text()
        .await
        .unwrap();

    // The staff member signs in in another browser and finds the ticket in the billing queue.
    staff.goto(&format!("{base}/staff")).await.unwrap();
    staff.wait().for_element(Locator::Id("user")).await.unwrap();
    wait_for_text(&staff, "#sign-in button", "Sign in", Duration::from_secs(5)).await;
    type_into(&staff, "user", "anna").await;
    type_into(&staff, "password", "anna-password-1").await;
    click(&staff, "#sign-in button[type=submit]").await;
    click_ticket_link(&staff, &ticket).await;
    wait_for_text(&staff, "#ticket-title", &ticket, Duration::from_secs(5)).await;
    click(&staff, "#claim").await;
    wait_for_text(&staff, "#status", "claimed", Duration::from_secs(5)).await;

    // The reply appears on the customer's page within 2 s, without reload.
    let reply = "Wir prüfen Ihre Rechnung und melden uns heute.";
    type_into(&staff, "reply", reply).await;
    click(&staff, "#reply-form button[type=submit]").await;
    let sent = Instant::now();
    wait_for_text(&customer, ".message.staff .text", reply, Duration::from_secs(2)).await;
    let delay = sent.elapsed();
    assert!(delay < Duration::from_secs(2), "{delay:?}");

    // An XSS payload stays text on both pages.
    type_into(&customer, "message", &format!("Noch etwas: {XSS}")).await;
    click(&customer, "#send").await;
    wait_for_text(&customer, ".message.customer .text", XSS, Duration::from_secs(10)).await;
    no_injected_markup(&customer, "customer page").await;
    link_again(&staff, &ticket).await;
    wait_for_text(&staff, "#transcript .text", XSS, Duration::from_secs(5)).await;
    no_injected_markup(&staff, "staff console").await;

    screenshot(&customer, "web-chat.png").await;
    screenshot(&staff, "staff-console.png").await;
    customer.close().await.unwrap();
    staff.close().await.unwrap();
    eprintln!("staff reply shown to the customer after {delay:?}");
}

/// Opens the ticket again (the console reads it fresh). The list is drawn anew when the
/// refresh answers, so a link found just before can go stale: it is found again then.
async fn link_again(staff: &Client, ticket: &str) {
    click(staff, "#refresh").await;
    click_ticket_link(staff, ticket).await;
}

/// Clicks the ticket's link in the billing queue, finding it again if the list was redrawn.
async fn click_ticket_link(staff: &Client, ticket: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let link = wait_for_text(
            staff,
            "section.queue[data-queue=billing] a.ticket-link",
            ticket,
            Duration::from_secs(5),
        )
        .await;
        match link.click().await {
            Ok(()) => return,
            Err(e) if Instant::now() < deadline => {
                eprintln!("the ticket link changed under the click ({e}); finding it again");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the ticket link could not be clicked: {e}"),
        }
    }
}
