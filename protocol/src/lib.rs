//! # credfed-protocol
//!
//! Everything two credfed nodes — or credfed and an independent implementation — must agree on.
//! The crate is **pure**: no tokio, sockets, files or clocks. Time is always a parameter.
//!
//! See `docs/PROTOCOL.md` for the wire format and the published vectors in `tests/vectors/`.

pub mod audit;
pub mod bundle;
pub mod calendar;
pub mod cbor;
pub mod checkpoint;
pub mod day;
pub mod division;
pub mod eligibility;
pub mod envelope;
pub mod feed;
pub mod keys;
pub mod kind;
pub mod merkle;
pub mod objects;
pub mod person;
pub mod region;
pub mod rules;
pub mod status;
pub mod trust;
pub mod uscc;
pub mod wire;

pub use day::Day;
pub use kind::{Classification, ObjectType, RecordKind, Role, Scope, Severity};
pub use region::RegionId;
