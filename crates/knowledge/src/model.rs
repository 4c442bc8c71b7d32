//! The data model shared by ingestion, indexing and search.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A language the knowledge base analyses and answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// German (`de`, `de-de`).
    De,
    /// English (`en`, `en-us`).
    En,
}

impl Language {
    /// Every supported language, in a stable order.
    pub const ALL: [Language; 2] = [Language::De, Language::En];

    /// The short code, `de` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Language::De => "de",
            Language::En => "en",
        }
    }

    /// Reads a locale such as `de`, `de-DE`, `en-us` or `EN_GB`.
    pub fn from_locale(locale: &str) -> Option<Language> {
        let lower = locale.trim().to_ascii_lowercase();
        let primary = lower.split(['-', '_']).next().unwrap_or("");
        match primary {
            "de" => Some(Language::De),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::from_locale(s).ok_or_else(|| format!("unknown language `{s}` (expected de or en)"))
    }
}

/// A product family guidance can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Product {
    /// Microsoft Azure.
    Azure,
    /// Microsoft 365 / Office 365.
    Microsoft365,
    /// Dynamics 365.
    Dynamics365,
    /// Partner Center itself: billing, customers, programme rules.
    PartnerCenter,
}

impl Product {
    /// Every product, in a stable order.
    pub const ALL: [Product; 4] = [
        Product::Azure,
        Product::Microsoft365,
        Product::Dynamics365,
        Product::PartnerCenter,
    ];

    /// The tag stored in the index and printed in JSON.
    pub fn tag(self) -> &'static str {
        match self {
            Product::Azure => "azure",
            Product::Microsoft365 => "microsoft-365",
            Product::Dynamics365 => "dynamics-365",
            Product::PartnerCenter => "partner-center",
        }
    }

    /// Reads a tag as written by [`Product::tag`].
    pub fn from_tag(tag: &str) -> Option<Product> {
        Product::ALL.into_iter().find(|p| p.tag() == tag)
    }
}

/// Front matter of a guidance file: the keys we use are typed, the rest is kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FrontMatter {
    /// `title`.
    pub title: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `ms.date` or `date`.
    pub date: Option<String>,
    /// `ms.service`.
    pub service: Option<String>,
    /// `ms.contentlocale` or `locale`.
    pub locale: Option<String>,
    /// `products`: an explicit product list (our own guidance uses it).
    pub products: Vec<String>,
    /// `audience`: an explicit audience list.
    pub audience: Vec<String>,
    /// Every other key, as text.
    pub extra: BTreeMap<String, String>,
}

/// One searchable unit: a part of a guidance file under one heading, or one FAQ question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Path of the source file relative to its knowledge root, `/`-separated.
    pub doc_path: String,
    /// Title of the whole document.
    pub doc_title: String,
    /// The document's description (front matter), which says what the whole document is about.
    pub doc_description: Option<String>,
    /// The heading of this section (the document title for the introduction).
    pub heading: String,
    /// Headings above this one, outermost first (without the document title).
    pub parent_headings: Vec<String>,
    /// The anchor: the HTML anchor of the heading, else a stable slug; empty for the introduction.
    pub anchor: String,
    /// Plain text of the section.
    pub body: String,
    /// Language of the document.
    pub language: Language,
    /// Products the document is about.
    pub products: Vec<Product>,
    /// Audiences named by the document (e.g. "Partner Center for Microsoft Cloud for US Government").
    pub audience: Vec<String>,
    /// Roles named by an "Appropriate roles" / "Geeignete Rollen" line.
    pub roles: Vec<String>,
    /// Document date as written in the front matter.
    pub date: Option<String>,
    /// Link targets found in the section, for citations.
    pub links: Vec<String>,
    /// The section's links with the words they are written with (target as written, text):
    /// another author's words for what the target is about.
    pub link_texts: Vec<(String, String)>,
    /// The first line of the section in the source file (1-based).
    pub line: usize,
}

impl Section {
    /// Whether every word of the text is a word of its links' texts: a list of links ("Next
    /// steps", "Weitere Informationen") that sends the reader elsewhere.
    pub fn is_links_only(&self) -> bool {
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect()
        };
        let linked: std::collections::HashSet<String> =
            self.link_texts.iter().flat_map(|(_, text)| words(text)).collect();
        let body = words(&self.body);
        !linked.is_empty() && !body.is_empty() && body.iter().all(|w| linked.contains(w))
    }

    /// An introduction section of `doc_path` with nothing in it yet: fill in what matters with
    /// struct update syntax (`Section { body, ..Section::new(path, language) }`).
    pub fn new(doc_path: impl Into<String>, language: Language) -> Self {
        Section {
            doc_path: doc_path.into(),
            doc_title: String::new(),
            doc_description: None,
            heading: String::new(),
            parent_headings: Vec::new(),
            anchor: String::new(),
            body: String::new(),
            language,
            products: Vec::new(),
            audience: Vec::new(),
            roles: Vec::new(),
            date: None,
            links: Vec::new(),
            link_texts: Vec::new(),
            line: 1,
        }
    }

    /// The citation of this section: `path#anchor`, or the path alone for an introduction.
    pub fn citation(&self) -> String {
        citation(&self.doc_path, &self.anchor)
    }
}

/// Builds a `path#anchor` citation.
pub fn citation(doc_path: &str, anchor: &str) -> String {
    if anchor.is_empty() {
        doc_path.to_string()
    } else {
        format!("{doc_path}#{anchor}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_is_links_only_when_every_word_is_a_link_texts() {
        let section = |body: &str, links: &[&str]| Section {
            body: body.into(),
            link_texts: links
                .iter()
                .map(|t| ("x.md".to_string(), (*t).to_string()))
                .collect(),
            ..Section::new("en-us/a.md", Language::En)
        };
        assert!(section(
            "- Partner credit: an overview\n- Pricing",
            &["Partner credit: an overview", "pricing"]
        )
        .is_links_only());
        // A sentence of its own with a link in it answers something.
        assert!(!section(
            "The amount will vary (see Calculation). The rate is on the price list page.",
            &["Calculation", "price list page"]
        )
        .is_links_only());
        assert!(!section("Invoices arrive monthly.", &[]).is_links_only());
        assert!(!section("", &["Pricing"]).is_links_only());
    }
}
