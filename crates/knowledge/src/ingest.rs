//! Reading guidance files (Markdown in Microsoft Docs style, and `YamlMime:FAQ` files)
//! into [`Section`]s. Nothing here stops on bad input: a file that cannot be read is
//! skipped with a reason, a problem inside a file is a warning, and the rest goes on.

use crate::model::{FrontMatter, Language, Product, Section};
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use regex::Regex;
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// Files larger than this are skipped: no guidance article comes near it, and reading a
/// huge file would stall indexing for everyone.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// How deep `[!INCLUDE]` may nest before we assume a cycle.
const MAX_INCLUDE_DEPTH: usize = 5;

/// A level-3 section with less body text than this merges into the section before it.
const MERGE_BELOW_CHARS: usize = 100;

/// A problem inside a file that did not stop it from being indexed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IngestWarning {
    /// The file, as given on disk.
    pub path: PathBuf,
    /// The 1-based line, where there is one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// True when the file is broken (bad YAML), not merely incomplete (a missing include):
    /// `switchboard check` fails on these.
    pub is_error: bool,
}

impl std::fmt::Display for IngestWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// A file that was not indexed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedFile {
    /// The file, as given on disk.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
    /// True when the file is broken; false when it is simply not guidance (a TOC, an empty file).
    pub is_error: bool,
}

/// Everything read from the knowledge roots.
#[derive(Debug, Default)]
pub struct Ingested {
    /// The sections, in file order.
    pub sections: Vec<Section>,
    /// How many files produced at least one section.
    pub files: usize,
    /// Files that were not indexed.
    pub skipped: Vec<SkippedFile>,
    /// Problems inside indexed files.
    pub warnings: Vec<IngestWarning>,
}

/// A guidance file found under a knowledge root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct GuidanceFile {
    /// The file on disk.
    pub path: PathBuf,
    /// Its path relative to its root, `/`-separated; unique across roots.
    pub doc_path: String,
    /// The knowledge root it was found under, canonical: includes must stay inside it.
    pub root: PathBuf,
}

/// Lists the candidate guidance files under the roots (Markdown and YAML), sorted, with
/// document paths made unique across roots. Unreadable directories become skipped entries.
pub fn discover(roots: &[PathBuf]) -> (Vec<GuidanceFile>, Vec<SkippedFile>) {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    for root in roots {
        if !root.is_dir() {
            skipped.push(SkippedFile {
                path: root.clone(),
                reason: "knowledge root is not a directory".into(),
                is_error: true,
            });
            continue;
        }
        let mut here = Vec::new();
        let canonical_root = root.canonicalize().unwrap_or_else(|_| root.clone());
        for entry in walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    skipped.push(SkippedFile {
                        path: e.path().map_or_else(|| root.clone(), Path::to_path_buf),
                        reason: format!("cannot read: {e}"),
                        is_error: true,
                    });
                    continue;
                }
            };
            if !entry.file_type().is_file() || !is_guidance_name(entry.path()) {
                continue;
            }
            // A symlink may point anywhere: guidance is what lies inside the root, so a link to
            // /etc/passwd never reaches a customer.
            match entry.path().canonicalize() {
                Ok(real) if real.starts_with(&canonical_root) => {}
                _ => {
                    skipped.push(SkippedFile {
                        path: entry.path().to_path_buf(),
                        reason: "a link that leads outside the knowledge root; left out".into(),
                        is_error: true,
                    });
                    continue;
                }
            }
            let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
            if rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let doc_path = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            here.push(GuidanceFile {
                path: entry.path().to_path_buf(),
                doc_path,
                root: canonical_root.clone(),
            });
        }
        let root_name = root
            .file_name()
            .map_or_else(|| "root".to_string(), |n| n.to_string_lossy().into_owned());
        for mut file in here {
            if !seen.insert(file.doc_path.clone()) {
                // The same relative path under two roots: keep both, told apart by root name.
                file.doc_path = format!("{root_name}/{}", file.doc_path);
                seen.insert(file.doc_path.clone());
            }
            files.push(file);
        }
    }
    (files, skipped)
}

fn is_guidance_name(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("md" | "markdown" | "yml" | "yaml")
    )
}

/// Reads every guidance file under the roots.
pub fn ingest_roots(roots: &[PathBuf]) -> Ingested {
    ingest_roots_with_progress(roots, |_, _| {})
}

