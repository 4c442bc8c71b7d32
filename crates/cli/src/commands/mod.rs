//! One module per subcommand; `Env` is what they share.

pub mod ask;
pub mod chat;
pub mod check;
pub mod eval;
pub mod index;
pub mod search;
pub mod serve;
pub mod tickets;

use anyhow::{Context, Result};
use std::path::PathBuf;
use switchboard_core::plugins::{load_plugins_untrained, PluginSet};
use switchboard_core::{load_support_model_at, PluginError, Router, RouterConfig, SupportModel};
use switchboard_knowledge::{IndexStore, KnowledgeBase};

/// Resolved global settings.
#[derive(Clone)]
pub struct Env {
    pub data_dir: PathBuf,
    pub knowledge: Vec<PathBuf>,
    pub plugins: PathBuf,
    /// The support model file, when configured apart from the plugins.
    pub support: Option<PathBuf>,
    /// The PostgreSQL server holding tickets; SQLite in the data directory when `None`.
    pub database_url: Option<String>,
}

/// The bundled guidance, next to the workspace this binary was built from.
pub fn bundled_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(name);
    // Without the `crates/cli/../..` detour, messages name files the way people write them.
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

impl Env {
    pub fn new(
        data_dir: Option<PathBuf>,
        knowledge: Vec<PathBuf>,
        plugins: Option<PathBuf>,
        support: Option<PathBuf>,
    ) -> Result<Self> {
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
        let plugins = plugins.unwrap_or_else(|| bundled_dir("plugins"));
        // Tickets hold customers' words: a data directory this creates is its owner's alone
        // (0700). One that exists is left as its owner set it; failing here is reported by
        // whatever first needs the directory.
        if !data_dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            let _ = builder.create(&data_dir);
        }
        Ok(Env {
            data_dir,
            knowledge,
            plugins,
            support,
            database_url: None,
        })
    }

    pub fn store(&self) -> IndexStore {
        IndexStore::new(&self.data_dir)
    }

    /// Every knowledge root must be a folder: a mistyped `--knowledge` would otherwise index
    /// nothing and answer nothing, quietly.
    pub fn require_knowledge_roots(&self) -> Result<()> {
        for root in &self.knowledge {
            if !root.is_dir() {
                anyhow::bail!(
                    "knowledge root {} does not exist or is not a folder",
                    root.display()
                );
            }
        }
        Ok(())
    }

    /// Opens the index for the knowledge roots, building it if missing or stale.
    pub fn knowledge_base(&self) -> Result<KnowledgeBase> {
        self.require_knowledge_roots()?;
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
            if let Some(why) = &report.not_stored {
                eprintln!(
                    "warning: the index is kept in memory only, the data directory cannot be written ({why}); every start builds it again"
                );
            }
        }
        Ok(kb)
    }
}

impl Env {
    /// The support model, from `--support` or the plugin folder, with its problem if any.
    pub fn support_model(&self) -> (SupportModel, Option<PluginError>) {
        load_support_model_at(&self.plugins, self.support.as_deref())
    }

    /// Everything a router is built from (knowledge roots, plugins, the support model file):
    /// what `serve` watches.
    pub fn sources(&self) -> Vec<PathBuf> {
        let mut sources = self.knowledge.clone();
        sources.push(self.plugins.clone());
        sources.extend(self.support.clone());
        sources
    }

    /// A router built again for a reload, with every error in the guidance and plugins it
    /// saw (a reload with errors is refused: the last good router stays).
    pub fn router_for_reload(&self, config: RouterConfig) -> Result<(Router, Vec<String>)> {
        self.require_knowledge_roots()?;
        let (built, learnt) = self.alongside(|| {
            self.store()
                .open_or_build(&self.knowledge)
                .context("building the knowledge index")
        });
        let (kb, report) = built?;
        let mut errors: Vec<String> = Vec::new();
        if let Some(report) = &report {
            errors.extend(
                report
                    .skipped
                    .iter()
                    .filter(|s| s.is_error)
                    .map(|s| format!("{}: {}", s.path.display(), s.reason)),
            );
            errors.extend(
                report
                    .warnings
                    .iter()
                    .filter(|w| w.is_error)
                    .map(ToString::to_string),
            );
        }
        let (router, problems) = learnt.router(kb, config);
        errors.extend(problems.iter().map(ToString::to_string));
        Ok((router, errors))
    }

    /// The router over the knowledge base and plugins; plugin problems are returned, not fatal.
    pub fn router(&self, config: RouterConfig) -> Result<(Router, Vec<PluginError>)> {
        let (kb, learnt) = self.alongside(|| self.knowledge_base());
        Ok(learnt.router(kb?, config))
    }

