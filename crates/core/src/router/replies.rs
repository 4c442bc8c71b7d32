//! The replies a decision carries: an answer quoting its section, suggestions, support
//! information, a decline, a handoff with its ticket summary, in the customer's language.

use super::{Retrieval, Router, SUGGESTED};
use crate::decision::{Citation, Decision, Handoff, Outcome, Trace};
use crate::entities::Entities;
use crate::plugins::{IntentAction, ReplyTemplates};
use crate::support::price_text;
use jiff::Timestamp;
use std::collections::HashSet;
use switchboard_knowledge::{Language, Product, SearchHit};

/// A section of the answer's document scoring at least this share of the cited one is named
/// beside it ("see also").
const SEE_ALSO_SHARE: f32 = 0.7;

/// Characters of guidance quoted in an answer (the passage that best answers the question).
const ANSWER_EXCERPT_CHARS: usize = 320;

impl Router {
    pub(super) fn replies(&self, lang: Language) -> ReplyTemplates {
        self.plugins
            .replies(lang)
            .cloned()
            .unwrap_or_else(|| default_replies(lang))
    }

    pub(super) fn citation(hit: &SearchHit) -> Citation {
        Citation {
            citation: hit.citation.clone(),
            title: hit.title.clone(),
            heading: hit.heading.clone(),
            link: hit.links.first().cloned(),
            score: hit.score,
        }
    }

    /// Distinct documents' best sections, in rank order.
    pub(super) fn top_sections(hits: &[SearchHit], n: usize) -> Vec<&SearchHit> {
        let mut seen = HashSet::new();
        hits.iter()
            .filter(|h| seen.insert(h.doc_path.as_str()))
            .take(n)
            .collect()
    }

    /// A greeting, thanks or feedback (a "no" that names nothing new offers a person; a "no"
    /// to "anything else?" closes): a reply of its own, never a guidance answer.
    pub(super) fn converse(
        &self,
        action: IntentAction,
        awaiting_feedback: bool,
        closing: bool,
        replies: &ReplyTemplates,
        lang: Language,
        trace: Trace,
    ) -> Decision {
        let builtin = default_replies(lang);
        let pick = |own: &Option<String>, fallback: &Option<String>| {
            own.clone().or_else(|| fallback.clone()).unwrap_or_default()
        };
        let (template, feedback) = match action {
            IntentAction::NotHelpful if closing => (pick(&replies.closing, &builtin.closing), None),
            IntentAction::Greeting => (pick(&replies.greeting, &builtin.greeting), None),
            IntentAction::Helpful => (
                pick(&replies.feedback_thanks, &builtin.feedback_thanks),
                awaiting_feedback.then_some(true),
            ),
            IntentAction::NotHelpful => (
                pick(&replies.not_helpful, &builtin.not_helpful),
                awaiting_feedback.then_some(false),
            ),
            _ => (pick(&replies.thanks, &builtin.thanks), None),
        };
        Decision {
            outcome: Outcome::Reply,
            reply: fill(&template, &[("{partner}", self.support.partner_name.clone())]),
            language: lang,
            citations: Vec::new(),
            handoff: None,
            offers_human: action == IntentAction::NotHelpful && !closing,
            asks_feedback: false,
            feedback,
            trace,
        }
    }

