//! The routing core on our own bundled knowledge/ and plugins/: plugin loading, decisions
//! in both languages, handoff details from the support model, conversation context.

#[path = "support/files.rs"]
mod files;
use files::copy_dir;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use switchboard_core::plugins::{load_plugins, load_support_model, parse_plugin, IntentAction};
use switchboard_core::{ConversationContext, Decision, Layers, Message, Outcome, Router, RouterConfig};
use switchboard_knowledge::ingest::ingest_roots;
use switchboard_knowledge::{KnowledgeBase, Language};

fn repo(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir)
}

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let kb = KnowledgeBase::build_in_ram(&ingest_roots(&[repo("knowledge")]).sections).unwrap();
        let (support, err) = load_support_model(&repo("plugins"));
        assert!(err.is_none(), "{err:?}");
        let plugins = load_plugins(&repo("plugins"), &support);
        assert!(plugins.errors.is_empty(), "{:?}", plugins.errors);
        Router::new(kb, plugins, support, RouterConfig::default())
    })
}

/// Friday 2026-11-27 10:00 in Berlin: every queue is open.
const OPEN: &str = "2026-11-27T09:00:00Z";
/// Saturday 2026-11-28 12:00 in Berlin: every queue is closed.
const CLOSED: &str = "2026-11-28T11:00:00Z";

fn decide_at(text: &str, at: &str) -> Decision {
    router()
        .decide(
            &Message::text(text),
            &mut ConversationContext::default(),
            at.parse().unwrap(),
        )
        .unwrap()
}

fn decide(text: &str) -> Decision {
    decide_at(text, OPEN)
}

/// Asserts the outcome (and queue for handoffs), showing the trace on failure.
fn check(text: &str, outcome: Outcome, queue: Option<&str>) -> Decision {
    let d = decide(text);
    assert_eq!(d.outcome, outcome, "{text}: {:#?}", d.trace);
    assert_eq!(
        d.handoff.as_ref().map(|h| h.queue.as_str()),
        queue,
        "{text}: {:#?}",
        d.trace
    );
    d
}

#[test]
fn explicit_requests_for_a_person_always_hand_off() {
    check(
        "can i talk to a real person please",
        Outcome::Handoff,
        Some("helpdesk"),
    );
    check(
        "Ich möchte mit einem Menschen sprechen",
        Outcome::Handoff,
        Some("helpdesk"),
    );
    // A person about a billing matter: the helpdesk or the billing team, both people.
    let d = decide("talk to a human about my invoice and refund");
    assert_eq!(d.outcome, Outcome::Handoff, "{:#?}", d.trace);
    let queue = d.handoff.as_ref().map(|h| h.queue.as_str());
    assert!(matches!(queue, Some("helpdesk" | "billing")), "{queue:?}");
    check("bitte um Rückruf", Outcome::Handoff, Some("helpdesk"));
    // Without a German keyboard: umlauts written as plain vowels or as ue.
    check("bitte um Ruckruf", Outcome::Handoff, Some("helpdesk"));
    check("bitte um Rueckruf", Outcome::Handoff, Some("helpdesk"));
}

#[test]
fn refunds_and_disputes_go_to_billing_with_exact_amounts() {
    let d = check(
        "we were charged twice for E3 this month, 1,234.56 EUR, please refund",
        Outcome::Handoff,
        Some("billing"),
    );
    let h = d.handoff.unwrap();
    assert_eq!(h.entities.amounts[0].amount.to_string(), "1234.56");
    assert_eq!(h.entities.amounts[0].currency, "EUR");
    assert!(h.summary.contains("1234.56 EUR"), "{}", h.summary);
    assert!(
        d.trace.fired.iter().any(|f| f.intent == "large-disputed-amount"),
        "money rule fires at >= 500 EUR"
    );
    let d = check(
        "Ich widerspreche der Rechnung, 49,90 € zu viel berechnet",
        Outcome::Handoff,
        Some("billing"),
    );
    assert!(
        !d.trace.fired.iter().any(|f| f.intent == "large-disputed-amount"),
        "below the threshold"
    );
    check(
        "die Lastschrift ist zurückgekommen, wie sollen wir zahlen",
        Outcome::Handoff,
        Some("billing"),
    );
    // A charge the customer cannot place is about their own invoice: a person checks it.
    check(
        "our invoice shows a charge we don't recognise",
        Outcome::Handoff,
        Some("billing"),
    );
    check(
        "auf unserer Rechnung ist ein Betrag, den wir nicht zuordnen können",
        Outcome::Handoff,
        Some("billing"),
    );
}

/// A card number or IBAN in the message is removed before anything reads it, and what was said
/// around it still decides: a German chargeback request with a card number was declined as
/// not understood, because the English mark left in its place was three unknown words.
#[test]
fn requests_with_card_numbers_or_ibans_are_routed_without_them() {
    for (text, number) in [
        (
            "Kreditkarte 5500 0000 0000 0004, bitte Rückbuchung",
            "5500 0000 0000 0004",
        ),
        (
            "meine IBAN ist DE89 3704 0044 0532 0130 00, bitte erstatten",
            "DE89 3704 0044 0532 0130 00",
        ),
        (
            "card 4111-1111-1111-1111 was charged twice, refund please",
            "4111-1111-1111-1111",
        ),
    ] {
        let d = check(text, Outcome::Handoff, Some("billing"));
        let h = d.handoff.as_ref().unwrap();
        assert!(h.summary.contains("removed]"), "{}", h.summary);
        let everything = format!("{} {} {:?}", d.reply, h.summary, d.trace).replace('-', " ");
        // The number's first two groups in any spacing, and all of it without separators: a
        // four-digit group alone also occurs in scores and times by chance.
        let groups: Vec<&str> = number.split([' ', '-']).collect();
        let compact: String = groups.concat();
        let leaked =
            everything.contains(&groups[..2].join(" ")) || everything.replace(' ', "").contains(&compact);
        assert!(!leaked, "{text}: {everything}");
    }
}

#[test]
fn a_message_in_the_other_language_is_read_in_it_whatever_the_conversation_was_in() {
    // Two words without a function word: the conversation's English had decided, and the German
    // words, unknown to the English guidance, were declined in English.
    for (previous, text, lang) in [
        (Language::En, "Rechnung falsch", Language::De),
        (Language::De, "invoice wrong", Language::En),
    ] {
        let mut context = ConversationContext {
            language: Some(previous),
            ..ConversationContext::default()
        };
        let d = router()
            .decide(&Message::text(text), &mut context, OPEN.parse().unwrap())
            .unwrap();
        assert_eq!(d.language, lang, "{text}: {:#?}", d.trace);
        assert_ne!(d.outcome, Outcome::Decline, "{text}: {:#?}", d.trace);
    }
    // One shared word or product name does not switch: "Azure" after German stays German.
    let mut context = ConversationContext {
        language: Some(Language::De),
        ..ConversationContext::default()
    };
    let d = router()
        .decide(&Message::text("Azure?"), &mut context, OPEN.parse().unwrap())
        .unwrap();
    assert_eq!(d.language, Language::De);
}

