//! Which guidance documents link to which: the authors' own statement that two documents
//! treat the same subject from different sides.
//!
//! Links are written three ways in the guidance: relative (`billing-basics.md`,
//! `../partner-center/x.md#anchor`), site-absolute (`/partner-center/new-commerce-add-ons`) and
//! external (`https://…`). Relative links resolve against the linking file; a site-absolute link
//! names a document by its file name, so it resolves to the one document of that language with
//! that name, and to none when the name is ambiguous. External links never name guidance here.

use crate::model::{Language, Section};
use std::collections::{BTreeSet, HashMap};

/// What the links between guidance documents say, per document (by path).
#[derive(Debug, Default)]
pub struct DocumentLinks {
    /// The other documents of the knowledge base it links to.
    pub linked: HashMap<String, Vec<String>>,
    /// The distinct texts other documents link to it with: their authors' words for what it is
    /// about ("download your invoice" for a page titled "Read your bill"), searched in a field
    /// of its sections' own. A text that links to several documents ("learn more", "hier")
    /// describes none of them and is left out.
    pub texts: HashMap<String, Vec<String>>,
}

/// Resolves every link of the guidance once per section, for both maps of [`DocumentLinks`].
pub fn document_links(sections: &[Section]) -> DocumentLinks {
    let resolver = Resolver::new(sections);
    let mut linked: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut texts: HashMap<String, BTreeSet<String>> = HashMap::new();
    for s in sections {
        let targets = linked.entry(s.doc_path.clone()).or_default();
        targets.extend(s.links.iter().filter_map(|link| resolver.resolve(s, link)));
        for (link, text) in &s.link_texts {
            if let Some(target) = resolver.resolve(s, link) {
                texts.entry(target).or_default().insert(text.to_lowercase());
            }
        }
    }
    let mut targets_of: HashMap<String, usize> = HashMap::new();
    for text in texts.values().flatten() {
        *targets_of.entry(text.clone()).or_default() += 1;
    }
    DocumentLinks {
        linked: linked
            .into_iter()
            .map(|(doc, targets)| (doc, targets.into_iter().collect()))
            .collect(),
        texts: texts
            .into_iter()
            .map(|(doc, texts)| (doc, texts.into_iter().filter(|t| targets_of[t] == 1).collect()))
            .collect(),
    }
}

/// Resolves a section's links to the other documents of the knowledge base they name.
struct Resolver<'a> {
    paths: HashMap<&'a str, Language>,
    by_name: HashMap<(Language, &'a str), Vec<&'a str>>,
}

impl<'a> Resolver<'a> {
    fn new(sections: &'a [Section]) -> Self {
        let paths = documents(sections);
        let mut by_name: HashMap<(Language, &str), Vec<&str>> = HashMap::new();
        for (&path, &language) in &paths {
            by_name.entry((language, file_stem(path))).or_default().push(path);
        }
        Resolver { paths, by_name }
    }

    /// The document `link` in section `s` names, other than the section's own.
    fn resolve(&self, s: &Section, link: &str) -> Option<String> {
        let target = strip_link(link)?;
        let resolved = if target.starts_with('/') {
            None
        } else {
            Some(resolve_relative(&s.doc_path, target)).filter(|p| self.paths.contains_key(p.as_str()))
        };
        let resolved = resolved.or_else(|| match self.by_name.get(&(s.language, file_stem(target))) {
            Some(candidates) if candidates.len() == 1 => Some(candidates[0].to_string()),
            _ => None,
        });
        resolved.filter(|p| *p != s.doc_path)
    }
}

/// A relative link to a guidance file (`.md` or `.yml`) that is not in the knowledge base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The linking document, relative to its knowledge root.
    pub doc_path: String,
    /// First line of the section holding the link.
    pub line: usize,
    /// The link as written.
    pub link: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: link `{}` (in the section starting here) names no guidance file",
            self.doc_path, self.line, self.link
        )
    }
}

/// Relative links to guidance files that do not resolve: a renamed or deleted file, or a typo.
/// Site-absolute and external links are not checked (they may name pages published elsewhere).
pub fn broken_links(sections: &[Section]) -> Vec<BrokenLink> {
    let paths = documents(sections);
    let mut broken = Vec::new();
    for s in sections {
        for link in &s.links {
            let Some(target) = strip_link(link).filter(|t| !t.starts_with('/')) else {
                continue;
            };
            let is_guidance = std::path::Path::new(target)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("yml"));
            if is_guidance && !paths.contains_key(resolve_relative(&s.doc_path, target).as_str()) {
                broken.push(BrokenLink {
                    doc_path: s.doc_path.clone(),
                    line: s.line,
                    link: link.clone(),
                });
            }
        }
    }
    broken
}

