//! Entities in customer messages: amounts of money (as exact decimals), invoice numbers,
//! GUIDs, domains and product or licence names. German and English number formats both.

use regex::Regex;
use rust_decimal::Decimal;
use serde::Serialize;
use std::str::FromStr;
use std::sync::LazyLock;
use switchboard_knowledge::Language;

/// More digits than this are not an amount anybody means (and overflow `Decimal`).
const MAX_AMOUNT_DIGITS: usize = 18;

/// An amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Money {
    /// The exact amount.
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    /// ISO 4217 code (`EUR`, `USD`, ...).
    pub currency: String,
}

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// What a GUID in a message refers to, judged by the words before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GuidKind {
    /// A subscription id.
    Subscription,
    /// A tenant (directory) id.
    Tenant,
    /// An order id.
    Order,
    /// No telling word nearby.
    Unknown,
}

/// Everything found in one message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Entities {
    /// Amounts with a currency.
    pub amounts: Vec<Money>,
    /// Invoice numbers.
    pub invoice_numbers: Vec<String>,
    /// GUIDs and what they seem to be.
    pub guids: Vec<(GuidKind, String)>,
    /// Domain names.
    pub domains: Vec<String>,
    /// Product and licence names, as configured in plugins.
    pub products: Vec<String>,
}

impl Entities {
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.amounts.is_empty()
            && self.invoice_numbers.is_empty()
            && self.guids.is_empty()
            && self.domains.is_empty()
            && self.products.is_empty()
    }

    /// The largest amount, if any.
    pub fn largest_amount(&self) -> Option<&Money> {
        self.amounts.iter().max_by(|a, b| a.amount.cmp(&b.amount))
    }
}

// ASCII digits only: `\d` would accept look-alikes such as fullwidth or Arabic-Indic digits.
static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
        (?P<pre>€|\$|£|\b(?:eur|usd|gbp|chf)\b)?\s?
        (?P<num>[0-9][0-9.,'\x20]*[0-9]|[0-9])
        (?:\s?(?P<post>€|\$|£|\b(?:eur|usd|gbp|chf|euros?|dollars?|pfund|franken)\b))?",
    )
    .expect("valid regex")
});
static GUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").expect("valid regex")
});
static INVOICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\b(?:invoice|rechnung|rechnungsnummer|rechnungsnr|inv)\.?\s*(?:no\.?|nr\.?|number|#)?\s*:?\s*#?(?P<a>[A-Z]{0,2}[0-9]{6,12})\b)|\b(?P<b>[DEG][0-9]{9,10})\b",
    )
    .expect("valid regex")
});
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:com|net|org|de|at|ch|eu|io|co\.uk|uk|info|biz|onmicrosoft\.com)\b")
        .expect("valid regex")
});

fn currency_code(symbol: &str) -> Option<&'static str> {
    match symbol.to_lowercase().as_str() {
        "€" | "eur" | "euro" | "euros" => Some("EUR"),
        "$" | "usd" | "dollar" | "dollars" => Some("USD"),
        "£" | "gbp" | "pfund" => Some("GBP"),
        "chf" | "franken" => Some("CHF"),
        _ => None,
    }
}

