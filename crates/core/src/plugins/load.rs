//! Reading plugin folders: manifests validated against the support model, example files, one
//! problem per mistake naming the file and key; a broken plugin is left out, the rest load.

use super::manifest::{IntentAction, PerLanguage, PluginError, PluginManifest};
use super::patterns::{compile, fold_umlauts, literal_words, normalize_for_matching, thesaurus_form, Intent};
use super::typos::{TypoTargets, MIN_FUZZY_KEY_CHARS};
use super::PluginSet;
use crate::intents::MIN_EXAMPLES;
use crate::support::SupportModel;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use switchboard_knowledge::{Language, Product};

/// Plugin manifests larger than this are refused.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// A loaded, validated plugin.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The manifest.
    pub manifest: PluginManifest,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Compiled intents.
    pub intents: Vec<Intent>,
    /// Products, parsed.
    pub products: Vec<Product>,
    /// Thesaurus entries with their customer words normalised once, at load.
    pub(super) thesaurus: PerLanguage<Vec<(String, String)>>,
    /// Its one-word thesaurus keys, for reading a misspelt word as one of them.
    pub(super) thesaurus_keys: PerLanguage<TypoTargets>,
    /// Its intents' words, for reading a misspelt word as one of them.
    pub(super) intent_words: TypoTargets,
    /// Example messages of its intents: `(intent index, text)` per language.
    pub examples: PerLanguage<Vec<(usize, String)>>,
}

fn validate(
    manifest: PluginManifest,
    path: &Path,
    support: &SupportModel,
) -> Result<Plugin, Vec<PluginError>> {
    let mut errors = Vec::new();
    let err = |key: String, reason: String| PluginError {
        file: path.to_path_buf(),
        key,
        reason,
    };
    let queues = support.queue_ids();
    let mut products = Vec::new();
    for (i, p) in manifest.products.iter().enumerate() {
        match switchboard_knowledge::ingest::product_from_name(p) {
            Some(p) => products.push(p),
            None => errors.push(err(format!("products[{i}]"), format!("unknown product `{p}`"))),
        }
    }
    let mut intents = Vec::new();
    for (i, spec) in manifest.intents.iter().enumerate() {
        if manifest.intents[..i].iter().any(|o| o.name == spec.name) {
            errors.push(err(
                format!("intents[{i}].name"),
                format!("intent `{}` declared twice", spec.name),
            ));
        }
        match (&spec.action, &spec.queue) {
            (IntentAction::Handoff | IntentAction::FollowUp, None) => {
                errors.push(err(
                    format!("intents[{i}].queue"),
                    "a handoff or follow-up intent needs a queue".into(),
                ));
            }
            (_, Some(q)) if !queues.contains(&q.as_str()) => {
                errors.push(err(
                    format!("intents[{i}].queue"),
                    format!("unknown queue `{q}` (known: {})", queues.join(", ")),
                ));
            }
            _ => {}
        }
        let mut compiled = |list: &PerLanguage<Vec<String>>, what: &str| {
            let mut out = Vec::new();
            for lang in Language::ALL {
                for (j, p) in list.get(lang).iter().enumerate() {
                    match compile(p) {
                        Ok(r) => out.push(r),
                        Err(reason) => errors.push(err(
                            format!("intents[{i}].{what}.{lang}[{j}]"),
                            format!("bad regex `{p}`: {reason}"),
                        )),
                    }
                }
            }
            out
        };
        let patterns = compiled(&spec.patterns, "patterns");
        let unless = compiled(&spec.unless, "unless");
        let keywords: Vec<String> = Language::ALL
            .iter()
            .flat_map(|&l| spec.keywords.get(l).iter())
            .map(|k| normalize_for_matching(k.trim()))
            .filter(|k| !k.is_empty())
            .collect();
        let mut vocabulary: Vec<String> = Language::ALL
            .iter()
            .flat_map(|&l| spec.patterns.get(l))
            .flat_map(|p| literal_words(&fold_umlauts(p)))
            .chain(
                keywords
                    .iter()
                    .flat_map(|k| k.split(|c: char| !c.is_alphabetic()))
                    .filter(|w| w.chars().count() >= MIN_FUZZY_KEY_CHARS)
                    .map(str::to_string),
            )
            .collect();
        vocabulary.sort();
        vocabulary.dedup();
        intents.push(Intent {
            spec: spec.clone(),
            patterns,
            unless,
            keywords,
            vocabulary,
        });
    }
    for (i, prior) in manifest.priors.iter().enumerate() {
        if !(0.0..=2.0).contains(&prior.weight) {
            errors.push(err(
                format!("priors[{i}].weight"),
                format!("{} is outside 0..=2", prior.weight),
            ));
        }
    }
    for (i, rule) in manifest.money_rules.iter().enumerate() {
        if !queues.contains(&rule.queue.as_str()) {
            errors.push(err(
                format!("money_rules[{i}].queue"),
                format!("unknown queue `{}`", rule.queue),
            ));
        }
    }
    errors.extend(
        unknown_placeholders(&manifest)
            .into_iter()
            .map(|(key, reason)| err(key, reason)),
    );
    if errors.is_empty() {
        let normalise = |map: &BTreeMap<String, String>, lang: Language| {
            map.iter()
                .map(|(from, to)| (thesaurus_form(from, lang), to.clone()))
                .collect()
        };
        let thesaurus = PerLanguage {
            de: normalise(&manifest.thesaurus.de, Language::De),
            en: normalise(&manifest.thesaurus.en, Language::En),
        };
        let one_word_keys = |entries: &Vec<(String, String)>| {
            TypoTargets::new(
                entries
                    .iter()
                    .map(|(from, _)| from.as_str())
                    .filter(|from| !from.contains(' ')),
            )
        };
        let thesaurus_keys = PerLanguage {
            de: one_word_keys(&thesaurus.de),
            en: one_word_keys(&thesaurus.en),
        };
        let intent_words = TypoTargets::new(intents.iter().flat_map(|i| &i.vocabulary).map(String::as_str));
        let examples = PerLanguage {
            de: inline_examples(&intents, Language::De),
            en: inline_examples(&intents, Language::En),
        };
        Ok(Plugin {
            manifest,
            path: path.to_path_buf(),
            intents,
            products,
            thesaurus,
            thesaurus_keys,
            intent_words,
            examples,
        })
    } else {
        Err(errors)
    }
}

