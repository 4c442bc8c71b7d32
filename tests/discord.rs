//! The Discord adapter end to end: the real serenity client against a fake Discord on
//! 127.0.0.1 (REST routes and a gateway websocket) inside this test process. The fake records
//! every request; a request to a route it does not know fails the test.

use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use switchboard_core::desk::Desk;
use switchboard_core::plugins::{load_plugins, load_support_model};
use switchboard_core::tickets::{StaffAction, TicketStatus, TicketStore};
use switchboard_core::{Router, RouterConfig};
use switchboard_discord::{build_client, run, Bot, DiscordConfig, Shards};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::KnowledgeBase;
use switchboard_tickets::SqliteTicketStore;

#[path = "support/fake_discord.rs"]
mod fake_discord;

use fake_discord::{
    ask_in_dm, member, message, start_fake, user, GatewayCommand, APP, BILLING_CHANNEL, BILLING_PING, BOT,
    CONFIG, CUSTOMER, DM, GUILD, HELPDESK_AGENT_ROLE, HELPDESK_CHANNEL, HELPDESK_PING, SALES_AGENT_ROLE,
};

fn repo(dir: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

/// The bot over the bundled knowledge and plugins, connected to a fresh fake Discord.
struct Running {
    fake: fake_discord::Fake,
    gateway: tokio::sync::mpsc::UnboundedSender<GatewayCommand>,
    store: Arc<SqliteTicketStore>,
    desk: Arc<Desk>,
    config: DiscordConfig,
    client: Arc<serenity::all::ShardManager>,
    bot: switchboard_discord::BotHandle,
    _data: tempfile::TempDir,
}

async fn running() -> Running {
    running_with("").await
}

/// As [`running`], with `extra` lines added to the Discord configuration.
async fn running_with(extra: &str) -> Running {
    let (fake, gateway) = start_fake().await;
    let data = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteTicketStore::open(&data.path().join("tickets.sqlite3")).unwrap());
    let (support, _) = load_support_model(&repo("plugins"));
    let config = DiscordConfig::from_toml(&format!("{extra}\n{CONFIG}"), &support.queue_ids()).unwrap();
    let desk = desk_over(store.clone());
    let (client, bot) = connect(&fake, Arc::clone(&desk), config.clone()).await;
    Running {
        fake,
        gateway,
        store,
        desk,
        config,
        client,
        bot,
        _data: data,
    }
}

/// A desk over the bundled knowledge and plugins, keeping tickets in `store`.
fn desk_over(store: Arc<SqliteTicketStore>) -> Arc<Desk> {
    let kb = KnowledgeBase::build_in_ram(&ingest_roots(&[repo("knowledge")]).sections).unwrap();
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(&repo("plugins"), &support);
    let router = Router::new(kb, plugins, support, RouterConfig::default());
    Arc::new(Desk::new(router, store, 72))
}

/// A helpdesk agent acts on a ticket outside Discord (the web console, the terminal: the desk).
fn as_console(desk: &Desk, id: &str, action: StaffAction) {
    let staff = switchboard_core::desk::StaffMember {
        user: "webby".into(),
        role: switchboard_core::StaffRole::HelpdeskAgent,
    };
    desk.staff_act(&staff, id, action, jiff::Timestamp::now())
        .unwrap();
}

/// A bot over `desk` connected to `fake` (a second call is a restart on the same database);
/// its shard manager stops it.
async fn connect(
    fake: &fake_discord::Fake,
    desk: Arc<Desk>,
    config: DiscordConfig,
) -> (Arc<serenity::all::ShardManager>, switchboard_discord::BotHandle) {
    let identified = fake.identifies();
    let bot = Bot::new(desk, config);
    let handle = bot.handle();
    let mut client = build_client(bot, "test-token", Some(&fake.base)).await.unwrap();
    let shards = Arc::clone(&client.shard_manager);
    tokio::spawn(async move {
        let _ = run(&mut client, Shards::Fixed(1)).await;
    });
    fake.wait_identifies(identified + 1).await;
    (shards, handle)
}

