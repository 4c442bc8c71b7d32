//! The routing core: for each customer message, answer, suggest, hand off or decline,
//! and say why.
#![deny(missing_docs)]

pub mod answer_gate;
pub mod chat_markup;
pub mod decision;
pub mod desk;
pub mod direction;
pub mod entities;
pub mod intents;
pub mod language;
pub mod pasted_links;
pub mod pleasantries;
pub mod plugins;
pub mod policy;
pub mod ranker;
pub mod redact;
pub mod router;
pub mod sanitize;
pub mod support;
pub mod tickets;

pub use decision::{Citation, Decision, Handoff, Outcome, Trace};
pub use entities::{Entities, Money};
pub use plugins::{load_plugins, load_support_model, load_support_model_at, PluginError, PluginSet};
pub use router::{ConversationContext, Layers, Message, Router, RouterConfig};
pub use support::{StaffRole, SupportModel};