/// Like [`ingest_roots`], calling `progress(done, total)` after each file. Files are read and
/// parsed on every core; sections come out in file order all the same.
pub fn ingest_roots_with_progress(roots: &[PathBuf], mut progress: impl FnMut(usize, usize)) -> Ingested {
    use rayon::prelude::*;
    let (mut files, skipped) = discover(roots);
    files.retain(|f| !is_include_snippet(&f.doc_path));
    let total = files.len();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let parsed: Vec<Result<ParsedFile, SkippedFile>> = std::thread::scope(|scope| {
        let parsing = scope.spawn(|| {
            let done = done;
            files
                .par_iter()
                .map(|file| {
                    let parsed = ingest_file(file);
                    let _ = done.send(());
                    parsed
                })
                .collect()
        });
        // `progress` is the caller's (not `Send`): called here, as each file is done.
        for (i, ()) in finished.iter().enumerate() {
            progress(i + 1, total);
        }
        parsing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    let mut out = Ingested {
        skipped,
        ..Ingested::default()
    };
    for (file, parsed) in files.iter().zip(parsed) {
        match parsed {
            Ok(parsed) => {
                out.warnings.extend(parsed.warnings);
                if parsed.sections.is_empty() {
                    out.skipped.push(SkippedFile {
                        path: file.path.clone(),
                        reason: "no text to index".into(),
                        is_error: false,
                    });
                } else {
                    out.files += 1;
                    out.sections.extend(parsed.sections);
                }
            }
            Err(skip) => out.skipped.push(skip),
        }
    }
    out
}

/// Whether a file is a snippet for other documents to include: it lies in a folder named
/// `includes`, as DocFX keeps them. Its text is indexed where it is included (a monthly
/// announcement, an article), not as a page of its own, which it is not: it has no address to
/// cite, its title is "include file", and it doubled the text of the pages that include it.
fn is_include_snippet(doc_path: &str) -> bool {
    doc_path.split('/').any(|segment| segment == "includes")
}

/// The sections and warnings of one file.
#[derive(Debug, Default)]
pub struct ParsedFile {
    /// The sections.
    pub sections: Vec<Section>,
    /// Problems that did not stop the file.
    pub warnings: Vec<IngestWarning>,
}

/// Reads one guidance file. An `Err` means the whole file is skipped.
pub fn ingest_file(file: &GuidanceFile) -> Result<ParsedFile, SkippedFile> {
    let skip = |reason: String| SkippedFile {
        path: file.path.clone(),
        reason,
        is_error: true,
    };
    let size = std::fs::metadata(&file.path)
        .map_err(|e| skip(format!("cannot read: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(skip(format!(
            "file too large ({:.1} MB; the limit is {} MB)",
            size as f64 / 1_048_576.0,
            MAX_FILE_BYTES / 1_048_576
        )));
    }
    let bytes = std::fs::read(&file.path).map_err(|e| skip(format!("cannot read: {e}")))?;
    let text = decode(&bytes).map_err(skip)?;
    if text.trim().is_empty() {
        return Err(SkippedFile {
            is_error: false,
            ..skip("empty file".into())
        });
    }
    let is_yaml = matches!(
        file.path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("yml" | "yaml")
    );
    if is_yaml {
        let first = text.lines().next().unwrap_or("").trim();
        if !first.eq_ignore_ascii_case("### YamlMime:FAQ") {
            let kind = first.strip_prefix("### YamlMime:").unwrap_or("plain YAML");
            return Err(skip(format!(
                "not a FAQ file ({kind}); only YamlMime:FAQ YAML is guidance"
            )));
        }
        return Ok(parse_faq(file, &text));
    }
    Ok(parse_markdown_file(file, &text))
}

/// Turns raw bytes into clean text, or says why it cannot.
fn decode(bytes: &[u8]) -> Result<String, String> {
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Err("binary file (contains NUL bytes)".into());
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()].split(|&b| b == b'\n').count();
            return Err(format!("invalid UTF-8 at line {line} (byte {})", e.valid_up_to()));
        }
    };
    Ok(normalize_text(text))
}

/// Characters that show as nothing: zero-width spaces and joiners, the word joiner, a byte
/// order mark, a soft hyphen. Guidance files and chat messages copied from a mail hold them.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}')
}

/// Removes a BOM, unifies line endings, turns non-breaking spaces into spaces and drops
/// zero-width characters, so that neither the parser nor the analyzers see them.
pub fn normalize_text(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push('\n');
                }
            }
            '\u{a0}' | '\u{202f}' | '\u{2007}' => out.push(' '),
            c if is_invisible(c) => {}
            _ => out.push(c),
        }
    }
    out
}

/// Splits `---` front matter from the text. Returns the YAML, the body, and the line the
/// body starts on (1-based).
fn split_front_matter(text: &str) -> (Option<&str>, &str, usize) {
    // The fences may carry trailing spaces (`--- `), as a third of the product articles' do;
    // read strictly, their front matter would be a setext heading of the first section.
    let first = text.split_inclusive('\n').next().unwrap_or("");
    if first.trim_end() != "---" || !first.ends_with('\n') {
        return (None, text, 1);
    }
    let rest = &text[first.len()..];
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            let yaml = &rest[..offset];
            let body = &rest[offset + line.len()..];
            let body_line = 2 + yaml.lines().count() + 1;
            return (Some(yaml), body, body_line);
        }
        offset += line.len();
    }
    // An opening fence without a closing one: treat the whole file as Markdown.
    (None, text, 1)
}