#[test]
fn a_question_that_points_back_for_its_subject_is_not_answered_alone() {
    // Each had a section the gate was sure of (0.93-0.98): one that covers "cost" or "how long"
    // for whatever it is about. Alone, nothing says what "that" is.
    for text in [
        "what does that cost?",
        "wie lange dauert das?",
        "how do I pay it?",
    ] {
        let d = decide(text);
        assert_eq!(d.outcome, Outcome::Suggest, "{text}: {:#?}", d.trace);
        assert!(
            d.trace.reason.contains("refers back"),
            "{text}: {}",
            d.trace.reason
        );
    }
    // In a conversation it is searched with the last question around it: its suggestions are
    // about that subject (alone, "how long" finds payment terms first).
    let mut context = ConversationContext {
        last_question: Some("how do I cancel a subscription?".into()),
        ..ConversationContext::default()
    };
    let d = router()
        .decide(
            &Message::text("how long does that take?"),
            &mut context,
            OPEN.parse().unwrap(),
        )
        .unwrap();
    assert_eq!(d.outcome, Outcome::Suggest, "{:#?}", d.trace);
    assert!(
        d.citations[0].citation.starts_with("en-us/cancellation.md"),
        "{:?}",
        d.citations
    );
    assert_eq!(
        context.last_question.as_deref(),
        Some("how do I cancel a subscription?")
    );
    // Naming its subject, the same kind of question is answered.
    check(
        "what happens to our access if we do not pay an invoice?",
        Outcome::Answer,
        None,
    );
}

#[test]
fn ok_or_no_with_nothing_to_give_feedback_on_closes_the_conversation() {
    for (helped, no, closing) in [
        ("yes, that helped", "no", "Alright"),
        ("ja, das hat geholfen", "nein", "Alles klar"),
    ] {
        let mut context = ConversationContext {
            suggested_sections: true,
            ..ConversationContext::default()
        };
        let at = OPEN.parse().unwrap();
        let d = router().decide(&Message::text(helped), &mut context, at).unwrap();
        assert_eq!(d.feedback, Some(true), "{helped}: {:#?}", d.trace);
        // "No" here is not "that did not help" (nothing was suggested), nor a question.
        let d = router().decide(&Message::text(no), &mut context, at).unwrap();
        assert_eq!(d.outcome, Outcome::Reply, "{no}: {:#?}", d.trace);
        assert!(d.reply.starts_with(closing), "{no}: {}", d.reply);
        assert!(!d.offers_human && d.feedback.is_none());
    }
    // "Ok" or "passt" out of the blue acknowledges; it is not a question ("passt" had been
    // answered from the guidance).
    for (ok, closing) in [("ok", "Alright"), ("passt so", "Alles klar")] {
        let d = decide(ok);
        assert_eq!(d.outcome, Outcome::Reply, "{ok}: {:#?}", d.trace);
        assert!(d.reply.starts_with(closing), "{ok}: {}", d.reply);
    }
}

#[test]
fn a_message_with_payment_details_is_never_declined_as_out_of_scope() {
    // Read without the card number, "my card is and I want a refund" leaned out of scope
    // (0.55) and was declined right after the customer was told their number was removed.
    let d = check(
        "my card is 4111111111111111 and I want a refund for last month",
        Outcome::Handoff,
        Some("billing"),
    );
    assert!(d.handoff.unwrap().summary.contains("[card number removed]"));
    // A password says less: a question about another service stays out of scope.
    check(
        "my netflix password is Hunter22!, can you fix netflix?",
        Outcome::Decline,
        None,
    );
}

#[test]
fn how_to_questions_about_refunds_are_answered_not_handed_off() {
    let d = decide("how do i request a refund for a customer");
    assert_ne!(d.outcome, Outcome::Handoff, "{:#?}", d.trace);
}

#[test]
fn technical_failures_go_to_technical_with_the_price() {
    let d = check(
        "teams is down for everyone since this morning",
        Outcome::Handoff,
        Some("technical"),
    );
    assert_eq!(
        d.handoff.as_ref().unwrap().price.as_deref(),
        Some("95.00 EUR per hour")
    );
    let d = check(
        "Outlook funktioniert nicht, Fehlercode 0x8004de40",
        Outcome::Handoff,
        Some("technical"),
    );
    assert_eq!(d.language, Language::De);
    assert_eq!(
        d.handoff.as_ref().unwrap().price.as_deref(),
        Some("95,00 EUR pro Stunde")
    );
    assert!(d.reply.contains("95,00 EUR pro Stunde"), "{}", d.reply);
}

#[test]
fn purchases_go_to_sales() {
    check(
        "we need 10 more business premium licenses",
        Outcome::Handoff,
        Some("sales"),
    );
    check(
        "Könnt ihr uns ein Angebot für Dynamics 365 Business Central machen?",
        Outcome::Handoff,
        Some("sales"),
    );
    check(
        "was kostet das, wenn wir 10 weitere Lizenzen bestellen?",
        Outcome::Handoff,
        Some("sales"),
    );
    // What cancelling costs is a question for the guidance, not a purchase. (The learnt intents
    // still read "we want to cancel 5 licences, how much would that be?" as a purchase: the
    // words of buying outweigh "cancel"; see the issue notes.)
    let d = decide("wir wollen das Abo vorzeitig kündigen, was kostet das?");
    assert_ne!(d.outcome, Outcome::Handoff, "{:#?}", d.trace);
}

#[test]
fn customers_who_bought_directly_are_sent_to_the_portal() {
    let d = decide("I bought Azure directly from Microsoft with my credit card, where is my invoice?");
    assert_eq!(d.outcome, Outcome::Answer, "{:#?}", d.trace);
    assert!(d.reply.contains("portal.azure.com"), "{}", d.reply);
    // The product named picks the portal: Microsoft 365 is not sent to the Azure portal.
    let d = decide("We bought Microsoft 365 directly from Microsoft, not through a partner");
    assert!(d.reply.contains("admin.microsoft.com"), "{}", d.reply);
    assert!(!d.reply.contains("portal.azure.com"), "{}", d.reply);
    // None named: every portal.
    let d = decide("Wir haben direkt bei Microsoft gekauft, wo finden wir die Rechnung?");
    assert!(
        d.reply.contains("portal.azure.com") && d.reply.contains("admin.microsoft.com"),
        "{}",
        d.reply
    );
    assert_eq!(d.language, Language::De);
    // In German throughout: the portals' German descriptions, no English article.
    assert!(d.reply.contains("das Azure-Portal"), "{}", d.reply);
    assert!(!d.reply.contains(" the "), "{}", d.reply);
}

