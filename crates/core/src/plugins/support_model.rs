//! The support model's one place (`support/support.toml`), and the fail-closed fallback.

use super::manifest::PluginError;
use crate::support::SupportModel;
use std::path::Path;

/// The plugin folder that holds the support model (`support.toml`).
pub const SUPPORT_PLUGIN: &str = "support";

/// The support model shipped with Switchboard, used when the configured one is missing or
/// broken so that the bot keeps routing (the problem is still reported; staff actions are
/// refused while it is broken).
pub const BUILTIN_SUPPORT_TOML: &str = include_str!("../../../../plugins/support/support.toml");

/// Reads `support/support.toml` under `dir`, the one place of the support model. Missing: the
/// built-in model and the problem. Unreadable, broken, or another plugin folder holding a
/// `support.toml` too: the built-in queues with no staff role on any (fail closed) and the
/// problem.
pub fn load_support_model(dir: &Path) -> (SupportModel, Option<PluginError>) {
    load_support_model_at(dir, None)
}

/// Like [`load_support_model`], from `file` when one is configured (`--support FILE`): then
/// `support/support.toml` under `dir` is not read, and a configured file that is missing fails
/// closed like a broken one (the admin named it; the built-in roles must not stand in for it).
pub fn load_support_model_at(dir: &Path, file: Option<&Path>) -> (SupportModel, Option<PluginError>) {
    let builtin =
        || SupportModel::from_toml(BUILTIN_SUPPORT_TOML).expect("the built-in support model is valid");
    // Fail closed: with a support model that cannot be read, customers are still routed (on the
    // built-in queues), but no staff role may act on any queue until it is fixed; roles an admin
    // removed must not come back.
    let closed = || {
        let mut model = builtin();
        for queue in &mut model.queues {
            queue.roles.clear();
        }
        model
    };
    let default_path = dir.join(SUPPORT_PLUGIN).join("support.toml");
    let path = file.map_or_else(|| default_path.clone(), Path::to_path_buf);
    // Only one place holds the support model: a `support.toml` dropped into another plugin's
    // folder could otherwise put any role on any queue.
    let strays: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path().join("support.toml"))
                .filter(|p| p.is_file() && *p != default_path)
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    if !strays.is_empty() {
        let err = PluginError {
            file: dir.join(SUPPORT_PLUGIN).join("support.toml"),
            key: "support.toml".into(),
            reason: format!(
                "only {SUPPORT_PLUGIN}/support.toml is the support model; remove {} (staff actions are refused until then)",
                strays.join(", ")
            ),
        };
        return (closed(), Some(err));
    }
    if !path.is_file() {
        if file.is_some() {
            let err = PluginError {
                file: path,
                key: "--support".into(),
                reason:
                    "the configured support model does not exist; staff actions are refused until it does"
                        .into(),
            };
            return (closed(), Some(err));
        }
        let err = PluginError {
            file: path,
            key: "support.toml".into(),
            reason: "no support model found; using the built-in one".into(),
        };
        return (builtin(), Some(err));
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return (
                closed(),
                Some(PluginError {
                    file: path,
                    key: "support.toml".into(),
                    reason: format!("cannot read: {e}; staff actions are refused until it is fixed"),
                }),
            )
        }
    };
    match SupportModel::from_toml(&text) {
        Ok(model) => (model, None),
        Err(e) => (
            closed(),
            Some(PluginError {
                file: path,
                key: e.key,
                reason: format!("{}; staff actions are refused until it is fixed", e.reason),
            }),
        ),
    }
}
