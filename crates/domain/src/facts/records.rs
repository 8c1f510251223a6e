//! The model's records: kept in the order they came, with an index by key (an `IndexMap`).
//!
//! A rollup reads every record in turn and follows each to its boxed fact. Read in a hash
//! map's order, those boxes lay scattered across a million members' memory, and the rollup
//! waited on memory at nearly every one (`perf`: two thirds of its own time on the first read
//! of a member's fact). Read in the order they came, which is the order their boxes were
//! allocated in, the reads walk memory forward. A record is taken out with `swap_remove` (the
//! last takes its place), so that removing one costs no shift of the rest.

use uuid::Uuid;

use super::Entry;
use crate::collection::Collection;

pub(crate) type Key = (Collection, Uuid);

pub(crate) type Records = indexmap::IndexMap<Key, Entry>;