#[test]
fn small_talk_is_declined_in_the_customers_language() {
    let d = check("tell me a joke", Outcome::Decline, None);
    assert!(d.reply.contains("talk to a human"));
    let d = check("wie wird das Wetter morgen?", Outcome::Decline, None);
    assert!(d.reply.contains("mit einem Menschen sprechen"), "{}", d.reply);
    assert!(d.citations.is_empty());
    // A product named in passing does not make small talk a guidance question.
    let d = check(
        "got a good recipe for our azure themed team party?",
        Outcome::Decline,
        None,
    );
    assert!(
        d.trace.entities.products.contains(&"Azure".to_string()),
        "{:#?}",
        d.trace
    );
}

#[test]
fn messages_the_guidance_mostly_does_not_know_are_declined() {
    // One real word among keyboard mash: one document wins clearly on it, but the message is
    // not understood.
    let d = check("qwfp zxcvb invoice plmk yxcv", Outcome::Decline, None);
    assert!(d.trace.reason.contains("not understood"), "{:#?}", d.trace);
    assert!(d.citations.is_empty());
    // Mostly known, with a word of slang, is understood (whatever is then decided).
    let d = decide("our invoice is overdue, wat now?");
    assert!(!d.trace.reason.contains("not understood"), "{:#?}", d.trace);
}

#[test]
fn questions_about_our_support_are_answered_from_the_support_model() {
    let d = decide_at("what are your support hours?", CLOSED);
    assert_eq!(d.outcome, Outcome::Answer, "{:#?}", d.trace);
    assert!(d.trace.reason.contains("support model"), "{:#?}", d.trace);
    for queue in &router().support().queues {
        assert!(d.reply.contains(queue.name.get(Language::En)), "{}", d.reply);
    }
    assert!(
        d.reply.contains("closed now, opens Mon 2026-11-30"),
        "{}",
        d.reply
    );
    assert!(d.reply.contains("95.00 EUR per hour"), "{}", d.reply);
    assert!(d.reply.contains("free of charge"), "{}", d.reply);
    let d = decide_at("Was kostet euer technischer Support?", OPEN);
    assert_eq!(d.language, Language::De);
    assert!(d.reply.contains("95,00 EUR pro Stunde"), "{}", d.reply);
    assert!(d.reply.contains("jetzt erreichbar"), "{}", d.reply);
    // Microsoft's own support for partners is a guidance question, not ours to list.
    let d = decide("what hours is german language partner support available");
    assert!(!d.trace.reason.contains("support model"), "{:#?}", d.trace);
}

#[test]
fn a_close_second_section_of_the_same_document_is_named_beside_the_answer() {
    let d = decide("können wir ein abo nach einer woche noch kündigen?");
    assert_eq!(d.outcome, Outcome::Answer, "{:#?}", d.trace);
    let cited: Vec<&str> = d.citations.iter().map(|c| c.citation.as_str()).collect();
    assert_eq!(cited.len(), 2, "{cited:?}");
    assert!(
        cited.iter().all(|c| c.starts_with("de-de/kuendigung.md#")),
        "{cited:?}"
    );
    assert!(cited.contains(&"de-de/kuendigung.md#window"), "{cited:?}");
    assert!(d.reply.contains("Siehe auch:"), "{}", d.reply);
    // A clear answer stands alone.
    let d = decide("what happens to our access if we do not pay an invoice?");
    assert_eq!(d.citations.len(), 1, "{:#?}", d.citations);
    assert!(!d.reply.contains("See also:"), "{}", d.reply);
}

#[test]
fn guidance_questions_are_answered_with_a_citation() {
    let d = decide("what happens to our access if we do not pay an invoice?");
    assert_eq!(d.outcome, Outcome::Answer, "{:#?}", d.trace);
    assert_eq!(d.citations[0].citation, "en-us/billing-policy.md#nonpayment");
    assert!(d.reply.contains("en-us/billing-policy.md#nonpayment"));
    let d = decide("Innerhalb welcher Frist kann ich ein Abonnement kündigen?");
    assert_eq!(d.outcome, Outcome::Answer, "{:#?}", d.trace);
    assert_eq!(d.citations[0].citation, "de-de/kuendigung.md#window");
    assert_eq!(d.language, Language::De);
    // In the customer's words: the guidance says "Zugriff" and "Sperre". Whether such a short
    // question is answered or its sections offered is the answer gate's (fitted on the real
    // corpus); either way the right section comes first.
    let cited_first = |text: &str| {
        let d = decide(text);
        assert!(
            matches!(d.outcome, Outcome::Answer | Outcome::Suggest),
            "{:#?}",
            d.trace
        );
        d.citations[0].citation.clone()
    };
    let restore = "de-de/abrechnungsrichtlinie.md#restore-access";
    assert_eq!(cited_first("Unser Zugang ist gesperrt, was tun?"), restore);
    // Greeting and sign-off change nothing.
    assert_eq!(
        cited_first("Hallo zusammen, unser Zugang ist gesperrt, was tun? Danke und viele Grüße"),
        restore
    );
}

/// A pasted mail's signature (name, title, company, phone number) is no part of the question:
/// the outcome and the cited section are those of the question alone, not a handoff for a
/// phone number that reads like "call me back".
#[test]
fn a_signature_changes_neither_the_outcome_nor_the_section() {
    for (question, signature) in [
        (
            "what happens to our access if we do not pay an invoice?",
            "\n\nKind regards\nJane Doe\nIT Manager | Contoso Ltd.\nPhone +1 425 555 0100",
        ),
        (
            "Innerhalb welcher Frist kann ich ein Abonnement kündigen?",
            "\n\nMit freundlichen Grüßen\nJonas Becker\nLeiter IT, Becker GmbH\nTel. +49 89 1234567",
        ),
    ] {
        let alone = decide(question);
        let signed = decide(&format!("{question}{signature}"));
        assert_eq!(signed.outcome, alone.outcome, "{:#?}", signed.trace);
        assert_eq!(
            signed.citations.first().map(|c| &c.citation),
            alone.citations.first().map(|c| &c.citation),
            "{:#?}",
            signed.trace
        );
    }
}

#[test]
fn a_question_whose_key_word_the_guidance_never_uses_gets_suggestions_not_an_answer() {
    // No section of the bundled guidance says how to download an invoice: the gate is sure of
    // the invoice document's best section, but "herunterladen" is a word the guidance never
    // uses, so the bot suggests sections instead of answering from a wrong one.
    let question = "Wie kann ich meine Rechnung herunterladen?";
    let d = check(question, Outcome::Suggest, None);
    assert!(
        d.trace.answer_probability >= d.trace.answer_threshold,
        "{:#?}",
        d.trace
    );
    assert!(
        d.trace.reason.contains("knows 50% of the message's words"),
        "{:#?}",
        d.trace
    );
    // The same rule with the confidence layer off does not hold the answer back.
    let mut config = *router().config();
    config.layers.confidence = false;
    let d = router()
        .with_config(config)
        .decide(
            &Message::text(question),
            &mut ConversationContext::default(),
            OPEN.parse().unwrap(),
        )
        .unwrap();
    assert_eq!(d.outcome, Outcome::Answer, "{:#?}", d.trace);
}

