//! The wire types of the HTTP API, versioned. These are the only types of the HTTP surface that
//! implement `Serialize`/`Deserialize`; the server and the field client share them.

pub mod error;
pub mod v1;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
