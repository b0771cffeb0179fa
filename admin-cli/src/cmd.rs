//! One module per command group.

pub mod audit;
pub mod changes;
pub mod export;
pub mod import;
pub mod keys;
pub mod node;
pub mod records;
pub mod report;
pub mod store;
pub mod trust;
pub mod uscc;
