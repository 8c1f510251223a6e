//! Authentication and authorization of paicha, as plain functions over data: password hashes,
//! access tokens, refresh tokens, the login throttle and the access policy. No HTTP and no
//! database here: `paicha-server` composes these with `paicha-storage`.

pub mod password;
pub mod policy;
pub mod refresh;
pub mod throttle;
pub mod token;

pub use policy::{Actor, Denied, UnitRef};
pub use token::{Principal, TokenError, TokenKeys};