/// Customer `customer` writes `text` in the DM channel as message `id`.
fn customer_says(
    gateway: &tokio::sync::mpsc::UnboundedSender<GatewayCommand>,
    id: u64,
    customer: u64,
    text: &str,
) {
    gateway
        .send(GatewayCommand::Dispatch(
            "MESSAGE_CREATE",
            message(id, DM, user(customer, "casey", false), text, None),
        ))
        .unwrap();
}

/// The customer asks for a person in the DM channel; message id `id`.
fn ask_for_a_person(gateway: &tokio::sync::mpsc::UnboundedSender<GatewayCommand>, id: u64) {
    customer_says(
        gateway,
        id,
        CUSTOMER,
        "please call me back, I want to talk to a person",
    );
}

/// The customer asks for a person (message `id`); the helpdesk staff thread the ticket is
/// posted in.
async fn handoff_thread(
    fake: &fake_discord::Fake,
    gateway: &tokio::sync::mpsc::UnboundedSender<GatewayCommand>,
    id: u64,
) -> u64 {
    ask_for_a_person(gateway, id);
    let (_, post) = fake
        .wait_for(0, "the ticket post", |r| {
            r.status == 200 && is_ticket_post(r, HELPDESK_PING)
        })
        .await;
    post.path.split('/').nth(4).unwrap().parse().unwrap()
}

/// Requests answered with 200 matching `pred`.
fn succeeded(fake: &fake_discord::Fake, pred: impl Fn(&fake_discord::Recorded) -> bool) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.status == 200 && pred(r))
        .count()
}

fn is_ticket_post(r: &fake_discord::Recorded, ping: u64) -> bool {
    r.body["content"]
        .as_str()
        .is_some_and(|c| c.contains(&format!("<@&{ping}> new ticket")))
}