fn yaml_scalar(value: &serde_norway::Value) -> Option<String> {
    match value {
        serde_norway::Value::String(s) => Some(s.trim().to_string()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        serde_norway::Value::Bool(b) => Some(b.to_string()),
        serde_norway::Value::Sequence(items) => {
            let parts: Vec<String> = items.iter().filter_map(yaml_scalar).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

fn yaml_list(value: &serde_norway::Value) -> Vec<String> {
    match value {
        serde_norway::Value::Sequence(items) => items.iter().filter_map(yaml_scalar).collect(),
        other => yaml_scalar(other)
            .map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Reads front matter from a YAML mapping; `Err` carries a message and a line within the YAML.
fn front_matter_from_value(value: &serde_norway::Value) -> FrontMatter {
    let mut fm = FrontMatter::default();
    let Some(map) = value.as_mapping() else {
        return fm;
    };
    for (key, value) in map {
        let Some(key) = key.as_str() else { continue };
        match key {
            "title" => fm.title = yaml_scalar(value),
            "description" => fm.description = yaml_scalar(value),
            "ms.date" | "date" => fm.date = yaml_scalar(value),
            "ms.service" => fm.service = yaml_scalar(value),
            "ms.contentlocale" | "locale" => fm.locale = yaml_scalar(value),
            "products" => fm.products = yaml_list(value),
            "audience" => fm.audience = yaml_list(value),
            _ => {
                if let Some(v) = yaml_scalar(value) {
                    fm.extra.insert(key.to_string(), v);
                }
            }
        }
    }
    fm
}

/// Reads `key: value` lines, first occurrence wins: how DocFX treats front matter with
/// duplicate keys, which strict YAML rejects.
fn front_matter_from_lines(yaml: &str) -> FrontMatter {
    let mut map = serde_norway::Mapping::new();
    for line in yaml.lines() {
        if line.starts_with([' ', '\t', '-', '#']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let key = serde_norway::Value::String(key.trim().to_string());
        let value = value.trim().trim_matches(['"', '\'']).to_string();
        if !map.contains_key(&key) && !value.is_empty() {
            map.insert(key, serde_norway::Value::String(value));
        }
    }
    front_matter_from_value(&serde_norway::Value::Mapping(map))
}

fn parse_front_matter(yaml: &str) -> Result<FrontMatter, (String, Option<usize>)> {
    let value: serde_norway::Value = match serde_norway::from_str(yaml) {
        Ok(v) => v,
        Err(e) if e.to_string().contains("duplicate entry") => return Ok(front_matter_from_lines(yaml)),
        Err(e) => {
            // The parser counts lines from the front matter's first and names the error's
            // position twice; the warning names the file's line once, so what started the broken
            // construct is given as a file line too.
            let text = e.to_string();
            let mut first = true;
            let message = YAML_POSITION.replace_all(&text, |c: &regex::Captures<'_>| {
                if std::mem::take(&mut first) {
                    String::new()
                } else {
                    let line: usize = c[1].parse().unwrap_or(0);
                    format!(" that starts on line {}", line + 1)
                }
            });
            return Err((
                format!("invalid YAML front matter: {message}"),
                e.location().map(|l| l.line()),
            ));
        }
    };
    if !value.is_mapping() && !value.is_null() {
        return Err(("front matter is not a mapping of keys".into(), None));
    }
    Ok(front_matter_from_value(&value))
}

/// A position in a YAML parser's message (`at line 2 column 12`).
static YAML_POSITION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r" at line (\d+) column \d+").expect("valid regex"));
static INCLUDE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[!INCLUDE\s*\[[^\]]*\]\(\s*([^)\s]+)\s*\)\s*\]").expect("valid regex"));
static ALERT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)^(\s*(?:>\s*)+)\[!(?:note|tip|important|caution|warning)\]").expect("valid regex")
});
static NO_LOC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#":::no-loc\s+text="([^"]*)"\s*:::"#).expect("valid regex"));
static INLINE_DIRECTIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r":::[a-z][a-z-]*\b[^\n]*?:::").expect("valid regex"));
static HTML_ANCHOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)<a\s+(?:name|id)\s*=\s*["']([^"']+)["']"#).expect("valid regex"));
static HTML_TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("valid regex"));
static ROLES_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(appropriate roles|geeignete rollen|zielgruppe|audience)\s*:?\s*(.*)$")
        .expect("valid regex")
});

/// What includes may still add to one document: a file including itself ten times, five levels
/// deep, would otherwise expand a hundred thousand times.
struct IncludeBudget<'a> {
    /// The knowledge root every include must resolve inside.
    root: &'a Path,
    /// Bytes that includes may still add.
    bytes: u64,
    /// Includes that may still be read.
    includes: usize,
}

