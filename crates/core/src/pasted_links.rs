//! Links pasted into a message ("I read https://learn.microsoft.com/en-us/partner-center/...")
//! as the analysis reads them: scheme, host, locale and ids are no words of the question, and
//! `learn microsoft com en us partner center` matched every page of the guidance better than the
//! question did. What a link says of its page is its slug ("invoice-file" -> "invoice file"):
//! that much is kept. Staff still read the link as written.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?://|www\.)[^\s<>()\[\]{}]*[^\s<>()\[\]{}.,;:!?'"]"#).expect("link pattern")
});

/// A path segment that names no page: a locale, a number, an id, a hash.
static NOT_A_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:[a-z]{2}(?:-[a-z]{2,4})?|[0-9a-f-]{8,}|index|default|home)$").expect("pattern")
});

/// Whether a path segment is mostly digits (an order, a ticket, a tenant number), not a name
/// ("microsoft-365-business" is a name).
fn is_an_id(segment: &str) -> bool {
    let digits = segment.chars().filter(char::is_ascii_digit).count();
    digits * 2 > segment.chars().count()
}

/// The message with every link replaced by the words of its page's name, or by nothing.
pub fn as_words(text: &str) -> Cow<'_, str> {
    if !LINK.is_match(text) {
        return Cow::Borrowed(text);
    }
    LINK.replace_all(text, |caps: &regex::Captures<'_>| {
        let words = slug_words(&caps[0]);
        if words.is_empty() {
            " ".to_string()
        } else {
            format!(" {words} ")
        }
    })
}

/// The words of the last path segment of `link` that names something; nothing for a link to a
/// site or one of its top sections ("learn.microsoft.com/en-us/partner-center/"), which names a
/// site, not a page.
fn slug_words(link: &str) -> String {
    let without_scheme = link.split_once("://").map_or(link, |(_, rest)| rest);
    let path = without_scheme.split(['?', '#']).next().unwrap_or_default();
    // The first segment is the host.
    let names: Vec<&str> = path
        .split('/')
        .skip(1)
        .map(|segment| {
            segment
                .rsplit_once('.')
                .filter(|(_, ext)| ext.len() <= 4 && ext.chars().all(char::is_alphabetic))
                .map_or(segment, |(stem, _)| stem)
        })
        .filter(|segment| !segment.is_empty() && !NOT_A_NAME.is_match(segment) && !is_an_id(segment))
        .collect();
    match names.as_slice() {
        [] | [_] => String::new(),
        [.., page] => page
            .split(['-', '_', '+', '.'])
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::as_words;

    #[test]
    fn a_link_is_read_as_the_name_of_its_page() {
        assert_eq!(
            as_words("see https://learn.microsoft.com/en-us/partner-center/billing/invoice-file#lines, is it right?"),
            "see  invoice file , is it right?"
        );
        assert_eq!(
            as_words("laut https://example.com/de-de/docs/reservierung-kuendigen.html geht das"),
            "laut  reservierung kuendigen  geht das"
        );
    }

    #[test]
    fn a_link_that_names_no_page_is_left_out_and_text_without_links_stays() {
        assert_eq!(
            as_words("I was on https://portal.azure.com/ today"),
            "I was on   today"
        );
        assert_eq!(
            as_words("ticket www.example.com/123456 is open"),
            "ticket   is open"
        );
        let plain = "our invoice 2026-11 is wrong. contoso.com is our domain";
        assert!(matches!(as_words(plain), std::borrow::Cow::Borrowed(t) if t == plain));
    }
}