#[test]
fn each_language_is_held_to_its_own_answer_threshold() {
    let english = "what happens to our access if we do not pay an invoice?";
    let german = "Innerhalb welcher Frist kann ich ein Abonnement kündigen?";
    let probability = |text: &str| decide(text).trace.answer_probability;
    let (en, de) = (probability(english), probability(german));
    // Between the two questions' answer probabilities only, so each side of it is decided by its language.
    let strict = f32::midpoint(en.max(de), 1.0);
    let lenient = en.min(de) / 2.0;
    for (de_threshold, en_threshold) in [(lenient, strict), (strict, lenient)] {
        let mut config = *router().config();
        config.answer_gate.threshold.de = de_threshold;
        config.answer_gate.threshold.en = en_threshold;
        let router = router().with_config(config);
        for (text, threshold) in [(english, en_threshold), (german, de_threshold)] {
            let d = router
                .decide(
                    &Message::text(text),
                    &mut ConversationContext::default(),
                    OPEN.parse().unwrap(),
                )
                .unwrap();
            // The same value copied through, so exact comparison is the point.
            assert!(
                d.trace.answer_threshold.to_bits() == threshold.to_bits(),
                "{text}"
            );
            let expected = if threshold.to_bits() == lenient.to_bits() {
                Outcome::Answer
            } else {
                Outcome::Suggest
            };
            assert_eq!(d.outcome, expected, "{text}: {:#?}", d.trace);
        }
    }
}

#[test]
fn handoff_tells_hours_inside_and_outside_them() {
    let open = decide_at("please call me back", OPEN).handoff.unwrap();
    assert!(open.open_now);
    assert_eq!(open.next_open, None);
    assert!(
        open.respond_by.as_deref().unwrap().contains("2026-11-27 14:00"),
        "{open:?}"
    );
    let closed = decide_at("please call me back", CLOSED);
    let h = closed.handoff.as_ref().unwrap();
    assert!(!h.open_now);
    assert!(
        h.next_open.as_deref().unwrap().contains("Mon 2026-11-30 08:00"),
        "{h:?}"
    );
    assert!(closed.reply.contains("Mon 2026-11-30 08:00"), "{}", closed.reply);
    assert!(
        closed.reply.contains("support@example.com"),
        "contact method: {}",
        closed.reply
    );
    let de = decide_at("bitte um Rückruf", CLOSED);
    assert!(
        de.reply.contains("Servicezeiten") && de.reply.contains("Helpdesk-Team"),
        "{}",
        de.reply
    );
}

/// "And for Dynamics 365?" after "How is Azure billed?" is that question about Dynamics 365; a
/// short question without another product is a question of its own.
#[test]
fn a_short_follow_up_naming_another_product_asks_the_last_question_about_it() {
    let r = router();
    let now = OPEN.parse().unwrap();
    for (first, follow_up, whole) in [
        (
            "How is Azure billed?",
            "what about Dynamics 365?",
            "How is Dynamics 365 billed?",
        ),
        (
            "Wie wird Azure abgerechnet?",
            "und bei Dynamics 365?",
            "Wie wird Dynamics 365 abgerechnet?",
        ),
    ] {
        let mut ctx = ConversationContext::default();
        r.decide(&Message::text(first), &mut ctx, now).unwrap();
        let follow = r.decide(&Message::text(follow_up), &mut ctx, now).unwrap();
        assert!(
            follow
                .trace
                .expansions
                .iter()
                .any(|(from, to)| from == follow_up && to == whole),
            "{:#?}",
            follow.trace.expansions
        );
        let asked = r
            .decide(&Message::text(whole), &mut ConversationContext::default(), now)
            .unwrap();
        let cited = |d: &Decision| d.citations.first().map(|c| c.citation.clone());
        assert_eq!(cited(&follow), cited(&asked), "{follow_up}");
        assert!(
            cited(&follow).is_some_and(|c| c.contains("dynamics-365.md")),
            "{:?}",
            cited(&follow)
        );
    }
    // No other product named: a question of its own.
    let mut ctx = ConversationContext::default();
    r.decide(&Message::text("How is Azure billed?"), &mut ctx, now)
        .unwrap();
    let own = r
        .decide(&Message::text("what is a trial?"), &mut ctx, now)
        .unwrap();
    assert!(
        own.trace.expansions.iter().all(|(_, to)| !to.contains("billed")),
        "{:#?}",
        own.trace.expansions
    );
}

#[test]
fn follow_ups_keep_context_and_offer_a_person() {
    let r = router();
    let now = OPEN.parse().unwrap();
    let mut ctx = ConversationContext::default();
    let first = r
        .decide(&Message::text("How is Azure billed?"), &mut ctx, now)
        .unwrap();
    assert_eq!(ctx.products, ["Azure"], "{:#?}", first.trace);
    let follow = r
        .decide(
            &Message::text("and why does the amount change every month?"),
            &mut ctx,
            now,
        )
        .unwrap();
    assert!(
        follow.trace.expansions.iter().any(|(_, to)| to == "Azure"),
        "{:#?}",
        follow.trace
    );
    // "no" to "was this helpful?" offers a person.
    let mut ctx = ConversationContext::default();
    let answer = r
        .decide(
            &Message::text("what happens to our access if we do not pay an invoice?"),
            &mut ctx,
            now,
        )
        .unwrap();
    assert!(answer.asks_feedback);
    let no = r.decide(&Message::text("no"), &mut ctx, now).unwrap();
    assert!(no.offers_human, "{:#?}", no.trace);
    assert_eq!(no.feedback, Some(false));
    // "No" names nothing to suggest: an apology and the offer, never an empty list.
    assert!(no.reply.starts_with("Sorry that did not help"), "{}", no.reply);
    assert!(!no.reply.contains("may help"), "{}", no.reply);
    let mut ctx = ConversationContext::default();
    r.decide(
        &Message::text("Innerhalb welcher Frist kann ich ein Abonnement kündigen?"),
        &mut ctx,
        now,
    )
    .unwrap();
    let nein = r.decide(&Message::text("nein"), &mut ctx, now).unwrap();
    assert!(nein.reply.starts_with("Schade"), "{}", nein.reply);
}