/// Parses a number written in German or English format. `language` decides the
/// ambiguous case of one separator followed by exactly three digits ("1.234", "1,234").
pub fn parse_number(text: &str, language: Language) -> Option<Decimal> {
    let cleaned: String = text.chars().filter(|c| *c != ' ' && *c != '\'').collect();
    let digits = cleaned.chars().filter(char::is_ascii_digit).count();
    if digits == 0
        || digits > MAX_AMOUNT_DIGITS
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    let last_dot = cleaned.rfind('.');
    let last_comma = cleaned.rfind(',');
    let decimal_sep = match (last_dot, last_comma) {
        (None, None) => None,
        (Some(d), Some(c)) => Some(if d > c { '.' } else { ',' }),
        (Some(_), None) => decide_single('.', &cleaned, language),
        (None, Some(_)) => decide_single(',', &cleaned, language),
    };
    let (int_part, frac_part) = match decimal_sep {
        Some(sep) => {
            let at = cleaned.rfind(sep).expect("separator present");
            (&cleaned[..at], &cleaned[at + 1..])
        }
        None => (cleaned.as_str(), ""),
    };
    // Thousands groups must be well formed: "1.234.567" yes, "12.34.5" no.
    let thousands: Vec<&str> = int_part.split(['.', ',']).collect();
    if thousands.len() > 1 {
        let sep_kinds: std::collections::HashSet<char> =
            int_part.chars().filter(|c| !c.is_ascii_digit()).collect();
        if sep_kinds.len() > 1
            || thousands[0].is_empty()
            || thousands[0].len() > 3
            || thousands[1..].iter().any(|g| g.len() != 3)
            || decimal_sep.is_some_and(|d| sep_kinds.contains(&d))
        {
            return None;
        }
    }
    if frac_part.contains(['.', ',']) || (decimal_sep.is_some() && frac_part.is_empty()) {
        return None;
    }
    let canonical = if frac_part.is_empty() {
        thousands.concat()
    } else {
        format!("{}.{frac_part}", thousands.concat())
    };
    Decimal::from_str(&canonical).ok()
}

fn decide_single(sep: char, text: &str, language: Language) -> Option<char> {
    let count = text.matches(sep).count();
    if count > 1 {
        return None; // repeated: thousands separators
    }
    let after = text.len() - text.rfind(sep).expect("present") - 1;
    if after == 3 {
        // "1.234" is 1234 in German, "1,234" is 1234 in English.
        let thousands_sep = match language {
            Language::De => '.',
            Language::En => ',',
        };
        if sep == thousands_sep {
            None
        } else {
            Some(sep)
        }
    } else {
        Some(sep)
    }
}

/// Finds amounts with a currency (before or after the number).
pub fn find_amounts(text: &str, language: Language) -> Vec<Money> {
    let mut out = Vec::new();
    for caps in AMOUNT.captures_iter(text) {
        let symbol = caps.name("pre").or_else(|| caps.name("post"));
        let Some(currency) = symbol.and_then(|s| currency_code(s.as_str())) else {
            continue;
        };
        let num = caps.name("num").expect("group").as_str().trim();
        if let Some(amount) = parse_number(num, language) {
            out.push(Money {
                amount,
                currency: currency.to_string(),
            });
        }
    }
    out
}

/// Extracts every entity kind; `product_names` come from the plugins.
pub fn extract(text: &str, language: Language, product_names: &[String]) -> Entities {
    let mut entities = Entities {
        amounts: find_amounts(text, language),
        ..Entities::default()
    };
    let lower = text.to_lowercase();
    for m in GUID.find_iter(text) {
        let before = &lower[lower[..m.start()]
            .char_indices()
            .rev()
            .nth(30)
            .map_or(0, |(i, _)| i)..m.start()];
        let kind = if before.contains("tenant") || before.contains("mandant") || before.contains("directory")
        {
            GuidKind::Tenant
        } else if before.contains("subscription") || before.contains("abo") {
            GuidKind::Subscription
        } else if before.contains("order") || before.contains("bestellung") {
            GuidKind::Order
        } else {
            GuidKind::Unknown
        };
        entities.guids.push((kind, m.as_str().to_lowercase()));
    }
    for caps in INVOICE.captures_iter(text) {
        if let Some(m) = caps.name("a").or_else(|| caps.name("b")) {
            let n = m.as_str().to_uppercase();
            if !entities.invoice_numbers.contains(&n) {
                entities.invoice_numbers.push(n);
            }
        }
    }
    for m in DOMAIN.find_iter(text) {
        let d = m.as_str().to_lowercase();
        if !entities.domains.contains(&d) {
            entities.domains.push(d);
        }
    }
    for name in product_names {
        if contains_phrase(&lower, &name.to_lowercase()) && !entities.products.contains(name) {
            entities.products.push(name.clone());
        }
    }
    // "Dynamics 365 Sales" names Dynamics 365 and Dynamics too: the longest name found is the
    // product, not three of them.
    let found = entities.products.clone();
    entities.products.retain(|name| {
        let lower = name.to_lowercase();
        !found
            .iter()
            .any(|other| other.len() > name.len() && contains_phrase(&other.to_lowercase(), &lower))
    });
    entities
}

