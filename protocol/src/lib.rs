//! # credfed-protocol
//!
//! Everything two credfed nodes — or credfed and an independent implementation — must agree on.
//! The crate is **pure**: no tokio, sockets, files or clocks. Time is always a parameter.
//!
//! See `docs/PROTOCOL.md` for the wire format and the published vectors in `tests/vectors/`.

/// `Display`, `Debug` (`Name(text)`), and serde as a string for a validated text newtype
/// `Name(String)`; deserializing goes through its `FromStr`, so a value read from the wire is
/// checked exactly like one parsed from text.
macro_rules! text_newtype {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <String as serde::Deserialize>::deserialize(d)?.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

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
pub mod national;
pub mod natural_key;
pub mod objects;
pub mod person;
pub mod region;
pub mod rules;
pub mod status;
pub mod tiles;
pub mod trust;
pub mod uscc;
pub mod wire;

pub use day::Day;
pub use kind::{Classification, ObjectType, RecordKind, Role, Scope, Severity};
pub use region::RegionId;