/// The placeholders reply templates may use ([`super::ReplyTemplates`]).
const PLACEHOLDERS: &[&str] = &[
    "partner",
    "queue",
    "hours",
    "contact",
    "price",
    "respond_by",
    "next_open",
    "portal",
    "status",
];

/// `(key, reason)` for each `{word}` in a reply template that is no placeholder: a typo
/// (`{partnr}`) would reach customers as written.
fn unknown_placeholders(manifest: &PluginManifest) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let Some(replies) = &manifest.replies else {
        return problems;
    };
    for (lang, templates) in [("de", &replies.de), ("en", &replies.en)] {
        let Some(fields) = templates
            .as_ref()
            .and_then(|t| serde_json::to_value(t).ok())
            .and_then(|v| v.as_object().cloned())
        else {
            continue;
        };
        for (field, value) in fields {
            let Some(text) = value.as_str() else { continue };
            for word in text
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(word, _)| word))
            {
                let is_word = !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c == '_');
                if is_word && !PLACEHOLDERS.contains(&word) {
                    problems.push((
                        format!("replies.{lang}.{field}"),
                        format!(
                            "unknown placeholder `{{{word}}}`; known: {}",
                            PLACEHOLDERS.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    problems
}

fn inline_examples(intents: &[Intent], lang: Language) -> Vec<(usize, String)> {
    intents
        .iter()
        .enumerate()
        .flat_map(|(i, intent)| intent.spec.examples.get(lang).iter().map(move |e| (i, e.clone())))
        .collect()
}

/// An example file larger than this is refused.
const MAX_EXAMPLE_FILE_BYTES: u64 = 1 << 20;
/// An example longer than this is refused (an example is one chat message).
const MAX_EXAMPLE_CHARS: usize = 1_000;

/// Reads `examples/<intent>.<lang>.txt` beside a manifest into the plugin: one example per
/// line, `#` starts a comment line. Every problem names the file and, where there is one, the
/// line.
fn read_example_files(folder: &Path, plugin: &mut Plugin) -> Vec<PluginError> {
    let dir = folder.join("examples");
    let mut errors = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return errors;
    };
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for file in files {
        let err = |key: String, reason: String| PluginError {
            file: file.clone(),
            key,
            reason,
        };
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let Some(stem) = name.strip_suffix(".txt") else {
            errors.push(err(
                "file".into(),
                "example files are named <intent>.<de|en>.txt".into(),
            ));
            continue;
        };
        let Some((intent_name, lang_code)) = stem.rsplit_once('.') else {
            errors.push(err(
                "file".into(),
                "example files are named <intent>.<de|en>.txt".into(),
            ));
            continue;
        };
        let Some(lang) = Language::ALL.into_iter().find(|l| l.code() == lang_code) else {
            errors.push(err(
                "file".into(),
                format!("unknown language `{lang_code}` (de, en)"),
            ));
            continue;
        };
        let Some(intent) = plugin.intents.iter().position(|i| i.spec.name == intent_name) else {
            let known: Vec<&str> = plugin.intents.iter().map(|i| i.spec.name.as_str()).collect();
            errors.push(err(
                "file".into(),
                format!(
                    "no intent `{intent_name}` in the manifest (intents: {})",
                    known.join(", ")
                ),
            ));
            continue;
        };
        if std::fs::metadata(&file).is_ok_and(|m| m.len() > MAX_EXAMPLE_FILE_BYTES) {
            errors.push(err("file".into(), "example file larger than 1 MB".into()));
            continue;
        }
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                errors.push(err("file".into(), format!("cannot read: {e}")));
                continue;
            }
        };
        let examples = plugin.examples.get_mut(lang);
        for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let key = format!("line {}", n + 1);
            let Ok(line) = std::str::from_utf8(line) else {
                errors.push(err(key, "not valid UTF-8".into()));
                continue;
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.chars().any(char::is_control) {
                errors.push(err(key, "control characters in an example".into()));
            } else if line.chars().count() > MAX_EXAMPLE_CHARS {
                errors.push(err(
                    key,
                    format!("an example longer than {MAX_EXAMPLE_CHARS} characters"),
                ));
            } else {
                examples.push((intent, line.to_string()));
            }
        }
    }
    errors
}

