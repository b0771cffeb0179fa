//! # credfed-protocol
//!
//! Everything two credfed nodes — or credfed and an independent implementation — must agree on.
//! The crate is **pure**: no tokio, sockets, files or clocks. Time is always a parameter.
//!
//! See `docs/PROTOCOL.md` for the wire format and the published vectors in `tests/vectors/`.

pub mod day;
pub mod kind;
pub mod region;

pub use day::Day;
pub use kind::{Classification, ObjectType, RecordKind, Role, Scope, Severity};
pub use region::RegionId;
pub mod keys;
pub mod cbor;
pub mod uscc;
pub mod person;
pub mod division;