/// Bytes all includes of one document may add together.
pub const MAX_INCLUDED_BYTES: u64 = MAX_FILE_BYTES;
/// Includes one document may read, nested ones counted.
const MAX_INCLUDES: usize = 200;

/// Reads an include target, confined: a relative path that resolves (links followed) inside the
/// root, a regular file (never a FIFO or device, which would block or never end), within the
/// budget. The reason it is refused otherwise.
fn read_include(
    reference: &str,
    dir: &Path,
    budget: &mut IncludeBudget<'_>,
) -> Result<(PathBuf, String), (String, bool)> {
    let refused = |why: String| Err((why, true));
    if reference.starts_with('/') || reference.starts_with('\\') || reference.contains(':') {
        return refused(format!("include `{reference}` is not a relative path; left out"));
    }
    let Ok(target) = dir.join(reference).canonicalize() else {
        return Err((format!("include `{reference}` not found; left out"), false));
    };
    if !target.starts_with(budget.root) {
        return refused(format!(
            "include `{reference}` leads outside the knowledge root; left out"
        ));
    }
    let metadata = std::fs::metadata(&target)
        .map_err(|e| (format!("include `{reference}` unreadable ({e}); left out"), false))?;
    if !metadata.is_file() {
        return refused(format!("include `{reference}` is not a regular file; left out"));
    }
    if budget.includes == 0 || metadata.len() > budget.bytes {
        return refused(format!(
            "include `{reference}` exceeds what one document may include ({MAX_INCLUDES} includes, {} MB); left out",
            MAX_INCLUDED_BYTES / 1_048_576
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&target)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, budget.bytes + 1), &mut bytes))
        .map_err(|e| (format!("include `{reference}` unreadable ({e}); left out"), false))?;
    if bytes.len() as u64 > budget.bytes {
        return refused(format!("include `{reference}` grew while it was read; left out"));
    }
    budget.bytes -= bytes.len() as u64;
    budget.includes -= 1;
    let text = decode(&bytes).map_err(|e| (format!("include `{reference}`: {e}; left out"), false))?;
    Ok((target, text))
}