impl Plugin {
    /// Intents with examples but fewer than [`MIN_EXAMPLES`] in a language.
    fn too_few_examples(&self) -> Vec<PluginError> {
        let mut errors = Vec::new();
        for (i, intent) in self.intents.iter().enumerate() {
            let counts: Vec<(Language, usize)> = Language::ALL
                .into_iter()
                .map(|l| (l, self.examples.get(l).iter().filter(|(j, _)| *j == i).count()))
                .collect();
            if counts.iter().all(|(_, n)| *n == 0) {
                continue;
            }
            for (lang, n) in counts {
                if n < MIN_EXAMPLES {
                    errors.push(PluginError {
                        file: self
                            .path
                            .with_file_name("examples")
                            .join(format!("{}.{}.txt", intent.spec.name, lang.code())),
                        key: format!("intent `{}`", intent.spec.name),
                        reason: format!("{n} example(s) in `{}`; an intent is learnt from at least {MIN_EXAMPLES} per language", lang.code()),
                    });
                }
            }
        }
        errors
    }
}

/// Reads and validates the plugin manifests under `dir` and trains their learnt intents. A
/// broken plugin is reported and left out; the others load.
pub fn load_plugins(dir: &Path, support: &SupportModel) -> PluginSet {
    let mut set = load_plugins_untrained(dir, support);
    set.train_intents();
    set
}

/// [`load_plugins`] without training: the caller restores stored models
/// ([`PluginSet::restore_intents`]) or trains.
pub fn load_plugins_untrained(dir: &Path, support: &SupportModel) -> PluginSet {
    let mut set = PluginSet::default();
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect(),
        Err(e) => {
            set.errors.push(PluginError {
                file: dir.to_path_buf(),
                key: "plugins".into(),
                reason: format!("cannot read: {e}"),
            });
            return set;
        }
    };
    entries.sort();
    for folder in entries {
        let path = folder.join("plugin.toml");
        if !path.is_file() {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_MANIFEST_BYTES => {
                set.errors.push(PluginError {
                    file: path,
                    key: "plugin.toml".into(),
                    reason: "manifest larger than 1 MB".into(),
                });
                continue;
            }
            _ => {}
        }
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                set.errors.push(PluginError {
                    file: path,
                    key: "plugin.toml".into(),
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        match parse_plugin(&text, &path, support) {
            Ok(mut plugin) => {
                let mut errors = read_example_files(&folder, &mut plugin);
                errors.extend(plugin.too_few_examples());
                if errors.is_empty() {
                    set.plugins.push(plugin);
                } else {
                    set.errors.extend(errors);
                }
            }
            Err(errors) => set.errors.extend(errors),
        }
    }
    set
}

/// Parses and validates one manifest's text.
pub fn parse_plugin(text: &str, path: &Path, support: &SupportModel) -> Result<Plugin, Vec<PluginError>> {
    let manifest: PluginManifest = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let key = line.map_or_else(|| "plugin.toml".to_string(), |l| format!("line {l}"));
        vec![PluginError {
            file: path.to_path_buf(),
            key,
            reason: e.message().to_string(),
        }]
    })?;
    validate(manifest, path, support)
}