#[test]
fn a_short_question_about_another_product_asks_the_last_question_an_order_stays_an_order() {
    let r = router();
    let now = OPEN.parse().unwrap();
    let say = |ctx: &mut ConversationContext, text: &str| r.decide(&Message::text(text), ctx, now).unwrap();
    for (question, follow_up) in [
        (
            "why is my invoice higher than last month?",
            "ok and for Dynamics 365?",
        ),
        (
            "Warum ist unsere Rechnung höher als letzten Monat?",
            "und bei Dynamics 365?",
        ),
    ] {
        let mut ctx = ConversationContext::default();
        say(&mut ctx, question);
        let asked = say(&mut ctx, follow_up);
        // Read alone, "for Dynamics 365" looked like an order and went to sales.
        assert!(
            matches!(asked.outcome, Outcome::Answer | Outcome::Suggest),
            "{follow_up}: {:#?}",
            asked.trace
        );
        assert!(
            asked.citations.iter().any(|c| c.citation.contains("dynamics")),
            "{follow_up}: {:?}",
            asked.citations
        );
    }
    let mut ctx = ConversationContext::default();
    say(&mut ctx, "why is my invoice higher than last month?");
    let order = say(&mut ctx, "we need Dynamics 365 too");
    assert_eq!(order.outcome, Outcome::Handoff, "{:#?}", order.trace);
}

#[test]
fn feedback_is_feedback_after_an_answer_or_suggestions_never_a_search_for_its_words() {
    let r = router();
    let now = OPEN.parse().unwrap();
    let say = |ctx: &mut ConversationContext, text: &str| r.decide(&Message::text(text), ctx, now).unwrap();
    // After an answer, "that did not help" is an apology and the offer of a person, not
    // sections about "help".
    for (question, feedback, apology) in [
        (
            "what happens to our access if we do not pay an invoice?",
            "no that did not help",
            "Sorry",
        ),
        (
            "Innerhalb welcher Frist kann ich ein Abonnement kündigen?",
            "nein, das hat nicht geholfen",
            "Schade",
        ),
    ] {
        let mut ctx = ConversationContext::default();
        assert!(say(&mut ctx, question).asks_feedback);
        let no = say(&mut ctx, feedback);
        assert!(no.reply.starts_with(apology), "{}", no.reply);
        assert!(no.citations.is_empty(), "{:?}", no.citations);
        assert_eq!(no.feedback, Some(false));
    }
    // A "no" that names what was meant still gets sections for it.
    let mut ctx = ConversationContext::default();
    say(
        &mut ctx,
        "what happens to our access if we do not pay an invoice?",
    );
    let named = say(&mut ctx, "no, I mean when invoices arrive");
    assert!(!named.citations.is_empty(), "{:#?}", named.trace);
    // After suggestions (no "was this helpful?"), feedback is feedback too.
    let mut ctx = ConversationContext::default();
    let suggested = say(&mut ctx, "can I get money back?");
    assert_eq!(suggested.outcome, Outcome::Suggest, "{:#?}", suggested.trace);
    let no = say(&mut ctx, "that didn't help");
    assert!(no.offers_human && no.citations.is_empty(), "{}", no.reply);
    assert_eq!(no.feedback, Some(false));
    let mut ctx = ConversationContext::default();
    say(&mut ctx, "can I get money back?");
    let yes = say(&mut ctx, "yes that helped");
    assert_eq!(yes.feedback, Some(true), "{}", yes.reply);
    // Feedback is due only right after: a later "that didn't help" is searched as words again.
    assert!(!ctx.suggested_sections && !ctx.awaiting_feedback);
}

fn support() -> switchboard_core::SupportModel {
    load_support_model(&repo("plugins")).0
}

#[test]
fn bad_manifests_name_file_key_and_reason() {
    let path = Path::new("plugins/bad/plugin.toml");
    let bad_regex = "name = 'bad'\n[[intents]]\nname = 'x'\naction = 'handoff'\nqueue = 'billing'\npatterns.en = ['(unclosed']\n";
    let errs = parse_plugin(bad_regex, path, &support()).unwrap_err();
    assert_eq!(errs[0].key, "intents[0].patterns.en[0]");
    assert!(errs[0].reason.contains("(unclosed"), "{}", errs[0]);
    let unknown_queue = "name = 'bad'\n[[intents]]\nname = 'x'\naction = 'handoff'\nqueue = 'legal'\n";
    let errs = parse_plugin(unknown_queue, path, &support()).unwrap_err();
    assert_eq!(errs[0].key, "intents[0].queue");
    assert!(errs[0].reason.contains("unknown queue `legal`"));
    // A typo in a reply template's placeholder would reach customers as written.
    let typo = "name = 'bad'\n[replies.en]\nanswer_source = 'Source:'\nhelpful = 'ok?'\nsuggest = 'see:'\noffer_human = 'ask {partner}'\nhandoff_open = 'passed to {queue}'\nhandoff_closed = 'passed to {queue}, opens {next_open}'\nhandoff_price = '{price}'\ndecline = 'only {partnr} matters'\nnot_csp = 'use {portal}'\n";
    let errs = parse_plugin(typo, path, &support()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].key, "replies.en.decline");
    assert!(
        errs[0].reason.contains("unknown placeholder `{partnr}`"),
        "{}",
        errs[0]
    );
    let unknown_key = "name = 'bad'\ncolour = 'blue'\n";
    let errs = parse_plugin(unknown_key, path, &support()).unwrap_err();
    assert_eq!(errs[0].key, "line 2");
    assert!(errs[0].reason.contains("colour"), "{}", errs[0]);
    assert!(errs[0].to_string().starts_with("plugins/bad/plugin.toml"));
    let float_money =
        "name = 'bad'\n[[money_rules]]\nname = 'm'\nat_least = 500.5\ncurrency = 'EUR'\nqueue = 'billing'\n";
    assert!(
        parse_plugin(float_money, path, &support()).is_err(),
        "money must be a decimal string"
    );
}

#[test]
fn a_plugin_added_as_files_is_picked_up_and_broken_ones_are_left_out() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo("plugins"), dir.path());
    std::fs::create_dir_all(dir.path().join("licensing")).unwrap();
    std::fs::write(
        dir.path().join("licensing/plugin.toml"),
        "name = 'licensing'\n[[intents]]\nname = 'audit'\naction = 'handoff'\nqueue = 'sales'\nkeywords.en = ['licence audit']\nkeywords.de = ['Lizenzprüfung']\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("broken")).unwrap();
    std::fs::write(
        dir.path().join("broken/plugin.toml"),
        "name = 'broken'\n[[intents]]\nname='x'\naction='handoff'\nqueue='billing'\npatterns.de=['[']\n",
    )
    .unwrap();
    let (support, _) = load_support_model(dir.path());
    let set = load_plugins(dir.path(), &support);
    assert_eq!(set.errors.len(), 1);
    assert!(set.errors[0].file.ends_with("broken/plugin.toml"));
    assert_eq!(set.plugins.len(), 6, "five bundled plugins and the new one");
    let fired = set.fire("we have a licence audit next week", |_| true);
    assert_eq!(fired[0].intent, "audit");
    assert_eq!(fired[0].action, IntentAction::Handoff);
}