/// Whether `phrase` occurs in `haystack` between word boundaries (both lower case).
pub fn contains_phrase(haystack: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    haystack.match_indices(phrase).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    fn amounts(text: &str, lang: Language) -> Vec<String> {
        find_amounts(text, lang).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn german_and_english_formats() {
        assert_eq!(amounts("1.234,56 €", Language::De), ["1234.56 EUR"]);
        assert_eq!(amounts("EUR 1,234.56", Language::En), ["1234.56 EUR"]);
        assert_eq!(amounts("$36", Language::En), ["36 USD"]);
        assert_eq!(amounts("36 Dollar", Language::De), ["36 USD"]);
        assert_eq!(amounts("12,50 Euro", Language::De), ["12.50 EUR"]);
        assert_eq!(amounts("€ 1.234.567,00", Language::De), ["1234567.00 EUR"]);
        assert_eq!(amounts("1 234,56 EUR", Language::De), ["1234.56 EUR"]);
    }

    #[test]
    fn ambiguous_three_digit_groups_follow_the_language() {
        assert_eq!(parse_number("1.234", Language::De), Some(dec("1234")));
        assert_eq!(parse_number("1.234", Language::En), Some(dec("1.234")));
        assert_eq!(parse_number("1,234", Language::En), Some(dec("1234")));
        assert_eq!(parse_number("1,234", Language::De), Some(dec("1.234")));
    }

    #[test]
    fn amounts_are_exact_decimals() {
        let m = &find_amounts("0,10 € und 0,20 €", Language::De);
        assert_eq!(m[0].amount + m[1].amount, dec("0.30"));
    }

    #[test]
    fn hostile_numbers_are_rejected_not_mangled() {
        let huge = format!("{} €", "9".repeat(10_000));
        assert!(find_amounts(&huge, Language::De).is_empty());
        assert_eq!(
            parse_number("1,234.567,89", Language::En),
            None,
            "mixed separators"
        );
        assert_eq!(parse_number("12.34.5", Language::De), None);
        assert_eq!(parse_number("1..2", Language::De), None);
        // Fullwidth and Arabic-Indic digits look like numbers but are not ASCII digits.
        assert!(find_amounts("１２３ €", Language::De).is_empty());
        assert!(find_amounts("٣٦ $", Language::En).is_empty());
        assert!(
            find_amounts("36", Language::En).is_empty(),
            "no currency, no amount"
        );
    }

    #[test]
    fn ids_domains_and_products() {
        let e = extract(
            "Invoice G012345678 for tenant 0f8fad5b-d9cb-469f-a165-70867728950e, subscription 7c9e6679-7425-40de-944b-e07fc1f90ae7, contoso.onmicrosoft.com, Office 365 E3",
            Language::En,
            &["Office 365 E3".to_string(), "E5".to_string()],
        );
        assert_eq!(e.invoice_numbers, ["G012345678"]);
        assert_eq!(e.guids[0].0, GuidKind::Tenant);
        assert_eq!(e.guids[1].0, GuidKind::Subscription);
        assert_eq!(e.domains, ["contoso.onmicrosoft.com"]);
        assert_eq!(e.products, ["Office 365 E3"]);
        let de = extract("Rechnungsnummer 1234567890 ist falsch", Language::De, &[]);
        assert_eq!(de.invoice_numbers, ["1234567890"]);
        let names = ["Dynamics 365", "Dynamics", "Dynamics 365 Sales", "Azure"].map(String::from);
        let e = extract("we use Dynamics 365 Sales and Azure", Language::En, &names);
        assert_eq!(
            e.products,
            ["Dynamics 365 Sales", "Azure"],
            "the longest name, once"
        );
    }

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(contains_phrase("we use e3 today", "e3"));
        assert!(!contains_phrase("we use e35 today", "e3"));
    }
}