    /// The portal of the product the customer named (in this message or earlier in the
    /// conversation); with none named, every portal, since guessing sends a Microsoft 365
    /// customer to the Azure portal.
    pub(super) fn portal_for(
        &self,
        entities: &Entities,
        context_products: &[String],
        lang: Language,
    ) -> String {
        let portals = &self.support.direct_customer_portals;
        let named: Vec<String> = entities
            .products
            .iter()
            .chain(context_products)
            .map(|p| p.to_lowercase())
            .collect();
        let mut picked: Vec<Product> = Vec::new();
        for name in &named {
            let product = if name.contains("azure") {
                Product::Azure
            } else if name.contains("dynamics")
                || name.contains("business central")
                || name.contains("power apps")
            {
                Product::Dynamics365
            } else {
                // Microsoft 365, Office 365, its plans (E3, Business Premium) and apps (Teams).
                Product::Microsoft365
            };
            if !picked.contains(&product) {
                picked.push(product);
            }
        }
        if picked.is_empty() {
            picked = vec![Product::Microsoft365, Product::Azure, Product::Dynamics365];
        }
        let chosen: Vec<&str> = picked.iter().map(|p| portals.for_product(*p, lang)).collect();
        chosen.join("; ")
    }

    pub(super) fn answer(
        &self,
        retrieval: &Retrieval,
        replies: &ReplyTemplates,
        lang: Language,
        trace: Trace,
    ) -> Decision {
        let first = &retrieval.hits[0];
        // A document's introduction that only says what the document is about (its
        // description), or a section that is only a list of links ("Next steps"), answers
        // nothing: the document's best other section answers, and without one the customer gets
        // the sections to choose from.
        let top = if is_summary_only(first) || first.links_only {
            let best_section = retrieval.hits[1..]
                .iter()
                .find(|h| h.doc_path == first.doc_path && !h.anchor.is_empty() && !h.links_only);
            let Some(section) = best_section else {
                let mut trace = trace;
                trace
                    .reason
                    .push_str("; the top section only summarises its document or lists links: suggest");
                return self.suggest(retrieval, replies, lang, true, trace);
            };
            section
        } else {
            first
        };
        let passage = self
            .kb
            .best_passage(top, &retrieval.query_terms, ANSWER_EXCERPT_CHARS);
        let mut reply = format!("{}\n\n{passage}", top.heading);
        reply.push_str(&format!(
            "\n\n{} {} › {} ({})",
            replies.answer_source, top.title, top.heading, top.citation
        ));
        let mut citations = vec![Self::citation(top)];
        // The ranking is sure of the document; within it, a section scoring nearly as well may
        // be the one the customer meant.
        if let Some(sibling) = retrieval.hits.iter().find(|h| {
            h.doc_path == top.doc_path
                && h.anchor != top.anchor
                && !is_summary_only(h)
                && h.score >= SEE_ALSO_SHARE * top.score
        }) {
            let see_also = replies
                .see_also
                .clone()
                .or_else(|| default_replies(lang).see_also)
                .unwrap_or_default();
            reply.push_str(&format!(
                "\n{see_also} {} › {} ({})",
                sibling.title, sibling.heading, sibling.citation
            ));
            citations.push(Self::citation(sibling));
        }
        reply.push_str(&format!("\n\n{}", replies.helpful));
        Decision {
            outcome: Outcome::Answer,
            reply,
            language: lang,
            citations,
            handoff: None,
            offers_human: false,
            asks_feedback: true,
            feedback: None,
            trace,
        }
    }

    pub(super) fn suggest(
        &self,
        retrieval: &Retrieval,
        replies: &ReplyTemplates,
        lang: Language,
        offer_human: bool,
        trace: Trace,
    ) -> Decision {
        let picks = Self::top_sections(&retrieval.hits, SUGGESTED);
        // "These may help:" only above a list that has something in it.
        let mut reply = if picks.is_empty() {
            String::new()
        } else {
            replies.suggest.clone()
        };
        for hit in &picks {
            reply.push_str(&format!("\n- {} › {} ({})", hit.title, hit.heading, hit.citation));
        }
        if offer_human {
            if !reply.is_empty() {
                reply.push_str("\n\n");
            }
            reply.push_str(&fill(
                &replies.offer_human,
                &[("{partner}", self.support.partner_name.clone())],
            ));
        }
        Decision {
            outcome: Outcome::Suggest,
            reply,
            language: lang,
            citations: picks.into_iter().map(Self::citation).collect(),
            handoff: None,
            offers_human: offer_human,
            asks_feedback: false,
            feedback: None,
            trace,
        }
    }