fn is_dm_post(r: &fake_discord::Recorded) -> bool {
    r.method == "POST" && r.path == format!("/api/v10/channels/{DM}/messages")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_call_is_retried_alone_the_customer_is_told_once_and_staff_get_the_ticket() {
    let Running { fake, gateway, .. } = running().await;
    // The thread and then the ticket post in it fail once each.
    fake.fail("POST", &format!("/channels/{HELPDESK_CHANNEL}/threads"), 500, 1);
    fake.fail_body("POST", "new ticket", 500, 1);
    ask_for_a_person(&gateway, 80);
    fake.wait_for(0, "the ticket posted in its thread", |r| {
        r.status == 200 && is_ticket_post(r, HELPDESK_PING)
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        succeeded(&fake, is_dm_post),
        1,
        "one acknowledgement: {:#?}",
        fake.requests()
    );
    assert_eq!(
        succeeded(&fake, |r| r.path.ends_with("/threads")),
        1,
        "one thread"
    );
    assert_eq!(succeeded(&fake, |r| is_ticket_post(r, HELPDESK_PING)), 1);
    assert_eq!(
        fake.requests().iter().filter(|r| r.status == 500).count(),
        2,
        "both faults were hit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_that_lasts_is_waited_out_and_the_answer_still_arrives() {
    let Running { fake, gateway, .. } = running().await;
    fake.rate_limit(
        "POST",
        &format!("/channels/{DM}/messages"),
        std::time::Duration::from_millis(1500),
    );
    customer_says(
        &gateway,
        90,
        CUSTOMER,
        "what happens to our access if we do not pay an invoice?",
    );
    fake.wait_for(0, "the answer after the rate limit", |r| {
        r.status == 200 && is_dm_post(r)
    })
    .await;
    // The call waited as long as the 429 asked (`retry_after`), so it was limited once, not
    // tried again and again on a guessed schedule.
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.status == 429 && is_dm_post(r))
            .count(),
        1,
        "{:#?}",
        fake.requests()
    );
    assert_eq!(succeeded(&fake, is_dm_post), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_whose_reply_edit_fails_is_acknowledged_once_and_acts_once() {
    let Running {
        fake, gateway, store, ..
    } = running().await;
    let thread = handoff_thread(&fake, &gateway, 100).await;
    fake.fail(
        "PATCH",
        &format!("/webhooks/{APP}/tok-101/messages/@original"),
        500,
        1,
    );
    let before = fake.requests().len();
    gateway
        .send(GatewayCommand::Dispatch(
            "INTERACTION_CREATE",
            json!({
                "id": "101", "application_id": APP.to_string(), "type": 2, "token": "tok-101", "version": 1,
                "data": {"id": "9001", "name": "claim", "type": 1}, "guild_id": GUILD.to_string(),
                "channel_id": thread.to_string(), "member": member(333, "hana", &[HELPDESK_AGENT_ROLE]),
                "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608
            }),
        ))
        .unwrap();
    fake.wait_for(before, "the command's answer after the retry", |r| {
        r.status == 200 && r.method == "PATCH"
    })
    .await;
    fake.wait_for(before, "the customer told", |r| {
        is_dm_post(r) && r.body.to_string().contains("Your ticket T-1")
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let callbacks = fake.requests()[before..]
        .iter()
        .filter(|r| r.path == "/api/v10/interactions/101/tok-101/callback")
        .count();
    assert_eq!(
        callbacks,
        1,
        "acknowledged once: {:#?}",
        &fake.requests()[before..]
    );
    assert_eq!(
        fake.requests()[before..]
            .iter()
            .filter(|r| is_dm_post(r) && r.body.to_string().contains("Your ticket T-1"))
            .count(),
        1,
        "the customer is told once"
    );
    let claims = store
        .get("T-1")
        .unwrap()
        .audit
        .iter()
        .filter(|a| a.action.contains("claim"))
        .count();
    assert_eq!(claims, 1, "claimed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_hear_of_a_ticket_whose_thread_failed_when_the_bot_restarts() {
    let Running {
        fake,
        gateway,
        desk,
        config,
        client,
        ..
    } = running().await;
    let threads = format!("/channels/{HELPDESK_CHANNEL}/threads");
    fake.fail("POST", &threads, 500, 1000);
    ask_for_a_person(&gateway, 110);
    fake.wait_for(0, "the customer's acknowledgement", |r| {
        r.status == 200 && is_dm_post(r)
    })
    .await;
    // Every attempt at the thread failed; the process stops.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(&threads))
        .count()
        < 3
    {
        assert!(std::time::Instant::now() < deadline, "{:#?}", fake.requests());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    client.shutdown_all().await;
    assert_eq!(succeeded(&fake, |r| is_ticket_post(r, HELPDESK_PING)), 0);
    // Restarted with Discord healthy again: the outbox delivers the ticket to staff, and the
    // customer, told already, is not told again.
    fake.heal();
    let before = fake.requests().len();
    let _restarted = connect(&fake, desk, config).await;
    fake.wait_for(before, "the ticket posted after the restart", |r| {
        r.status == 200 && is_ticket_post(r, HELPDESK_PING)
    })
    .await;
    assert_eq!(succeeded(&fake, |r| r.path.ends_with(&threads)), 1);
    assert_eq!(succeeded(&fake, is_dm_post), 1, "{:#?}", fake.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_escalated_to_another_queue_reaches_that_queues_staff() {
    let Running {
        fake, gateway, store, ..
    } = running().await;
    let old_thread = handoff_thread(&fake, &gateway, 120).await;
    let command = |id: &str, name: &str, options: serde_json::Value| {
        json!({
            "id": id, "application_id": APP.to_string(), "type": 2, "token": format!("tok-{id}"), "version": 1,
            "data": {"id": "9002", "name": name, "type": 1, "options": options},
            "guild_id": GUILD.to_string(), "channel_id": old_thread.to_string(),
            "member": member(333, "hana", &[HELPDESK_AGENT_ROLE]),
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608
        })
    };
    let before = fake.requests().len();
    gateway
        .send(GatewayCommand::Dispatch(
            "INTERACTION_CREATE",
            command("122", "claim", json!([])),
        ))
        .unwrap();
    fake.wait_for(before, "the claim", |r| {
        r.method == "PATCH" && r.body["content"].as_str().unwrap_or("").contains("claimed")
    })
    .await;
    let before = fake.requests().len();
    gateway
        .send(GatewayCommand::Dispatch(
            "INTERACTION_CREATE",
            command(
                "121",
                "escalate",
                json!([{"name": "queue", "type": 3, "value": "billing"}]),
            ),
        ))
        .unwrap();
    fake.wait_for(before, "a thread in the billing staff channel", |r| {
        r.status == 200 && r.path == format!("/api/v10/channels/{BILLING_CHANNEL}/threads")
    })
    .await;
    fake.wait_for(before, "the ticket posted to billing, pinging its role", |r| {
        r.status == 200 && is_ticket_post(r, BILLING_PING)
    })
    .await;
    fake.wait_for(before, "the old thread told where the ticket went", |r| {
        r.path == format!("/api/v10/channels/{old_thread}/messages")
            && r.body["content"].as_str().unwrap_or("").contains("billing")
    })
    .await;
    assert_eq!(store.get("T-1").unwrap().queue, "billing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_who_sends_a_request_twice_at_once_gets_one_ticket_and_one_thread() {
    let Running {
        fake, gateway, store, ..
    } = running().await;
    for id in [60, 61] {
        customer_says(
            &gateway,
            id,
            CUSTOMER,
            "please call me back, I want to talk to a person",
        );
    }
    fake.wait_for(0, "a thread for the ticket", |r| {
        r.path == format!("/api/v10/channels/{HELPDESK_CHANNEL}/threads")
    })
    .await;
    // Both turns are through once the second message is in the ticket's transcript.
    for _ in 0..200 {
        let customer_lines = store.get("T-1").map_or(0, |t| {
            t.transcript
                .iter()
                .filter(|e| e.text.contains("call me back"))
                .count()
        });
        if customer_lines >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let threads = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/threads"))
        .count();
    assert_eq!(threads, 1, "one thread: {:#?}", fake.requests());
    assert!(store.get("T-2").is_err(), "one ticket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_or_control_characters_alone_get_words_back_never_an_empty_embed() {
    let Running { fake, gateway, .. } = running().await;
    let mut screenshot = message(70, DM, user(CUSTOMER, "casey", false), "", None);
    screenshot["attachments"] = json!([{
        "id": "5", "filename": "error.png", "size": 1000,
        "url": "https://cdn.example/error.png", "proxy_url": "https://cdn.example/error.png"
    }]);
    let control = message(71, DM, user(CUSTOMER, "casey", false), "\u{1}\u{2}\u{7}", None);
    for (m, what) in [
        (screenshot, "the screenshot"),
        (control, "the control characters"),
    ] {
        let before = fake.requests().len();
        gateway
            .send(GatewayCommand::Dispatch("MESSAGE_CREATE", m))
            .unwrap();
        let (_, reply) = fake
            .wait_for(before, what, |r| {
                r.method == "POST" && r.path == format!("/api/v10/channels/{DM}/messages")
            })
            .await;
        let description = reply.body["embeds"][0]["description"].as_str().unwrap_or("");
        assert!(!description.trim().is_empty(), "{what}: {}", reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_through_the_real_serenity_client() {
    let Running {
        fake,
        gateway,
        store,
        desk,
        config,
        _data,
        ..
    } = running().await;

    let (_, registration) = fake
        .wait_for(0, "slash command registration", |r| {
            r.method == "PUT" && r.path.ends_with("/commands")
        })
        .await;
    // Staff commands live in the staff guild only, and never in DMs.
    assert_eq!(
        registration.path,
        format!("/api/v10/applications/{APP}/guilds/{GUILD}/commands")
    );
    for command in registration.body.as_array().unwrap() {
        assert_eq!(command["dm_permission"], false, "{command}");
        assert!(!command["default_member_permissions"].is_null(), "{command}");
    }

    // 1. A DM question is answered with a citation embed and buttons.
    let customer = user(CUSTOMER, "casey", false);
    let (i, answer) = ask_in_dm(
        &fake,
        &gateway,
        10,
        "what happens to our access if we do not pay an invoice?",
    )
    .await;
    let embed = &answer.body["embeds"][0];
    assert!(
        embed["fields"][0]["value"]
            .as_str()
            .unwrap()
            .contains("`en-us/billing-policy.md#nonpayment`"),
        "{embed}"
    );
    // The sources are fields and feedback is buttons: the text does not repeat them.
    let description = embed["description"].as_str().unwrap();
    assert!(
        !description.contains("Source:") && !description.contains("Was this helpful"),
        "{description}"
    );
    assert!(description.contains("suspend"), "{description}");
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
    // The ticket post pings the queue's role and nobody else.
    assert_eq!(
        post.body["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": [HELPDESK_PING.to_string()]}),
        "{}",
        post.body
    );
    assert!(
        post.body["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Ticket T-1"),
        "{}",
        post.body
    );
    // Written for people: suggested sections as links, not JSON.
    let fields = post.body["embeds"][0]["fields"].as_array().unwrap();
    for field in fields {
        let value = field["value"].as_str().unwrap();
        assert!(!value.contains("\"citation\""), "{field}");
    }
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
    let (_, relay) = fake
        .wait_for(before, "the relay to the DM", |r| {
            r.path == format!("/api/v10/channels/{DM}/messages")
                && r.body["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("Hello Casey, I can help.")
        })
        .await;
    assert_eq!(
        relay.body["allowed_mentions"]["parse"],
        json!([]),
        "{}",
        relay.body
    );
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
    customer_says(
        &gateway,
        40,
        CUSTOMER,
        "thanks, one more thing about the invoice @everyone <@&4242>",
    );
    fake.wait_gateway("resume").await;
    let (_, relayed) = fake
        .wait_for(before, "the message after the reconnect, in the thread", |r| {
            r.path == format!("/api/v10/channels/{thread}/messages")
                && r.body["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("one more thing")
        })
        .await;
    // Relayed as written, pinging nobody: `@everyone` and role mentions stay text.
    assert_eq!(
        relayed.body["allowed_mentions"],
        json!({"parse": [], "users": [], "roles": []}),
        "{}",
        relayed.body
    );
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
    // A restarted bot still knows the staff thread (from the ticket database).
    assert_eq!(Bot::new(desk, config).known_threads(), 1);
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
    let split = |shards: &str| {
        DiscordConfig::from_toml(
            &CONFIG.replace("shards = { fixed = 1 }", &format!("shards = {shards}")),
            &queues,
        )
    };
    assert_eq!(
        split("{ range = [2, 3], total = 4 }").unwrap().shards,
        Shards::Range {
            first: 2,
            last: 3,
            total: 4
        }
    );
    for bad in [
        "{ range = [3, 4], total = 4 }",
        "{ range = [2, 1], total = 4 }",
        "{ range = [0, 1] }",
        "{ range = [0, 1], total = 2, extra = 1 }",
    ] {
        assert!(split(bad).is_err(), "{bad}");
    }
    let err = split("{ range = [3, 4], total = 4 }").unwrap_err();
    assert!(err.to_string().contains("not within shards 0 to 3"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_post_shows_amounts_and_invoice_numbers_as_fields() {
    let Running { fake, gateway, .. } = running().await;
    customer_says(
        &gateway,
        130,
        CUSTOMER,
        "you charged us 1.234,56 € twice on invoice G012345678, please refund one of them",
    );
    let (_, post) = fake
        .wait_for(0, "the ticket posted to billing", |r| {
            r.status == 200 && is_ticket_post(r, BILLING_PING)
        })
        .await;
    let fields = post.body["embeds"][0]["fields"].as_array().unwrap();
    let field = |name: &str| {
        fields
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(field("Amounts").as_deref(), Some("1234.56 EUR"), "{fields:#?}");
    assert!(
        field("Invoices").is_some_and(|v| v.contains("G012345678")),
        "{fields:#?}"
    );
    assert!(field("Entities").is_none(), "no JSON dump: {fields:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_conversations_are_forgotten_so_memory_does_not_grow_with_customers() {
    for (extra, kept) in [("", 5), ("session_idle_minutes = 0", 1)] {
        let Running {
            fake, gateway, bot, ..
        } = running_with(extra).await;
        for customer in 0..5u64 {
            let from = fake.requests().len();
            customer_says(
                &gateway,
                200 + customer,
                5_000 + customer,
                "what happens to our access if we do not pay an invoice?",
            );
            fake.wait_for(from, "the answer", |r| r.status == 200 && is_dm_post(r))
                .await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(bot.live_sessions(), kept, "with `{extra}`");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_session_is_identified_again_and_customers_are_still_answered() {
    let Running { fake, gateway, .. } = running().await;
    gateway.send(GatewayCommand::InvalidSession).unwrap();
    fake.wait_gateway("invalid-session-sent").await;
    fake.wait_identifies(2).await;
    let (_, answer) = ask_in_dm(
        &fake,
        &gateway,
        140,
        "what happens to our access if we do not pay an invoice?",
    )
    .await;
    assert!(answer.body.to_string().contains("billing-policy.md#nonpayment"));
}

/// A reply written outside Discord (the web console, the terminal: through the desk) reaches
/// the Discord customer within seconds, once, in order with the thread's own replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_from_the_web_console_reaches_the_discord_customer_once() {
    let Running {
        fake, gateway, desk, ..
    } = running().await;
    let _thread = handoff_thread(&fake, &gateway, 130).await;
    let ticket = desk.store().get("T-1").unwrap();
    as_console(&desk, &ticket.id, StaffAction::Claim);
    let before = fake.requests().len();
    as_console(
        &desk,
        &ticket.id,
        StaffAction::Reply("Written in the web console.".into()),
    );
    let started = std::time::Instant::now();
    fake.wait_for(before, "the console reply in the customer's DM", |r| {
        is_dm_post(r)
            && r.status == 200
            && r.body["content"] == "**webby** (support): Written in the web console."
    })
    .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Later polls do not send it again.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let sent = succeeded(&fake, |r| {
        is_dm_post(r)
            && r.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("Written in the web console.")
    });
    assert_eq!(sent, 1);
}

/// Two bot processes on one ticket database (two replicas), the fake gateway handing each
/// event to whichever is free, and the customer's request delivered twice (a replay reaching
/// both): one ticket holding the message once, one staff thread, one ticket post, and a reply
/// from the web console relayed to the customer once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bots_on_one_database_post_each_notification_once() {
    let Running {
        fake,
        gateway,
        store,
        desk,
        config,
        _data: data,
        ..
    } = running().await;
    // The second process: its own connection to the database, its own desk.
    let store_2 = Arc::new(SqliteTicketStore::open(&data.path().join("tickets.sqlite3")).unwrap());
    let desk_2 = desk_over(store_2);
    let (_client_2, _bot_2) = connect(&fake, desk_2, config).await;

    ask_for_a_person(&gateway, 140);
    ask_for_a_person(&gateway, 140);
    fake.wait_for(0, "the ticket post", |r| {
        r.status == 200 && is_ticket_post(r, HELPDESK_PING)
    })
    .await;
    // Both deliveries are handled once both replies reached the customer.
    fake.wait_for(0, "the second reply", |r| {
        is_dm_post(r) && succeeded(&fake, is_dm_post) >= 2
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        succeeded(&fake, |r| r.path.ends_with("/threads")),
        1,
        "one thread: {:#?}",
        fake.requests()
    );
    assert_eq!(
        succeeded(&fake, |r| is_ticket_post(r, HELPDESK_PING)),
        1,
        "one ticket post"
    );
    let ticket = store.get("T-1").unwrap();
    let requests = ticket
        .transcript
        .iter()
        .filter(|e| e.text.contains("call me back"))
        .count();
    assert_eq!(requests, 1, "the message once: {:#?}", ticket.transcript);
    assert!(store.get("T-2").is_err(), "one ticket");

    as_console(&desk, "T-1", StaffAction::Claim);
    as_console(&desk, "T-1", StaffAction::Reply("One reply, two bots.".into()));
    let relayed = |fake: &fake_discord::Fake| {
        succeeded(fake, |r| {
            is_dm_post(r)
                && r.body["content"]
                    .as_str()
                    .unwrap_or("")
                    .contains("One reply, two bots.")
        })
    };
    fake.wait_for(0, "the console reply in the customer's DM", |r| {
        is_dm_post(r)
            && r.body["content"]
                .as_str()
                .unwrap_or("")
                .contains("One reply, two bots.")
    })
    .await;
    // Both bots poll for staff replies every 2 s: a few rounds pass.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(relayed(&fake), 1, "relayed once: {:#?}", fake.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_number_a_customer_posts_on_a_ticket_never_reaches_the_staff_thread() {
    let Running { fake, gateway, .. } = running().await;
    let thread = handoff_thread(&fake, &gateway, 90).await;
    let before = fake.requests().len();
    customer_says(
        &gateway,
        91,
        CUSTOMER,
        "you can charge my card 4111 1111 1111 1111, cvc 123, password is Sommer#2026",
    );
    let (_, relay) = fake
        .wait_for(before, "the message relayed to the staff thread", |r| {
            r.status == 200
                && r.path == format!("/api/v10/channels/{thread}/messages")
                && r.body["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("**Customer:**"))
        })
        .await;
    let relayed = relay.body["content"].as_str().unwrap();
    assert!(relayed.contains("charge my card"), "{relayed}");
    for secret in ["4111", "123", "Sommer#2026"] {
        assert!(!relayed.contains(secret), "{secret} relayed: {relayed}");
    }
    for r in fake.requests() {
        assert!(
            !r.body.to_string().contains("4111 1111"),
            "the card number was sent to Discord: {} {}",
            r.method,
            r.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_with_a_card_number_in_a_support_channel_is_removed_from_it_not_from_a_dm() {
    let Running { fake, gateway, .. } = running().await;
    let support_channel = 777;
    let says_in_channel = |id: u64, text: &str| {
        let mut m = message(
            id,
            support_channel,
            user(CUSTOMER, "casey", false),
            text,
            Some(&[]),
        );
        m["mentions"] = serde_json::json!([user(fake_discord::BOT, "switchboard", true)]);
        gateway
            .send(GatewayCommand::Dispatch("MESSAGE_CREATE", m))
            .unwrap();
    };
    let answered = |r: &fake_discord::Recorded| {
        r.status == 200
            && r.method == "POST"
            && r.path == format!("/api/v10/channels/{support_channel}/messages")
    };
    says_in_channel(95, "<@1001> how do invoices work?");
    fake.wait_for(0, "the answer to a message without secrets", answered)
        .await;
    let before = fake.requests().len();
    says_in_channel(
        96,
        "<@1001> please charge my card 4111 1111 1111 1111 for the invoice",
    );
    fake.wait_for(before, "the message with the card number removed", |r| {
        r.status == 200
            && r.method == "DELETE"
            && r.path == format!("/api/v10/channels/{support_channel}/messages/96")
    })
    .await;
    fake.wait_for(before, "the reply in the channel", answered).await;
    // In a direct message only the customer sees it, and Discord lets no bot delete it.
    let before_dm = fake.requests().len();
    customer_says(
        &gateway,
        97,
        CUSTOMER,
        "my card 4111 1111 1111 1111 was charged twice",
    );
    fake.wait_for(before_dm, "the reply in the DM", |r| {
        r.status == 200 && is_dm_post(r)
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let deleted: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        deleted,
        vec![format!("/api/v10/channels/{support_channel}/messages/96")],
        "only the support channel's message with a card number is removed"
    );
}
