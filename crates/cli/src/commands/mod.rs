//! One module per subcommand; `Env` is what they share.

pub mod index;
pub mod search;

use anyhow::{Context, Result};
use std::path::PathBuf;
use switchboard_knowledge::{IndexStore, KnowledgeBase};

/// Resolved global settings.
pub struct Env {
    pub data_dir: PathBuf,
    pub knowledge: Vec<PathBuf>,
}

/// The bundled guidance, next to the workspace this binary was built from.
pub fn bundled_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(name)
}

impl Env {
    pub fn new(data_dir: Option<PathBuf>, knowledge: Vec<PathBuf>) -> Result<Self> {
        let data_dir = match data_dir {
            Some(d) => d,
            None => directories::ProjectDirs::from("", "", "switchboard")
                .map(|d| d.data_dir().to_path_buf())
                .context("no home directory for the default data directory; pass --data-dir or set SWITCHBOARD_DATA_DIR")?,
        };
        let knowledge = if knowledge.is_empty() {
            vec![bundled_dir("knowledge")]
        } else {
            knowledge
        };
        Ok(Env { data_dir, knowledge })
    }

    pub fn store(&self) -> IndexStore {
        IndexStore::new(&self.data_dir)
    }

    /// Opens the index for the knowledge roots, building it if missing or stale.
    pub fn knowledge_base(&self) -> Result<KnowledgeBase> {
        let (kb, report) = self
            .store()
            .open_or_build(&self.knowledge)
            .context("opening the knowledge index")?;
        if let Some(report) = report {
            eprintln!(
                "indexed {} files ({} sections) in {:.1}s",
                report.files,
                report.stats.sections,
                report.elapsed.as_secs_f64()
            );
        }
        Ok(kb)
    }
}
