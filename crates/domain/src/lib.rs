//! The domain of paicha: the procedure of 党员组织关系集中排查 as pure types and rules.
//!
//! This crate does no IO: no async, no database, no network. Each concept of the procedure
//! (docs/domain.md) is one module; each rule is a named function whose doc comment quotes
//! the seed, with table-driven tests beside it. The wire types of the HTTP API live in
//! [`api::v1`] and are shared by the server and the field client.

pub mod account;
pub mod api;
pub mod baseline;
pub mod blob;
pub mod calendar;
pub mod campaign;
pub mod collection;
pub mod derived;
pub mod entry;
pub mod exemption;
pub mod facts;
pub mod id_number;
pub mod ids;
pub mod ledger;
pub mod lost_contact;
pub mod member;
pub mod moves;
pub mod org;
pub mod privacy;
pub mod role;
pub mod roster;
pub mod status;
pub mod words;
pub mod workflow;
pub mod working_group;
