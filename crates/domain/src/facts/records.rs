//! The model's records: one vector in the order they came, and an index by key.
//!
//! A rollup reads every record in turn and follows each to its boxed fact. Read in a hash
//! map's order, those boxes lay scattered across a million members' memory, and the rollup
//! waited on memory at nearly every one (`perf`: two thirds of its own time on the first read
//! of a member's fact). Read in the order they came, which is the order their boxes were
//! allocated in, the reads walk memory forward.

use std::collections::HashMap;

use uuid::Uuid;

use super::Entry;
use crate::collection::Collection;

pub(crate) type Key = (Collection, Uuid);

#[derive(Debug, Default)]
pub(crate) struct Records {
    entries: Vec<(Key, Entry)>,
    /// Each key's place in `entries`.
    index: HashMap<Key, u32>,
}

impl Records {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Records {
            entries: Vec::with_capacity(n),
            index: HashMap::with_capacity(n),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn get(&self, key: &Key) -> Option<&Entry> {
        let at = *self.index.get(key)?;
        self.entries.get(at as usize).map(|(_, e)| e)
    }

    /// Keeps `entry` under `key`: in place of the one there, or after the others.
    pub(crate) fn insert(&mut self, key: Key, entry: Entry) {
        match self.index.get(&key) {
            Some(&at) => self.entries[at as usize].1 = entry,
            None => {
                let at = u32::try_from(self.entries.len()).unwrap_or(u32::MAX);
                self.index.insert(key, at);
                self.entries.push((key, entry));
            }
        }
    }

    /// Takes the record under `key` out; the last record takes its place.
    pub(crate) fn remove(&mut self, key: &Key) -> Option<Entry> {
        let at = self.index.remove(key)? as usize;
        let (_, entry) = self.entries.swap_remove(at);
        if let Some((moved, _)) = self.entries.get(at) {
            self.index.insert(*moved, at as u32);
        }
        Some(entry)
    }

    /// Keeps the records `keep` says to, in their order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Key, &Entry) -> bool) {
        self.entries.retain(|(key, entry)| keep(key, entry));
        self.index = (0u32..)
            .zip(&self.entries)
            .map(|(at, (key, _))| (*key, at))
            .collect();
    }

    /// Every record, in the order kept.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Key, &Entry)> {
        self.entries.iter().map(|(key, entry)| (key, entry))
    }

    #[cfg(test)]
    pub(crate) fn values(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().map(|(_, entry)| entry)
    }
}

impl std::ops::Index<&Key> for Records {
    type Output = Entry;

    fn index(&self, key: &Key) -> &Entry {
        self.get(key).unwrap_or_else(|| panic!("no record {key:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Fact;

    fn entry(at: u32) -> Entry {
        Entry {
            at,
            fact: Fact::Performance { violation: false },
        }
    }

    /// Inserts, replacements and removals keep every key finding its own record, as a map
    /// would, whatever the order.
    #[test]
    fn every_key_finds_its_own_record() {
        let key = |n: u128| (Collection::Members, Uuid::from_u128(n));
        let mut records = Records::default();
        let mut expected = std::collections::BTreeMap::new();
        let mut seed = 11u64;
        for step in 0..2_000u32 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let n = u128::from((seed >> 33) % 64);
            if (seed >> 20).is_multiple_of(3) {
                assert_eq!(
                    records.remove(&key(n)).map(|e| e.at),
                    expected.remove(&n),
                    "{step}"
                );
            } else {
                records.insert(key(n), entry(step));
                expected.insert(n, step);
            }
            if step % 500 == 499 {
                records.retain(|k, _| k.1.as_u128() % 5 != 0);
                expected.retain(|n, _| n % 5 != 0);
            }
            assert_eq!(records.len(), expected.len());
            for (n, at) in &expected {
                assert_eq!(records.get(&key(*n)).map(|e| e.at), Some(*at), "{step}");
            }
            assert_eq!(records.iter().count(), expected.len());
        }
    }
}