#[test]
fn thesaurus_keys_match_a_word_one_typo_away_with_the_same_first_letter() {
    let manifest = "name = 'vocabulary'\n[thesaurus.de]\n\"gesperrt\" = \"ausgesetzt\"\n\"abo\" = \"Abonnement\"\n[thesaurus.en]\n\"blocked\" = \"suspend\"\n\"charged\" = \"charges\"\n";
    let set = vocabulary_plugin(manifest);
    // Words the guidance uses, as the index would say.
    let known = ["gesperrt", "abonnement", "account", "changed", "charged"];
    let expanded = |text: &str, lang| -> Vec<String> {
        set.expansions(text, lang, |word| known.contains(&word))
            .into_iter()
            .map(|(from, _)| from)
            .collect()
    };
    assert_eq!(
        expanded("das abo wurde gesperrt", Language::De),
        ["abo", "gesperrt"]
    );
    // An extra, a swapped and a changed letter in a word of six or more letters.
    for typo in ["gesperrrt", "gespertr", "gesperet"] {
        assert_eq!(
            expanded(&format!("konto {typo}"), Language::De),
            ["gesperrt"],
            "{typo}"
        );
    }
    // Two typos, a different first letter, and keys too short to guess at do not match.
    assert!(expanded("konto gesprt", Language::De).is_empty());
    assert!(expanded("my account is locked", Language::En).is_empty());
    // A word the guidance knows is not taken for a typo of a key; an unknown one is.
    assert!(expanded("my plan changed", Language::En).is_empty());
    assert_eq!(expanded("we were chargd twice", Language::En), ["charged"]);
    assert!(expanded("das abbo", Language::De).is_empty());
    // The other language's thesaurus is not consulted.
    assert!(expanded("blocked", Language::De).is_empty());
}

#[test]
fn thesaurus_words_no_guidance_uses_are_named_per_plugin_and_language() {
    let manifest = "name = 'vocabulary'\n[thesaurus.de]\n\"abo\" = \"Abonnement Abo-Vertrag\"\n\"sperren\" = \"aussetzen Abonnement\"\n[thesaurus.en]\n\"seats\" = \"licences\"\n";
    let set = vocabulary_plugin(manifest);
    let known = |lang: Language, word: &str| lang == Language::En || word == "Abonnement";
    let gaps = set.thesaurus_gaps(known);
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert_eq!(gaps[0].key, "thesaurus.de");
    assert!(gaps[0].file.ends_with("vocabulary/plugin.toml"));
    // Each unknown word once, however many entries use it; known words are not named.
    assert!(
        gaps[0].reason.starts_with("2 guidance word(s)"),
        "{}",
        gaps[0].reason
    );
    assert!(
        gaps[0].reason.ends_with(": Abo-Vertrag, aussetzen"),
        "{}",
        gaps[0].reason
    );
    assert!(set.thesaurus_gaps(|_, _| true).is_empty());
}

/// A plugin set holding one plugin parsed from `manifest`.
fn vocabulary_plugin(manifest: &str) -> switchboard_core::plugins::PluginSet {
    let plugin = parse_plugin(manifest, Path::new("plugins/vocabulary/plugin.toml"), &support()).unwrap();
    switchboard_core::plugins::PluginSet::new(vec![plugin])
}

#[test]
fn a_misspelt_intent_word_the_guidance_does_not_know_is_read_as_the_intent_word() {
    let set = vocabulary_plugin(
        "name = 'vocabulary'\n[[intents]]\nname = 'refund'\naction = 'handoff'\nqueue = 'billing'\npatterns.en = ['\\brefund\\b']\npatterns.de = ['\\berstatt(en|ung)\\b']\n",
    );
    let unknown = |_: &str| false;
    assert_eq!(set.fire("please refnud us", unknown).len(), 1);
    assert_eq!(set.fire("bitte um Erstatung", unknown).len(), 1);
    // A word the guidance knows is taken as written.
    assert!(set.fire("please refnud us", |_| true).is_empty());
    // Two typos, or a different first letter, are not guessed at.
    assert!(set.fire("please rfnud us", unknown).is_empty());
    assert!(set.fire("please tefund us", unknown).is_empty());
    // Through the router, with the guidance's own vocabulary; a dropped letter may leave a word of
    // five letters.
    check(
        "we were overcharged, pls refnud the difference",
        Outcome::Handoff,
        Some("billing"),
    );
    check("can i talk to a real persn", Outcome::Handoff, Some("helpdesk"));
}

#[test]
fn the_support_model_comes_from_one_place_and_a_broken_one_fails_closed() {
    use switchboard_core::StaffRole;
    // A support.toml dropped into another plugin's folder is refused, and no role may act.
    let stray = tempfile::tempdir().unwrap();
    std::fs::write(
        stray.path().join("support.toml"),
        std::fs::read_to_string(repo("plugins/support/support.toml"))
            .unwrap()
            .replace("\"billing-admin\", \"global-admin\"", "\"sales-agent\""),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo("plugins"), dir.path());
    copy_dir(stray.path(), &dir.path().join("acme-helpers"));
    let (support, problem) = load_support_model(dir.path());
    let problem = problem.expect("a stray support.toml is a problem").to_string();
    assert!(problem.contains("acme-helpers/support.toml"), "{problem}");
    assert!(support.queues.iter().all(|q| q.roles.is_empty()), "fail closed");
    assert!(!support
        .queues
        .iter()
        .any(|q| q.roles.contains(&StaffRole::SalesAgent) && q.id == "billing"));

    // A broken one: reported with the key, and no role may act.
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo("plugins"), dir.path());
    std::fs::write(dir.path().join("support/support.toml"), "partner_name = 3\n").unwrap();
    let (support, problem) = load_support_model(dir.path());
    assert!(problem.is_some());
    assert!(support.queues.iter().all(|q| q.roles.is_empty()), "fail closed");

    // The bundled one is fine and gives roles.
    let (support, problem) = load_support_model(&repo("plugins"));
    assert!(problem.is_none(), "{problem:?}");
    assert!(support.queues.iter().any(|q| !q.roles.is_empty()));
}

#[test]
fn the_promised_reply_time_counts_only_the_queues_service_hours() {
    let (support, _) = load_support_model(&repo("plugins"));
    let billing = support.queue("billing").unwrap();
    // Monday 2026-11-30 15:47 in Berlin; billing works 09:00-17:00 and answers within 8 hours:
    // 1 h 13 min on Monday, the remaining 6 h 47 min on Tuesday.
    let status = billing.status_at("2026-11-30T14:47:00Z".parse().unwrap());
    assert!(status.open);
    assert_eq!(status.respond_by.as_deref(), Some("Tue 2026-12-01 15:47 CET"));
    // Friday 16:00: one hour on Friday, seven on Monday.
    let status = billing.status_at("2026-11-27T15:00:00Z".parse().unwrap());
    assert_eq!(status.respond_by.as_deref(), Some("Mon 2026-11-30 16:00 CET"));
    // Saturday: the eight hours start Monday 09:00.
    let status = billing.status_at("2026-11-28T11:00:00Z".parse().unwrap());
    assert!(!status.open);
    assert_eq!(status.respond_by.as_deref(), Some("Mon 2026-11-30 17:00 CET"));
}