/// Resolves `[!INCLUDE]` references relative to `dir`, confined to the knowledge root and
/// bounded per document (see [`read_include`]); a missing include is a warning, an include
/// out of bounds an error.
fn resolve_includes(
    text: &str,
    dir: &Path,
    file: &Path,
    body_line: usize,
    depth: usize,
    budget: &mut IncludeBudget<'_>,
    warnings: &mut Vec<IngestWarning>,
) -> String {
    if !text.contains("[!INCLUDE") && !text.contains("[!include") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in INCLUDE.captures_iter(text) {
        let whole = caps.get(0).expect("group 0");
        out.push_str(&text[last..whole.start()]);
        last = whole.end();
        let line = body_line + text[..whole.start()].matches('\n').count();
        if depth >= MAX_INCLUDE_DEPTH {
            warnings.push(IngestWarning {
                path: file.to_path_buf(),
                line: Some(line),
                message: format!("include nested too deeply (cycle?): {}", &caps[1]),
                is_error: true,
            });
            continue;
        }
        let reference = caps[1].trim_start_matches('<').trim_end_matches('>');
        match read_include(reference, dir, budget) {
            Ok((target, included)) => {
                let (_, body, _) = split_front_matter(&included);
                let inner_dir = target.parent().unwrap_or(dir).to_path_buf();
                let resolved = resolve_includes(body, &inner_dir, &target, 1, depth + 1, budget, warnings);
                out.push_str(&resolved);
            }
            Err((message, is_error)) => warnings.push(IngestWarning {
                path: file.to_path_buf(),
                line: Some(line),
                message,
                is_error,
            }),
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Drops DocFX directives (`:::image`, `::: moniker range`, ...) but keeps the text inside
/// moniker blocks and `:::no-loc:::` words; removes alert markers so `[!NOTE]` is not indexed.
fn strip_directives(text: &str) -> String {
    let text = NO_LOC.replace_all(text, "$1");
    let text = ALERT.replace_all(&text, "$1");
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(":::") {
            // Keep the line break so line numbers stay true.
            out.push('\n');
            continue;
        }
        if line.contains(":::") {
            out.push_str(&INLINE_DIRECTIVE.replace_all(line, ""));
        } else {
            out.push_str(line);
        }
    }
    out
}

/// A stable slug of a heading: lower case, letters and digits, words joined by `-`.
pub fn slugify(heading: &str) -> String {
    let mut slug = String::with_capacity(heading.len());
    for c in heading.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if (c.is_whitespace() || c == '-' || c == '_') && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.trim_matches('-').to_string()
}

#[derive(Debug, Default)]
struct RawSection {
    level: u8,
    heading: String,
    parents: Vec<String>,
    anchor: String,
    body: String,
    links: Vec<String>,
    link_texts: Vec<(String, String)>,
    line: usize,
}

/// The result of reading Markdown text: the H1, the sections, and metadata lines.
#[derive(Debug, Default)]
struct MarkdownParse {
    h1: Option<String>,
    sections: Vec<RawSection>,
    roles: Vec<String>,
    audience: Vec<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum MetaList {
    Roles,
    Audience,
}

fn split_meta_items(text: &str) -> Vec<String> {
    text.split(['|', ',', ';'])
        .map(|p| {
            p.trim()
                .trim_end_matches('-')
                .trim()
                .trim_matches('*')
                .trim()
                .to_string()
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// Reads Markdown into sections split at H2/H3. `first_line` is the line of `text` in its file.
fn parse_markdown(text: &str, first_line: usize) -> MarkdownParse {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |offset: usize| first_line + line_starts.partition_point(|&s| s <= offset) - 1;

    let mut parse = MarkdownParse::default();
    let mut current = RawSection {
        level: 1,
        line: first_line,
        ..RawSection::default()
    };
    let mut h2_heading: Option<String> = None;
    let mut heading: Option<(u8, String, Option<String>, usize)> = None;
    let mut block = String::new();
    let mut pending_meta: Option<MetaList> = None;
    let mut capturing_meta: Option<MetaList> = None;
    let mut list_depth = 0usize;
    let mut item_text = String::new();
    let mut in_image = 0usize;
    // The link being read, with its text so far.
    let mut open_link: Option<(String, String)> = None;

    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        if let Some((_, ref mut htext, ref mut anchor, _)) = heading {
            match event {
                Event::Text(t) | Event::Code(t) => htext.push_str(&t),
                Event::InlineHtml(h) | Event::Html(h) if anchor.is_none() => {
                    *anchor = HTML_ANCHOR.captures(&h).map(|c| c[1].to_string());
                }
                Event::SoftBreak | Event::HardBreak => htext.push(' '),
                Event::End(TagEnd::Heading(_)) => {
                    let (level, htext, anchor, line) = heading.take().expect("in heading");
                    let htext = htext.split_whitespace().collect::<Vec<_>>().join(" ");
                    match level {
                        1 if parse.h1.is_none() => {
                            parse.h1 = Some(htext);
                            if let Some(a) = anchor {
                                current.anchor = a;
                            }
                        }
                        2 | 3 => {
                            let finished = std::mem::take(&mut current);
                            parse.sections.push(finished);
                            let parents = if level == 3 {
                                h2_heading.iter().cloned().collect()
                            } else {
                                Vec::new()
                            };
                            if level == 2 {
                                h2_heading = Some(htext.clone());
                            }
                            current = RawSection {
                                level,
                                anchor: anchor.unwrap_or_else(|| slugify(&htext)),
                                heading: htext,
                                parents,
                                line,
                                ..RawSection::default()
                            };
                        }
                        _ => {
                            current.body.push_str(&htext);
                            current.body.push('\n');
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(Tag::Heading { level, id, .. }) => {
                flush_block(&mut block, &mut current.body);
                let lvl = match level {
                    HeadingLevel::H1 => 1,
                    HeadingLevel::H2 => 2,
                    HeadingLevel::H3 => 3,
                    _ => 4,
                };
                heading = Some((
                    lvl,
                    String::new(),
                    id.map(|s| s.to_string()),
                    line_of(range.start),
                ));
                pending_meta = None;
            }
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image = in_image.saturating_sub(1),
            Event::Start(Tag::Link { dest_url, .. })
                if !dest_url.is_empty() && !dest_url.starts_with('#') =>
            {
                current.links.push(dest_url.to_string());
                open_link = Some((dest_url.to_string(), String::new()));
            }
            Event::End(TagEnd::Link) => {
                if let Some((target, text)) = open_link.take() {
                    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    if !text.is_empty() {
                        current.link_texts.push((target, text));
                    }
                }
            }
            Event::Text(t) | Event::Code(t) if in_image == 0 => {
                if let Some((_, text)) = open_link.as_mut() {
                    text.push_str(&t);
                }
                if capturing_meta.is_some() {
                    item_text.push_str(&t);
                } else {
                    block.push_str(&t);
                }
            }
            Event::InlineHtml(h) | Event::Html(h) => {
                let text = HTML_TAG.replace_all(&h, " ");
                if !text.trim().is_empty() {
                    block.push_str(text.trim());
                    block.push(' ');
                }
            }
            Event::SoftBreak => block.push(' '),
            Event::HardBreak => block.push('\n'),
            Event::Start(Tag::List(_)) => {
                if list_depth == 0 && pending_meta.is_some() {
                    capturing_meta = pending_meta.take();
                }
                flush_block(&mut block, &mut current.body);
                list_depth += 1;
            }
            Event::End(TagEnd::List(_)) => {
                list_depth = list_depth.saturating_sub(1);
                if list_depth == 0 {
                    capturing_meta = None;
                }
            }
            Event::End(TagEnd::Item) => {
                if let Some(kind) = capturing_meta {
                    let items = split_meta_items(&std::mem::take(&mut item_text));
                    match kind {
                        MetaList::Roles => parse.roles.extend(items),
                        MetaList::Audience => parse.audience.extend(items),
                    }
                } else {
                    flush_block(&mut block, &mut current.body);
                }
            }
            Event::End(TagEnd::Paragraph) => {
                if capturing_meta.is_some() {
                    item_text.push(' ');
                    continue;
                }
                if let Some(caps) = ROLES_LABEL.captures(block.trim()) {
                    let kind = if caps[1].to_lowercase().contains("rol") {
                        MetaList::Roles
                    } else {
                        MetaList::Audience
                    };
                    let rest = caps[2].trim();
                    // A label alone on its line introduces a list; a label with text lists inline.
                    if rest.is_empty() {
                        pending_meta = Some(kind);
                    } else if rest.len() < 300 {
                        match kind {
                            MetaList::Roles => parse.roles.extend(split_meta_items(rest)),
                            MetaList::Audience => parse.audience.extend(split_meta_items(rest)),
                        }
                    } else {
                        flush_block(&mut block, &mut current.body);
                    }
                    block.clear();
                } else {
                    if !block.trim().is_empty() {
                        pending_meta = None;
                    }
                    flush_block(&mut block, &mut current.body);
                }
            }
            Event::End(TagEnd::TableCell) => block.push_str(" | "),
            // A list item's text and a callout or code block inside it are separate blocks.
            Event::Start(Tag::BlockQuote(_) | Tag::CodeBlock(_) | Tag::Table(_))
            | Event::End(TagEnd::TableRow | TagEnd::TableHead | TagEnd::CodeBlock | TagEnd::BlockQuote(_)) => {
                flush_block(&mut block, &mut current.body);
            }
            _ => {}
        }
    }
    flush_block(&mut block, &mut current.body);
    parse.sections.push(current);
    parse
}

fn flush_block(block: &mut String, body: &mut String) {
    let trimmed = block.trim();
    if !trimmed.is_empty() {
        body.push_str(trimmed);
        body.push('\n');
    }
    block.clear();
}

/// Merges short level-3 sections into their predecessor and drops empty ones.
fn merge_short(raw: Vec<RawSection>) -> Vec<RawSection> {
    let mut out: Vec<RawSection> = Vec::with_capacity(raw.len());
    for section in raw {
        let body_len = section.body.trim().chars().count();
        if body_len == 0 {
            continue;
        }
        if section.level == 3 && body_len < MERGE_BELOW_CHARS {
            if let Some(prev) = out.last_mut() {
                prev.body.push_str(&section.heading);
                prev.body.push('\n');
                prev.body.push_str(&section.body);
                prev.links.extend(section.links);
                prev.link_texts.extend(section.link_texts);
                continue;
            }
        }
        out.push(section);
    }
    out
}

/// Facts about a document that every section of it carries.
struct DocFacts {
    title: String,
    description: Option<String>,
    language: Language,
    products: Vec<Product>,
    audience: Vec<String>,
    roles: Vec<String>,
    date: Option<String>,
}

fn parse_markdown_file(file: &GuidanceFile, text: &str) -> ParsedFile {
    let mut warnings = Vec::new();
    let (yaml, body, body_line) = split_front_matter(text);
    let fm = match yaml.map(parse_front_matter) {
        None => FrontMatter::default(),
        Some(Ok(fm)) => fm,
        Some(Err((message, line))) => {
            warnings.push(IngestWarning {
                path: file.path.clone(),
                // The YAML starts on line 2 of the file, after the opening `---`.
                line: line.map(|l| l + 1),
                message: format!("{message}; read its simple `key: value` lines only"),
                is_error: true,
            });
            front_matter_from_lines(yaml.unwrap_or(""))
        }
    };
    let dir = file.path.parent().unwrap_or(Path::new("."));
    let mut budget = IncludeBudget {
        root: &file.root,
        bytes: MAX_INCLUDED_BYTES,
        includes: MAX_INCLUDES,
    };
    let body = resolve_includes(body, dir, &file.path, body_line, 0, &mut budget, &mut warnings);
    let body = strip_directives(&body);
    let parse = parse_markdown(&body, body_line);
    let title = fm.title.clone().or_else(|| parse.h1.clone()).unwrap_or_else(|| {
        file.doc_path
            .rsplit('/')
            .next()
            .unwrap_or(&file.doc_path)
            .to_string()
    });
    let all_text: String = parse
        .sections
        .iter()
        .map(|s| s.body.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut audience = fm.audience.clone();
    audience.extend(parse.audience.iter().cloned());
    let facts = DocFacts {
        language: detect_doc_language(&fm, &file.doc_path, &all_text),
        products: detect_products(&fm, &file.doc_path, &title, &all_text),
        audience,
        roles: parse.roles.clone(),
        date: fm.date.clone(),
        description: fm.description.clone(),
        title,
    };
    let intro_heading = parse.h1.clone().unwrap_or_else(|| facts.title.clone());
    let mut raw = parse.sections;
    if let Some(first) = raw.first_mut() {
        if first.level == 1 {
            first.heading = intro_heading;
            if let Some(desc) = &fm.description {
                // The description summarises the article; it helps the introduction match.
                first.body = format!("{desc}\n{}", first.body);
            }
        }
    }
    let sections = finish_sections(file, merge_short(raw), &facts);
    ParsedFile { sections, warnings }
}

fn finish_sections(file: &GuidanceFile, raw: Vec<RawSection>, facts: &DocFacts) -> Vec<Section> {
    let mut used = HashSet::new();
    raw.into_iter()
        .map(|r| {
            let mut anchor = r.anchor;
            if !anchor.is_empty() && !used.insert(anchor.clone()) {
                let base = anchor.clone();
                let mut n = 1;
                while !used.insert(format!("{base}-{n}")) {
                    n += 1;
                }
                anchor = format!("{base}-{n}");
            }
            Section {
                doc_path: file.doc_path.clone(),
                doc_title: facts.title.clone(),
                doc_description: facts.description.clone(),
                heading: r.heading,
                parent_headings: r.parents,
                anchor,
                body: r.body.trim_end().to_string(),
                language: facts.language,
                products: facts.products.clone(),
                audience: facts.audience.clone(),
                roles: facts.roles.clone(),
                date: facts.date.clone(),
                links: r.links,
                link_texts: r.link_texts,
                line: r.line,
            }
        })
        .collect()
}

/// Language from the front matter, else a `de-de`/`en-us` path segment, else the text.
fn detect_doc_language(fm: &FrontMatter, doc_path: &str, text: &str) -> Language {
    if let Some(lang) = fm.locale.as_deref().and_then(Language::from_locale) {
        return lang;
    }
    for segment in doc_path.split('/') {
        let lower = segment.to_ascii_lowercase();
        if lower.len() == 5 && lower.as_bytes()[2] == b'-' || lower.len() == 2 {
            if let Some(lang) = Language::from_locale(&lower) {
                return lang;
            }
        }
    }
    detect_language(text).unwrap_or(Language::En)
}

/// Detects German or English in free text; `None` when the text says too little.
pub fn detect_language(text: &str) -> Option<Language> {
    let sample: String = text.chars().take(4000).collect();
    let info =
        whatlang::Detector::with_allowlist(vec![whatlang::Lang::Deu, whatlang::Lang::Eng]).detect(&sample)?;
    match info.lang() {
        whatlang::Lang::Deu => Some(Language::De),
        whatlang::Lang::Eng => Some(Language::En),
        _ => None,
    }
}

static AZURE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\bazure\b").expect("valid regex"));
static M365: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:office|microsoft)[ -]?365\b|\bm365\b|\bo365\b").expect("valid regex")
});
static D365: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\bdynamics\b").expect("valid regex"));
static PARTNER_CENTER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bpartner center\b|\bcsp\b").expect("valid regex"));

/// Products from explicit front matter, the `ms.service`, the path, and what the text is about.
fn detect_products(fm: &FrontMatter, doc_path: &str, title: &str, text: &str) -> Vec<Product> {
    let mut products: Vec<Product> = Vec::new();
    let mut add = |p: Product| {
        if !products.contains(&p) {
            products.push(p);
        }
    };
    for name in &fm.products {
        if let Some(p) = product_from_name(name) {
            add(p);
        }
    }
    let path = doc_path.to_ascii_lowercase();
    let service = fm.service.as_deref().unwrap_or("").to_ascii_lowercase();
    for hint in [path.as_str(), service.as_str()] {
        if hint.contains("azure") || hint.contains("cost-management") {
            add(Product::Azure);
        }
        if hint.contains("m365")
            || hint.contains("office365")
            || hint.contains("o365")
            || hint.contains("microsoft-365")
        {
            add(Product::Microsoft365);
        }
        if hint.contains("dynamics") || hint.contains("d365") {
            add(Product::Dynamics365);
        }
        if hint.contains("partner-center")
            || hint.contains("partner-dashboard")
            || hint.contains("partnercenter")
        {
            add(Product::PartnerCenter);
        }
    }
    // The text decides too: a product named in the title, or often in the body.
    for (re, product) in [
        (&*AZURE, Product::Azure),
        (&*M365, Product::Microsoft365),
        (&*D365, Product::Dynamics365),
        (&*PARTNER_CENTER, Product::PartnerCenter),
    ] {
        if re.is_match(title) || re.find_iter(text).take(3).count() >= 3 {
            add(product);
        }
    }
    products.sort();
    products
}

/// Reads a product name as admins write it ("Azure", "Office 365", "dynamics-365", ...).
pub fn product_from_name(name: &str) -> Option<Product> {
    let lower = name.trim().to_lowercase().replace([' ', '_'], "-");
    if let Some(p) = Product::from_tag(&lower) {
        return Some(p);
    }
    match lower.as_str() {
        "azure" | "azure-plan" => Some(Product::Azure),
        "office-365" | "m365" | "o365" | "microsoft365" | "office365" => Some(Product::Microsoft365),
        "dynamics" | "dynamics365" | "d365" => Some(Product::Dynamics365),
        "partner-center" | "partnercenter" | "billing" | "csp" => Some(Product::PartnerCenter),
        _ => None,
    }
}

/// Reads a `### YamlMime:FAQ` file: the summary and each question become sections.
fn parse_faq(file: &GuidanceFile, text: &str) -> ParsedFile {
    let mut warnings = Vec::new();
    let value: serde_norway::Value = match serde_norway::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(IngestWarning {
                path: file.path.clone(),
                line: e.location().map(|l| l.line()),
                message: format!("invalid FAQ YAML: {e}"),
                is_error: true,
            });
            return ParsedFile {
                sections: Vec::new(),
                warnings,
            };
        }
    };
    let metadata = value
        .get("metadata")
        .map(front_matter_from_value)
        .unwrap_or_default();
    let title = value
        .get("title")
        .and_then(yaml_scalar)
        .or_else(|| metadata.title.clone())
        .unwrap_or_else(|| file.doc_path.clone());
    let line_of = |needle: &str| {
        let probe: String = needle
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .chars()
            .take(60)
            .collect();
        if probe.is_empty() {
            return 1;
        }
        text.find(&probe)
            .map_or(1, |at| text[..at].matches('\n').count() + 1)
    };
    let mut raw = Vec::new();
    let mut roles = Vec::new();
    let mut audience = metadata.audience.clone();
    if let Some(summary) = value.get("summary").and_then(yaml_scalar) {
        let parsed = parse_markdown(&strip_directives(&summary), line_of(&summary));
        roles.extend(parsed.roles);
        audience.extend(parsed.audience);
        let body: String = parsed.sections.into_iter().map(|s| s.body).collect();
        raw.push(RawSection {
            level: 1,
            heading: title.clone(),
            body,
            line: 1,
            ..RawSection::default()
        });
    }
    let empty = Vec::new();
    let sections = value
        .get("sections")
        .and_then(|s| s.as_sequence())
        .unwrap_or(&empty);
    for section in sections {
        let group = section.get("name").and_then(yaml_scalar);
        let questions = section
            .get("questions")
            .and_then(|q| q.as_sequence())
            .unwrap_or(&empty);
        for q in questions {
            let (Some(question), Some(answer)) = (
                q.get("question").and_then(yaml_scalar),
                q.get("answer").and_then(yaml_scalar),
            ) else {
                warnings.push(IngestWarning {
                    path: file.path.clone(),
                    line: None,
                    message: "FAQ entry without both `question` and `answer`; left out".into(),
                    is_error: true,
                });
                continue;
            };
            let line = line_of(&question);
            let parsed = parse_markdown(&strip_directives(&answer), line);
            let mut links = Vec::new();
            let mut link_texts = Vec::new();
            let mut body = String::new();
            for s in parsed.sections {
                if s.level > 1 {
                    body.push_str(&s.heading);
                    body.push('\n');
                }
                body.push_str(&s.body);
                links.extend(s.links);
                link_texts.extend(s.link_texts);
            }
            let heading = question.split_whitespace().collect::<Vec<_>>().join(" ");
            raw.push(RawSection {
                level: 2,
                anchor: slugify(&heading),
                heading,
                parents: group.iter().cloned().collect(),
                body,
                links,
                link_texts,
                line,
            });
        }
    }
    let all_text: String = raw.iter().map(|s| s.body.as_str()).collect::<Vec<_>>().join("\n");
    let facts = DocFacts {
        language: detect_doc_language(&metadata, &file.doc_path, &all_text),
        products: detect_products(&metadata, &file.doc_path, &title, &all_text),
        audience,
        roles,
        date: metadata.date.clone(),
        description: metadata.description.clone(),
        title,
    };
    // FAQ answers are short by nature; each question stays its own section.
    let raw: Vec<RawSection> = raw.into_iter().filter(|s| !s.body.trim().is_empty()).collect();
    ParsedFile {
        sections: finish_sections(file, raw, &facts),
        warnings,
    }
}