    /// Every queue's hours, whether it is open now (or when it opens), contact and price.
    pub(super) fn support_info(
        &self,
        replies: &ReplyTemplates,
        lang: Language,
        trace: Trace,
        now: Timestamp,
    ) -> Decision {
        let builtin = default_replies(lang);
        let template = |pick: fn(&ReplyTemplates) -> &Option<String>| -> String {
            pick(replies)
                .clone()
                .or_else(|| pick(&builtin).clone())
                .unwrap_or_default()
        };
        let mut reply = fill(
            &template(|r| &r.support_info),
            &[("{partner}", self.support.partner_name.clone())],
        );
        for queue in &self.support.queues {
            let status = queue.status_at(now);
            let status_text = if status.open {
                template(|r| &r.support_open)
            } else {
                fill(
                    &template(|r| &r.support_closed),
                    &[("{next_open}", status.next_open_in(lang))],
                )
            };
            let price = queue
                .price
                .as_ref()
                .map_or_else(|| template(|r| &r.support_free), |p| price_text(p, lang));
            reply.push('\n');
            reply.push_str(&fill(
                &template(|r| &r.support_queue),
                &[
                    ("{queue}", queue.name.get(lang).to_string()),
                    ("{hours}", queue.hours_text_in(lang)),
                    ("{status}", status_text),
                    ("{contact}", queue.contact.get(lang).to_string()),
                    ("{price}", price),
                ],
            ));
        }
        reply_without_citation(reply, lang, trace)
    }

