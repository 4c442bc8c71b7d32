//! Text from customers and staff, made safe for the medium it is shown in.
//!
//! A terminal obeys escape sequences (clear the screen, recolour, retitle the window) and bidi
//! controls reorder what follows them, so "€ 10" can be shown as "01 €" and an invoice number
//! spoofed. Every adapter that prints to a terminal passes text through [`for_terminal`].

/// Bidirectional formatting characters (embeddings, overrides, isolates and marks).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// The text with every control character but newline and tab (C0, DEL, C1: escape sequences
/// start with them) and every bidi control shown as a visible `<U+XXXX>`, so nothing a
/// customer or staff member wrote can act on the terminal or reorder what staff read.
pub fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bidi_controls_become_visible() {
        let hostile =
            "Hi\u{1b}[2J\u{1b}]0;owned\u{7}\u{9b}31m total \u{202e}01 €\u{2066}x\u{2069}\nnext\tline";
        let safe = for_terminal(hostile);
        assert!(
            !safe
                .chars()
                .any(|c| (c.is_control() && c != '\n' && c != '\t') || is_bidi_control(c)),
            "{safe:?}"
        );
        assert!(
            safe.contains("<U+001B>[2J") && safe.contains("<U+202E>01 €"),
            "{safe}"
        );
        assert!(safe.contains("\nnext\tline"), "newlines and tabs stay");
        assert_eq!(for_terminal("Grüße, 1.234,56 €"), "Grüße, 1.234,56 €");
    }
}