/// Every document of the knowledge base with its language, in one pass over the sections.
fn documents(sections: &[Section]) -> HashMap<&str, Language> {
    sections
        .iter()
        .map(|s| (s.doc_path.as_str(), s.language))
        .collect()
}

/// The link's path without anchor or query; `None` for external links and in-page anchors.
fn strip_link(link: &str) -> Option<&str> {
    let link = link.trim();
    if link.contains("://") || link.starts_with("mailto:") || link.starts_with('#') {
        return None;
    }
    let end = link.find(['#', '?']).unwrap_or(link.len());
    Some(&link[..end]).filter(|p| !p.is_empty())
}

/// The file name without directory and extension: `a/b/billing-basics.md` -> `billing-basics`.
fn file_stem(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".md")
        .or_else(|| name.strip_suffix(".yml"))
        .unwrap_or(name)
}

/// `target` resolved against the directory of `from`, with `.` and `..` steps applied.
fn resolve_relative(from: &str, target: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for step in target.split('/') {
        match step {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A section with only a path, a language and links (body and headings empty).
    pub(crate) fn section(path: &str, language: Language, links: &[&str]) -> Section {
        Section {
            links: links.iter().map(ToString::to_string).collect(),
            ..Section::new(path, language)
        }
    }

    #[test]
    fn relative_absolute_and_external_links() {
        let sections = vec![
            section(
                "en-us/billing.md",
                Language::En,
                &[
                    "invoice.md#pay",
                    "/partner-center/refunds",
                    "https://example.com/invoice.md",
                    "#local",
                    "billing.md",
                    "missing.md",
                ],
            ),
            section("en-us/billing.md", Language::En, &["sub/../invoice.md?view=1"]),
            section("en-us/invoice.md", Language::En, &[]),
            section("en-us/refunds.md", Language::En, &[]),
            section("de-de/pc/refunds.md", Language::De, &["../pc/invoice.md"]),
            section("de-de/pc/invoice.md", Language::De, &["/partner-center/billing"]),
        ];
        let linked = document_links(&sections).linked;
        assert_eq!(
            linked["en-us/billing.md"],
            vec!["en-us/invoice.md", "en-us/refunds.md"]
        );
        assert!(linked["en-us/invoice.md"].is_empty());
        assert_eq!(linked["de-de/pc/refunds.md"], vec!["de-de/pc/invoice.md"]);
        // No German document of that name: a link never crosses languages.
        assert!(linked["de-de/pc/invoice.md"].is_empty());
    }

    #[test]
    fn a_document_gets_the_texts_it_is_linked_with_except_those_that_name_several() {
        let linking = |path: &str, links: &[(&str, &str)]| Section {
            link_texts: links
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect(),
            ..section(path, Language::En, &[])
        };
        let sections = vec![
            linking(
                "en-us/a.md",
                &[
                    ("invoice.md#pdf", "Download your invoice"),
                    ("invoice.md", "learn more"),
                ],
            ),
            linking(
                "en-us/b.md",
                &[
                    ("/partner-center/invoice", "Invoice as PDF"),
                    ("c.md", "learn more"),
                ],
            ),
            // A document's links to itself say nothing about it to others.
            linking("en-us/c.md", &[("c.md#top", "this page")]),
            section("en-us/invoice.md", Language::En, &[]),
        ];
        let texts = document_links(&sections).texts;
        assert_eq!(
            texts["en-us/invoice.md"],
            vec!["download your invoice", "invoice as pdf"],
            "\"learn more\" links to two documents and describes neither"
        );
        assert!(texts["en-us/c.md"].is_empty(), "{texts:?}");
    }

    #[test]
    fn broken_relative_links_are_named_with_file_and_line() {
        let mut with_typo = section(
            "en-us/a.md",
            Language::En,
            &["b.md#x", "bb.md", "/x/missing", "https://e.com/c.md"],
        );
        with_typo.line = 12;
        let sections = vec![with_typo, section("en-us/b.md", Language::En, &["../en-us/a.md"])];
        let broken = broken_links(&sections);
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert_eq!(
            broken[0].to_string(),
            "en-us/a.md:12: link `bb.md` (in the section starting here) names no guidance file"
        );
    }

    #[test]
    fn an_ambiguous_name_links_nowhere() {
        let sections = vec![
            section("en-us/a.md", Language::En, &["/somewhere/support"]),
            section("en-us/support.md", Language::En, &[]),
            section("en-us/marketplace/support.md", Language::En, &[]),
        ];
        assert!(document_links(&sections).linked["en-us/a.md"].is_empty());
    }
}