#[test]
fn german_replies_give_hours_and_times_in_german() {
    let d = decide_at("Bitte ruft mich zurück", CLOSED);
    assert_eq!(d.outcome, Outcome::Handoff, "{:#?}", d.trace);
    assert!(d.reply.contains("Mo-Fr"), "{}", d.reply);
    assert!(d.reply.contains("Mo, 30.11.2026, 08:00 Uhr"), "{}", d.reply);
    assert!(
        !d.reply.contains("Mon ") && !d.reply.contains("mon-fri"),
        "{}",
        d.reply
    );
    let d = decide_at("please call me back", CLOSED);
    assert!(
        d.reply.contains("Mon 2026-11-30 08:00"),
        "English stays English: {}",
        d.reply
    );
}

/// Where the section with `anchor` ranks among those retrieved for `text` (0 is first).
fn rank(text: &str, anchor: &str) -> usize {
    let d = decide(text);
    d.trace
        .top
        .iter()
        .position(|h| h.citation.ends_with(anchor))
        .unwrap_or_else(|| panic!("{anchor} not retrieved for {text}: {:#?}", d.trace.top))
}

#[test]
fn a_section_saying_the_opposite_change_ranks_below_the_one_asked_about() {
    for text in [
        "We want to reduce our Microsoft 365 E3 licenses from 50 to 40",
        "Wir wollen unsere Lizenzen von 50 auf 40 reduzieren",
    ] {
        assert!(
            rank(text, "#remove-licences") < rank(text, "#add-licences"),
            "{text}"
        );
    }
    // And the other way round.
    let text = "we need to add 5 licences to our E3 subscription";
    assert!(
        rank(text, "#add-licences") < rank(text, "#remove-licences"),
        "{text}"
    );
}

#[test]
fn numbers_are_not_words_the_guidance_should_know() {
    let known = |text: &str| {
        let d = decide(text);
        let (_, share) = d
            .trace
            .signals
            .iter()
            .find(|(name, _)| name == "known-words")
            .unwrap_or_else(|| panic!("no known-words signal for {text}: {:#?}", d.trace));
        *share
    };
    // An amount and an invoice's number are the customer's data: with them the message is as
    // well understood as without.
    let with_numbers = known("we were charged twice for the same licence, 1.234,56 EUR, invoice 2291");
    let without = known("we were charged twice for the same licence, EUR, invoice");
    assert!(
        (with_numbers - without).abs() < 1e-6,
        "{with_numbers} against {without}"
    );
}

#[test]
fn a_move_to_another_partner_is_not_answered_with_a_move_to_us() {
    // The two sections share every word but the direction of the move.
    for text in [
        "We'd like to move to a different CSP partner, how does that work?",
        "Wir wollen zu einem anderen Partner wechseln, wie geht das?",
    ] {
        assert!(rank(text, "#another-partner") < rank(text, "#to-us"), "{text}");
    }
    for text in [
        "How do we move our subscriptions to you?",
        "Wie wechseln wir zu euch?",
    ] {
        assert!(rank(text, "#to-us") < rank(text, "#another-partner"), "{text}");
    }
}

#[test]
fn a_document_description_is_never_the_answer_on_its_own() {
    for text in ["How is Azure usage billed?", "How do I cancle a subscripton?"] {
        let d = decide(text);
        if d.outcome != Outcome::Answer {
            continue;
        }
        let cited = &d.citations[0].citation;
        assert!(
            cited.contains('#'),
            "{text}: answered from an introduction, {cited}"
        );
        // The quoted passage is the section's text, not the one-line description.
        let quoted = d.reply.split("\n\n").nth(1).unwrap_or("");
        assert!(quoted.len() > 120, "{text}: {}", d.reply);
    }
    // At least one of them is answered at all (otherwise the test proves nothing).
    assert!(["How is Azure usage billed?", "How do I cancle a subscripton?"]
        .iter()
        .any(|t| decide(t).outcome == Outcome::Answer));
}

/// "Talk to a person" names no subject: it goes to the queue the conversation was about, and
/// to the default queue in a conversation about nothing a queue handles.
#[test]
fn a_bare_request_for_a_person_goes_to_the_queue_the_conversation_was_about() {
    let now = "2026-11-27T10:00:00Z".parse().unwrap();
    let ask = |context: &mut ConversationContext, text: &str| {
        router().decide(&Message::text(text), context, now).unwrap()
    };
    let mut billing = ConversationContext::default();
    ask(&mut billing, "Who sends us the invoice for our subscriptions?");
    let handoff = ask(&mut billing, "I want to talk to a human");
    assert_eq!(handoff.outcome, Outcome::Handoff);
    assert_eq!(
        handoff.handoff.unwrap().queue,
        "billing",
        "{}",
        handoff.trace.reason
    );

    let mut fresh = ConversationContext::default();
    let handoff = ask(&mut fresh, "I want to talk to a human");
    assert_eq!(handoff.handoff.unwrap().queue, "helpdesk");

    // A request that names its own subject keeps its own queue.
    let mut after_billing = ConversationContext::default();
    ask(
        &mut after_billing,
        "Who sends us the invoice for our subscriptions?",
    );
    let own = ask(
        &mut after_billing,
        "Our Azure VMs are down since this morning, please help",
    );
    assert_eq!(own.handoff.unwrap().queue, "technical");
}

/// A knowledge base over English guidance files written for one test (`name`, Markdown).
fn english_guidance(files: &[(impl AsRef<str>, impl AsRef<str>)]) -> KnowledgeBase {
    let knowledge = tempfile::tempdir().unwrap();
    let en = knowledge.path().join("en-us");
    std::fs::create_dir_all(&en).unwrap();
    for (name, text) in files {
        std::fs::write(en.join(name.as_ref()), text.as_ref()).unwrap();
    }
    KnowledgeBase::build_in_ram(&ingest_roots(&[knowledge.path().into()]).sections).unwrap()
}

