//! Version 1 of the HTTP API: request and response bodies.
//!
//! Requests refuse unknown fields, so a misspelt optional field is an error instead of being
//! silently ignored.

mod accounts;
mod office;
mod schema;
mod sync;

pub use accounts::*;
pub use office::*;
pub use schema::*;
pub use sync::*;