    /// `index()` run beside loading the support model and plugins with their learnt intents:
    /// the two are independent, and where the intents must be trained (new examples) and the
    /// index built (new guidance), a start or reload takes the longer of the two, not the sum.
    fn alongside<T: Send>(&self, index: impl FnOnce() -> Result<T> + Send) -> (Result<T>, Learnt) {
        std::thread::scope(|scope| {
            let built = scope.spawn(index);
            let (support, support_error) = self.support_model();
            let plugins = self.plugins_with_learnt_intents(&support);
            let learnt = Learnt {
                support,
                support_error,
                plugins,
            };
            let built = built.join().unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "building the knowledge index failed unexpectedly"
                ))
            });
            (built, learnt)
        })
    }
}

/// The support model and the plugins with their learnt intents: a router once the knowledge
/// base is there.
struct Learnt {
    support: SupportModel,
    support_error: Option<PluginError>,
    plugins: PluginSet,
}

impl Learnt {
    /// A router over `kb`, and the support model's and plugins' problems.
    fn router(self, kb: KnowledgeBase, config: RouterConfig) -> (Router, Vec<PluginError>) {
        let mut problems: Vec<PluginError> = self.support_error.into_iter().collect();
        problems.extend(self.plugins.errors.iter().cloned());
        (Router::new(kb, self.plugins, self.support, config), problems)
    }
}

/// Folder of stored intent models in the data directory.
const INTENT_MODELS_DIR: &str = "intent-models";

impl Env {
    /// The plugins with their learnt intents: read from the data directory when a model trained
    /// on exactly these examples is stored there (a process start then costs milliseconds, not a
    /// training), otherwise trained and stored. Like the index, stored models are derived data:
    /// deleting them loses nothing, and a data directory that cannot be written only means
    /// training at every start.
    fn plugins_with_learnt_intents(&self, support: &SupportModel) -> PluginSet {
        let mut plugins = load_plugins_untrained(&self.plugins, support);
        let dir = self.data_dir.join(INTENT_MODELS_DIR);
        let path = dir.join(format!("{}.bin", plugins.intent_fingerprint()));
        if std::fs::read(&path).is_ok_and(|bytes| plugins.restore_intents(&bytes)) {
            return plugins;
        }
        plugins.train_intents();
        let bytes = plugins.classifier.to_bytes();
        // Written under a temporary name and renamed, so a concurrent reader sees a whole file
        // or none; old models (other fingerprints) are removed.
        let stored = std::fs::create_dir_all(&dir).and_then(|()| {
            let tmp = dir.join(format!(".tmp-{}", std::process::id()));
            std::fs::write(&tmp, &bytes)?;
            std::fs::rename(&tmp, &path)
        });
        if stored.is_ok() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.path() != path && entry.path().extension().is_some_and(|e| e == "bin") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        plugins
    }
}

/// Name of the ticket database in the data directory.
pub const TICKETS_FILE: &str = "tickets.sqlite3";

impl Env {
    /// The ticket store: on the PostgreSQL server of `--database-url`, else SQLite in the data
    /// directory.
    pub fn ticket_store(&self) -> Result<std::sync::Arc<dyn switchboard_core::tickets::TicketStore>> {
        let path = self.data_dir.join(TICKETS_FILE);
        switchboard_tickets::open_store(self.database_url.as_deref(), &path).with_context(|| {
            match &self.database_url {
                Some(url) => format!(
                    "opening the ticket database {}",
                    switchboard_tickets::redact_url(url)
                ),
                None => format!("opening the ticket database {}", path.display()),
            }
        })
    }

    /// The desk for staff commands, which route nothing: the support model (queues, roles) and
    /// the ticket store, over an empty knowledge base, so a staff command never opens or builds
    /// the index (a stale or damaged index, or a full disk, never stops `tickets list`).
    pub fn staff_desk(&self) -> Result<switchboard_core::desk::Desk> {
        let store = self.ticket_store()?;
        let (support, support_error) = self.support_model();
        if let Some(e) = support_error {
            eprintln!("warning: plugin problem: {e}");
        }
        let kb = KnowledgeBase::build_in_ram(&[]).context("an empty knowledge base")?;
        let router = Router::new(kb, PluginSet::default(), support, RouterConfig::default());
        Ok(switchboard_core::desk::Desk::new(router, store, 72))
    }

    /// The help desk: router plus ticket store. Plugin problems are printed as warnings.
    pub fn desk(&self, reopen_window_hours: i64) -> Result<switchboard_core::desk::Desk> {
        let store = self.ticket_store()?;
        let (router, problems) = self.router(RouterConfig::default())?;
        for p in &problems {
            eprintln!("warning: plugin problem: {p}");
        }
        Ok(switchboard_core::desk::Desk::new(
            router,
            store,
            reopen_window_hours,
        ))
    }
}
