//! Markup a chat platform puts into a message's text: Discord writes a mention of the bot as
//! `<@1102345678901234567>`, of a role as `<@&...>`, of a channel as `<#...>`, a custom emoji as
//! `<:name:...>`. To the analysis an 18-digit number looked like an invoice number (the shape of
//! a billing request) and a word no guidance knows; it reads the message without them. The
//! transcript keeps the text as written.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

static MARKUP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"<(?:@[!&]?|#|a?:\w+:)\d{5,}>").expect("markup pattern"));

/// The message without chat markup.
pub fn without_markup(text: &str) -> Cow<'_, str> {
    if !text.contains('<') {
        return Cow::Borrowed(text);
    }
    MARKUP.replace_all(text, " ")
}

#[cfg(test)]
mod tests {
    use super::without_markup;

    #[test]
    fn mentions_channels_and_custom_emoji_are_not_read() {
        assert_eq!(
            without_markup("<@1102345678901234567> where is my invoice <:sad:1234567890> <#987654321>"),
            "  where is my invoice    "
        );
        assert_eq!(without_markup("<@!12345678> <@&12345678> hi"), "    hi");
        // Text that only looks like markup stays.
        for text in ["a < b and c > d", "<@admin> please", "invoice <12345678>"] {
            assert_eq!(without_markup(text), text);
        }
    }
}
