//! The knowledge base: guidance files in, ranked sections out.
//!
//! Ingestion reads Markdown and FAQ files into [`Section`]s; the index stores them in
//! tantivy with German and English analysis; search builds queries from the analyzers'
//! tokens. This crate knows nothing about chat, routing or tickets.
#![deny(missing_docs)]

pub mod abbreviations;
pub mod analysis;
mod freshness;
pub mod index;
pub mod ingest;
pub mod links;
mod model;
mod published;
pub mod store;

pub use freshness::stat_signature;
pub use index::{
    Expansion, IndexStats, KnowledgeBase, KnowledgeError, QueryTerm, SearchHit, SearchOutcome, SearchRequest,
};
pub use model::{citation, FrontMatter, Language, Product, Section};
pub use store::{BuildReport, IndexStore};
