//! How a record's `field_versions` (field → the version that last wrote it) is stored.
//!
//! A record's fields were mostly written by one version: all of them by the push or import that
//! created it, most of them still after a verification changed a few. Stored in full, the map
//! repeats that version once per field (about 380 bytes of JSON for a roster row of seventeen
//! fields, a tenth of what a member takes on disk). So the stored form names the commonest
//! version of the fields the record holds once, under the key `""` (never a field's name), and
//! lists only the fields whose version differs from it, and those it does not hold (a cleared
//! field keeps its version, which a later merge compares against):
//!
//! ```text
//! in memory:  {"name": 7, "gender": 7, "phone": 9, "remarks": 8}   fields: name, gender, phone
//! stored:     {"": 7, "phone": 9, "remarks": 8}
//! ```
//!
//! Reading gives back the full map: the base for each field the record holds and does not list,
//! the listed versions over it. A map without `""` (every row written before 2026-12-08, and one
//! that packing would not make exact) is read as it is, so no migration rewrites old rows.

use serde_json::{Map, Value};

/// The key of the base version in the stored form.
const BASE: &str = "";

/// The stored form of `versions` for a record holding `fields`: the base version once and the
/// exceptions, or `versions` as they are when that would not read back exactly (a field held
/// without a version, a version that is not a number, a key `""`) or would not be shorter.
pub fn pack(fields: &Map<String, Value>, versions: &Map<String, Value>) -> Map<String, Value> {
    if versions.contains_key(BASE)
        || fields.len() < 2
        || !versions.values().all(Value::is_u64)
        || !fields.keys().all(|k| versions.contains_key(k))
    {
        return versions.clone();
    }
    // The commonest version among the held fields; of equals, the highest.
    let mut counts: Vec<(u64, usize)> = Vec::new();
    for key in fields.keys() {
        let v = versions[key].as_u64().unwrap_or_default();
        match counts.iter_mut().find(|(version, _)| *version == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let Some(&(base, times)) = counts.iter().max_by_key(|&&(v, n)| (n, v)) else {
        return versions.clone();
    };
    if times < 2 {
        return versions.clone();
    }
    let mut packed = Map::with_capacity(versions.len() - times + 1);
    packed.insert(BASE.to_owned(), base.into());
    for (key, version) in versions {
        if !fields.contains_key(key) || version.as_u64() != Some(base) {
            packed.insert(key.clone(), version.clone());
        }
    }
    packed
}

/// The full map of a record holding `fields` from its stored form (see [`pack`]).
pub fn unpack(fields: &Map<String, Value>, mut stored: Map<String, Value>) -> Map<String, Value> {
    let Some(base) = stored.remove(BASE) else {
        return stored;
    };
    let mut versions = Map::with_capacity(fields.len() + stored.len());
    for key in fields.keys() {
        versions.insert(key.clone(), base.clone());
    }
    // The listed ones over the base: a field whose version differs, or one not held.
    for (key, version) in stored {
        versions.insert(key, version);
    }
    versions
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    /// A created record stores its version once; a verified one, the base and what changed;
    /// a cleared field keeps its version; each reads back exactly.
    #[test]
    fn the_stored_form_names_the_commonest_version_once_and_reads_back_exactly() {
        let fields = map(json!({"name": "张三", "gender": "male", "phone": "139", "remarks": "x"}));
        let created = map(json!({"name": 7, "gender": 7, "phone": 7, "remarks": 7}));
        assert_eq!(pack(&fields, &created), map(json!({"": 7})));

        let fields = map(json!({"name": "张三", "gender": "male", "phone": "138"}));
        let verified = map(json!({"name": 7, "gender": 7, "phone": 9, "remarks": 9}));
        let stored = pack(&fields, &verified);
        assert_eq!(stored, map(json!({"": 7, "phone": 9, "remarks": 9})));
        assert_eq!(unpack(&fields, stored), verified);

        // A tie goes to the higher version; a cleared field listed even at the base version.
        let fields = map(json!({"a": 1, "b": 1, "c": 1, "d": 1}));
        let tied = map(json!({"a": 3, "b": 3, "c": 5, "d": 5, "e": 5}));
        let stored = pack(&fields, &tied);
        assert_eq!(stored, map(json!({"": 5, "a": 3, "b": 3, "e": 5})));
        assert_eq!(unpack(&fields, stored), tied);
    }

    /// What packing could not read back exactly is stored as it is, and a map without a base
    /// (every row of before) reads as it is.
    #[test]
    fn what_would_not_read_back_exactly_is_stored_whole() {
        let fields = map(json!({"name": "张三", "gender": "male", "phone": "139"}));
        // A held field without a version: packing would give it one.
        let missing = map(json!({"name": 7, "gender": 7}));
        assert_eq!(pack(&fields, &missing), missing);
        // A version that is not a number.
        let odd = map(json!({"name": 7, "gender": 7, "phone": "7"}));
        assert_eq!(pack(&fields, &odd), odd);
        // Every version different: nothing to gain.
        let distinct = map(json!({"name": 1, "gender": 2, "phone": 3}));
        assert_eq!(pack(&fields, &distinct), distinct);
        // As stored before: read as it is.
        assert_eq!(unpack(&fields, missing.clone()), missing);
        let full = map(json!({"name": 7, "gender": 7, "phone": 9}));
        assert_eq!(unpack(&fields, full.clone()), full);
    }

    /// Every map of small versions over a few fields, packed and read back, is itself.
    #[test]
    fn packing_reads_back_exactly_for_every_small_case() {
        let names = ["a", "b", "c", "d"];
        // Each of 4 names: not versioned, or version 1..=3; held or not.
        for code in 0..(8u32.pow(4)) {
            let mut fields = Map::new();
            let mut versions = Map::new();
            for (i, name) in names.iter().enumerate() {
                let digit = (code / 8u32.pow(i as u32)) % 8;
                let (version, held) = (digit % 4, digit >= 4);
                if version > 0 {
                    versions.insert((*name).to_owned(), u64::from(version).into());
                }
                if held {
                    fields.insert((*name).to_owned(), json!("v"));
                }
            }
            let stored = pack(&fields, &versions);
            assert!(
                stored.len() <= versions.len() + 1,
                "{versions:?} → {stored:?}"
            );
            assert_eq!(
                unpack(&fields, stored.clone()),
                versions,
                "{fields:?}: {versions:?} → {stored:?}"
            );
        }
    }
}
