//! The routing core: for each customer message, answer, suggest, hand off or decline,
//! and say why.
#![deny(missing_docs)]

pub mod entities;
pub mod support;