    /// A decline; `ours` when the message reads as in scope and only the guidance lacks it: then
    /// the reply says so, rather than listing what the bot helps with.
    pub(super) fn decline(
        &self,
        replies: &ReplyTemplates,
        lang: Language,
        trace: Trace,
        ours: bool,
    ) -> Decision {
        let template = if ours {
            replies
                .not_covered
                .clone()
                .or_else(|| default_replies(lang).not_covered)
                .unwrap_or_else(|| replies.decline.clone())
        } else {
            replies.decline.clone()
        };
        let reply = fill(&template, &[("{partner}", self.support.partner_name.clone())]);
        Decision {
            outcome: Outcome::Decline,
            reply,
            language: lang,
            citations: Vec::new(),
            handoff: None,
            offers_human: true,
            asks_feedback: false,
            feedback: None,
            trace,
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn handoff(
        &self,
        queue_id: &str,
        reason: &str,
        text: &str,
        lang: Language,
        entities: &Entities,
        retrieval: &Retrieval,
        replies: &ReplyTemplates,
        trace: Trace,
        now: Timestamp,
    ) -> Decision {
        let queue = self
            .support
            .queue(queue_id)
            .or_else(|| self.support.queue(&self.support.default_queue))
            .expect("default queue validated");
        let status = queue.status_at(now);
        let suggested: Vec<Citation> = Self::top_sections(&retrieval.hits, SUGGESTED)
            .into_iter()
            .map(Self::citation)
            .collect();
        let price = queue.price.as_ref().map(|p| price_text(p, lang));
        let fields = [
            ("{partner}", self.support.partner_name.clone()),
            ("{queue}", queue.name.get(lang).to_string()),
            // What the customer reads is in their language; the handoff's fields for staff
            // stay as they are.
            ("{hours}", queue.hours_text_in(lang)),
            ("{contact}", queue.contact.get(lang).to_string()),
            ("{respond_by}", status.respond_by_in(lang)),
            ("{next_open}", status.next_open_in(lang)),
            ("{price}", price.clone().unwrap_or_default()),
        ];
        let mut reply = fill(
            if status.open {
                &replies.handoff_open
            } else {
                &replies.handoff_closed
            },
            &fields,
        );
        if price.is_some() {
            reply.push(' ');
            reply.push_str(&fill(&replies.handoff_price, &fields));
        }
        let mut summary = format!("[{}] Customer wrote: \"{}\"", lang, excerpt(text, 280));
        summary.push_str(&format!(" Routed to `{}`: {reason}.", queue.id));
        if let Some(m) = entities.largest_amount() {
            summary.push_str(&format!(" Amount: {m}."));
        }
        if !entities.invoice_numbers.is_empty() {
            summary.push_str(&format!(" Invoice: {}.", entities.invoice_numbers.join(", ")));
        }
        if !entities.products.is_empty() {
            summary.push_str(&format!(" Products: {}.", entities.products.join(", ")));
        }
        Decision {
            outcome: Outcome::Handoff,
            reply,
            language: lang,
            citations: Vec::new(),
            handoff: Some(Handoff {
                queue: queue.id.clone(),
                queue_name: queue.name.get(lang).to_string(),
                reason: reason.to_string(),
                summary,
                entities: entities.clone(),
                suggested,
                open_now: status.open,
                hours: queue.hours_text_in(lang),
                next_open: status.next_open,
                respond_by: status.respond_by,
                contact: queue.contact.get(lang).to_string(),
                price,
            }),
            offers_human: false,
            asks_feedback: false,
            feedback: None,
            trace,
        }
    }
}

/// An answer that comes from the support model or a fixed text, not from guidance.
pub(super) fn reply_without_citation(reply: String, lang: Language, trace: Trace) -> Decision {
    Decision {
        outcome: Outcome::Answer,
        reply,
        language: lang,
        citations: Vec::new(),
        handoff: None,
        offers_human: false,
        asks_feedback: false,
        feedback: None,
        trace,
    }
}

pub(super) fn fill(template: &str, fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .fold(template.to_string(), |acc, (k, v)| acc.replace(k, v))
}

/// The first sentences of `text`, up to about `max` characters.
fn excerpt(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max).collect();
    match cut.rfind(". ") {
        Some(end) if end > max / 3 => cut[..=end].to_string(),
        _ => format!("{}…", cut.trim_end()),
    }
}

/// Built-in replies, used when no plugin provides templates.
pub fn default_replies(lang: Language) -> ReplyTemplates {
    match lang {
        Language::En => ReplyTemplates {
            answer_source: "Source:".into(),
            helpful: "Was this helpful? (yes / no)".into(),
            suggest: "I am not sure this answers it, but these may help:".into(),
            offer_human: "If not, say \"talk to a human\" and a person from {partner} takes over.".into(),
            handoff_open: "I have passed this to our {queue}. You will hear back by {respond_by}. You can also reach us via {contact}.".into(),
            handoff_closed: "I have passed this to our {queue}. They are available {hours}; the team opens {next_open} and you will hear back by {respond_by}. You can also reach us via {contact}.".into(),
            handoff_price: "This support is charged at {price}.".into(),
            decline: "I can help with billing, licences and support for Azure, Microsoft 365 and Dynamics 365 bought through {partner}. For anything else, say \"talk to a human\".".into(),
            not_csp: "If you bought directly from Microsoft, {partner} cannot see your billing: please use {portal}.".into(),
            not_covered: Some("I have no guidance on that yet, so I cannot answer it here. Say \"talk to a human\" and a person from {partner} takes over.".into()),
            support_info: Some("Support from {partner}:".into()),
            support_queue: Some("- {queue}: {hours} ({status}); {contact}; {price}".into()),
            support_open: Some("open now".into()),
            support_closed: Some("closed now, opens {next_open}".into()),
            support_free: Some("free of charge".into()),
            see_also: Some("See also:".into()),
            greeting: Some("Hello! I answer questions about billing, licences, subscriptions and support for Azure, Microsoft 365 and Dynamics 365 bought through {partner}, and pass anything a person must do to our team. What can I do for you?".into()),
            thanks: Some("You're welcome! If anything else comes up, just ask.".into()),
            feedback_thanks: Some("Thank you for the feedback, glad it helped. Anything else?".into()),
            not_helpful: Some("Sorry that did not help. Say \"talk to a human\" and a person from {partner} takes over, or ask again in other words.".into()),
            closing: Some("Alright. If anything else comes up, just ask.".into()),
        },
        Language::De => ReplyTemplates {
            answer_source: "Quelle:".into(),
            helpful: "War das hilfreich? (ja / nein)".into(),
            suggest: "Ich bin nicht sicher, ob das Ihre Frage beantwortet, aber das hier könnte helfen:".into(),
            offer_human: "Falls nicht, schreiben Sie „mit einem Menschen sprechen“, und jemand von {partner} übernimmt.".into(),
            handoff_open: "Ich habe Ihr Anliegen an unser {queue} übergeben. Sie hören bis {respond_by} von uns. Sie erreichen uns auch über {contact}.".into(),
            handoff_closed: "Ich habe Ihr Anliegen an unser {queue} übergeben. Servicezeiten: {hours}; das Team ist ab {next_open} wieder da, Sie hören bis {respond_by} von uns. Sie erreichen uns auch über {contact}.".into(),
            handoff_price: "Dieser Support kostet {price}.".into(),
            decline: "Ich helfe bei Abrechnung, Lizenzen und Support für Azure, Microsoft 365 und Dynamics 365, gekauft über {partner}. Für alles andere schreiben Sie „mit einem Menschen sprechen“.".into(),
            not_csp: "Wenn Sie direkt bei Microsoft gekauft haben, kann {partner} Ihre Abrechnung nicht sehen: bitte nutzen Sie {portal}.".into(),
            not_covered: Some("Dazu habe ich noch keine Informationen, deshalb kann ich es hier nicht beantworten. Schreiben Sie „mit einem Menschen sprechen“, und jemand von {partner} übernimmt.".into()),
            support_info: Some("Support von {partner}:".into()),
            support_queue: Some("- {queue}: {hours} ({status}); {contact}; {price}".into()),
            support_open: Some("jetzt erreichbar".into()),
            support_closed: Some("jetzt geschlossen, wieder ab {next_open}".into()),
            support_free: Some("kostenlos".into()),
            see_also: Some("Siehe auch:".into()),
            greeting: Some("Hallo! Ich beantworte Fragen zu Abrechnung, Lizenzen, Abonnements und Support für Azure, Microsoft 365 und Dynamics 365, gekauft über {partner}, und gebe alles, was ein Mensch erledigen muss, an unser Team weiter. Was kann ich für Sie tun?".into()),
            thanks: Some("Gern geschehen! Wenn noch etwas ist, fragen Sie einfach.".into()),
            feedback_thanks: Some("Danke für die Rückmeldung, schön, dass es geholfen hat. Kann ich sonst noch etwas tun?".into()),
            not_helpful: Some("Schade, dass das nicht geholfen hat. Schreiben Sie „mit einem Menschen sprechen“, und jemand von {partner} übernimmt, oder fragen Sie mit anderen Worten.".into()),
            closing: Some("Alles klar. Wenn noch etwas ist, fragen Sie einfach.".into()),
        },
    }
}

/// Whether a section is a document's introduction with no more than one short paragraph (in
/// the guidance: the document's description): it says what the document is about, not how.
fn is_summary_only(hit: &SearchHit) -> bool {
    hit.anchor.is_empty()
        && hit.body.chars().count() < 300
        && hit.body.lines().filter(|l| !l.trim().is_empty()).count() <= 1
}

/// What a section says it is about: its heading, or its document's title for an introduction.
pub(super) fn heading_of(hit: &SearchHit) -> &str {
    if hit.anchor.is_empty() {
        &hit.title
    } else {
        &hit.heading
    }
}
