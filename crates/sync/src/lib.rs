//! The sync engine of paicha. So far: the opaque pull cursor and the replica checksum, the two
//! pieces of the wire contract a device keeps between syncs. Push and pull arrive with the sync
//! issue on top of these.

pub mod checksum;
pub mod cursor;