/// The guidance's own definitions ("Partner Admin Link (PAL)", written twice) expand a customer's
/// abbreviation, so a section written with the long form alone is found for it.
#[test]
fn abbreviations_the_guidance_defines_find_sections_written_with_the_long_form() {
    let mut files = vec![
        (
            "revenue-reports.md".to_string(),
            "# Revenue reports\n\nThe report lists revenue attributed through Partner Admin Link (PAL).\n\n\
             ## Columns\n\nEach row names the Partner Admin Link (PAL) attribution and the month.\n"
                .to_string(),
        ),
        (
            "link-partner-id.md".to_string(),
            "# Link your partner ID\n\nTo set up the partner admin link, sign in to the Azure portal \
             with the customer's account and enter your partner ID.\n"
                .to_string(),
        ),
    ];
    // Documents that never name it: an abbreviation in most documents names the domain and is
    // not expanded.
    for (i, text) in [
        "Invoices arrive monthly.",
        "Seats can be added at any time.",
        "Refunds follow the cancellation policy.",
        "Support is open on weekdays.",
        "Admins manage users.",
        "Prices change once a year.",
    ]
    .iter()
    .enumerate()
    {
        files.push((format!("topic-{i}.md"), format!("# Topic {i}\n\n{text}\n")));
    }
    let kb = english_guidance(&files);
    assert_eq!(kb.long_form(Language::En, "PAL"), Some("partner admin link"));
    assert_eq!(kb.long_form(Language::De, "PAL"), None);
    let no_plugins = tempfile::tempdir().unwrap();
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(no_plugins.path(), &support);
    let router = Router::new(kb, plugins, support, RouterConfig::default());
    let decide = |router: &Router| {
        let mut message = Message::text("is PAL attribution shown anywhere?");
        message.language_hint = Some(Language::En);
        router
            .decide(
                &message,
                &mut ConversationContext::default(),
                OPEN.parse().unwrap(),
            )
            .unwrap()
    };
    let retrieved = |d: &Decision| {
        d.trace
            .top
            .iter()
            .any(|h| h.citation.starts_with("en-us/link-partner-id.md"))
    };
    let with = decide(&router);
    assert!(
        with.trace
            .expansions
            .contains(&("pal".to_string(), "partner admin link".to_string())),
        "{:#?}",
        with.trace
    );
    assert!(retrieved(&with), "{:#?}", with.trace);
    let without = decide(&router.with_config(RouterConfig {
        layers: Layers {
            abbreviations: false,
            ..Layers::default()
        },
        ..RouterConfig::default()
    }));
    assert!(without.trace.expansions.is_empty(), "{:#?}", without.trace);
    assert!(!retrieved(&without), "{:#?}", without.trace);
}

/// A billing question whose words the small bundled guidance partly lacks ("consolidated",
/// "gesammelt") is judged against how much of typical in-scope messages that guidance knows
/// (0.54 German, 0.69 English, where the Partner Center corpora know 0.85 and 0.98):
/// suggestions, not a decline as out of scope or "not understood".
#[test]
fn a_small_guidance_does_not_decline_a_billing_question_for_the_words_it_lacks() {
    for text in [
        "Can we get one consolidated invoice per quarter?",
        "Kriegen wir die Rechnungen auch gesammelt pro Quartal?",
    ] {
        let d = check(text, Outcome::Suggest, None);
        assert!(
            d.citations
                .iter()
                .any(|c| c.citation.contains("invoices.md") || c.citation.contains("rechnungen.md")),
            "{text}: {:#?}",
            d.citations
        );
    }
    let typical = |lang| router().typical_known_share(lang);
    assert!(typical(Language::De) < 0.9 && typical(Language::En) < 0.9);
}

/// Declined because the guidance has nothing on it, a question that reads as ours says so and
/// offers a person; what is not ours gets the list of what the bot is for.
#[test]
fn a_question_that_reads_as_ours_but_is_not_covered_is_declined_saying_so() {
    for (text, says) in [
        ("Do you offer discounts for nonprofits?", "no guidance on that"),
        ("Gibt es Rabatt für gemeinnützige Vereine?", "keine Informationen"),
        ("what's a good recipe for lasagne", "I can help with billing"),
        (
            "Wie installiere ich Steam auf meinem Laptop?",
            "Ich helfe bei Abrechnung",
        ),
    ] {
        let d = check(text, Outcome::Decline, None);
        assert!(d.reply.contains(says), "{text}: {}\n{:#?}", d.reply, d.trace);
        assert!(d.offers_human, "{text}");
    }
}

/// "was" is a word of both languages: where function words tie and nothing else tells, the
/// language whose guidance alone uses the message's other words decides, before a statistical
/// guess (which read "Was bedeutet NCE?" as English and suggested English sections).
#[test]
fn a_short_message_whose_function_words_tie_is_read_in_the_language_its_words_are_from() {
    for (text, lang) in [
        ("Was bedeutet NCE?", Language::De),
        ("Teams Lizenz", Language::De),
        ("invoice wrong", Language::En),
    ] {
        let d = decide(text);
        assert_eq!(d.language, lang, "{text}: {:#?}", d.trace);
    }
}

/// A question naming one product is not answered from a document about only another: the
/// bundled Microsoft 365 licences page (products: microsoft-365) had answered "how do I reduce
/// licences in Dynamics?" with probability 0.98. It suggests instead, Dynamics' own section among
/// the suggestions; the same question about Microsoft 365 is still answered.
#[test]
fn a_question_about_one_product_is_not_answered_from_a_page_about_another() {
    for text in [
        "Wie kann ich Lizenzen bei Dynamics reduzieren?",
        "How can we reduce our Dynamics licences?",
    ] {
        let d = decide(text);
        assert_ne!(d.outcome, Outcome::Answer, "{text}: {:#?}", d.trace);
        assert!(
            d.citations.iter().any(|c| c.citation.contains("dynamics-365.md")),
            "{text}: {:#?}",
            d.citations
        );
    }
    let d = check(
        "Wie kann ich Lizenzen bei Microsoft 365 reduzieren?",
        Outcome::Answer,
        None,
    );
    assert!(
        d.citations[0].citation.contains("microsoft-365-lizenzen.md"),
        "{:#?}",
        d.citations
    );
}

/// A section that is only a list of links ("Next steps") sends the reader elsewhere: it is never
/// quoted as an answer, however well its link texts match the question.
#[test]
fn a_section_of_links_only_is_never_the_answer() {
    let kb = english_guidance(&[(
        "partner-credit.md",
        "# Partner credit\n\nPartner credit is a discount on Azure usage for partners who manage it.\n\n\
         ## How partner credit is calculated\n\nPartner credit is calculated every day from the \
         Azure usage of each customer subscription the partner manages.\n\n\
         ## Next steps\n\n- [How partner credit is paid](https://example.com/partner-credit-payment)\n",
    )]);
    let (support, _) = load_support_model(&repo("plugins"));
    let plugins = load_plugins(&repo("plugins"), &support);
    let router = Router::new(kb, plugins, support, RouterConfig::default());
    let mut message = Message::text("how is partner credit paid?");
    message.language_hint = Some(Language::En);
    let decision = router
        .decide(
            &message,
            &mut ConversationContext::default(),
            OPEN.parse().unwrap(),
        )
        .unwrap();
    // The list of links is what the search puts first...
    assert!(
        decision.trace.top[0].citation.ends_with("#next-steps"),
        "{:#?}",
        decision.trace.top
    );
    // ...and no answer quotes it (it may follow as "see also").
    assert!(
        decision.outcome != Outcome::Answer || !decision.citations[0].citation.ends_with("#next-steps"),
        "{}\n{:#?}",
        decision.reply,
        decision.trace
    );
}
