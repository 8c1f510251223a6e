//! How an audit entry's `changes` (field → `[old, new]`) is stored.
//!
//! A creation's changes pair every field with `null`: `{"name": [null, "张三"], …}`, about 130
//! bytes of brackets and `null`s over a roster row's seventeen fields, on every member's entry.
//! When every old value is `null`, the stored form keeps the new values alone and says so with
//! the key `""` (never a field's name):
//!
//! ```text
//! changes:  {"gender": [null, "male"], "name": [null, "张三"]}
//! stored:   {"": 0, "gender": "male", "name": "张三"}
//! ```
//!
//! Reading gives back the pairs, so the audit trail, its hashes (computed on the pairs) and
//! every reader see what they saw before. Any other changes (an edit, a deletion) and every
//! entry written before 2026-12-08 (no `""`) are stored and read as they are.

use serde_json::{Map, Value};

/// The key that marks the stored form of a creation's changes.
const NEW_ONLY: &str = "";

/// The stored form of `changes`: the new values alone when every old value is `null`.
pub fn pack(changes: &Value) -> std::borrow::Cow<'_, Value> {
    use std::borrow::Cow;
    let Value::Object(pairs) = changes else {
        return Cow::Borrowed(changes);
    };
    if pairs.is_empty() || pairs.contains_key(NEW_ONLY) {
        return Cow::Borrowed(changes);
    }
    let mut packed = Map::with_capacity(pairs.len() + 1);
    packed.insert(NEW_ONLY.to_owned(), Value::from(0));
    for (field, pair) in pairs {
        match pair.as_array().map(Vec::as_slice) {
            Some([Value::Null, new]) => {
                packed.insert(field.clone(), new.clone());
            }
            _ => return Cow::Borrowed(changes),
        }
    }
    Cow::Owned(Value::Object(packed))
}

/// `changes` from their stored form (see [`pack`]).
pub fn unpack(stored: Value) -> Value {
    match stored {
        Value::Object(mut map) if map.get(NEW_ONLY).and_then(Value::as_u64) == Some(0) => {
            map.remove(NEW_ONLY);
            Value::Object(
                map.into_iter()
                    .map(|(field, new)| (field, Value::Array(vec![Value::Null, new])))
                    .collect(),
            )
        }
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A creation's pairs are stored as the new values and read back as the pairs; an edit,
    /// a deletion and an old entry are stored and read as they are.
    #[test]
    fn a_creations_changes_are_stored_as_its_new_values_and_read_back_as_pairs() {
        let created =
            json!({"gender": [null, "male"], "name": [null, "张三"], "tags": [null, [1, null]]});
        let stored = pack(&created).into_owned();
        assert_eq!(
            stored,
            json!({"": 0, "gender": "male", "name": "张三", "tags": [1, null]})
        );
        assert!(stored.to_string().len() < created.to_string().len());
        assert_eq!(unpack(stored), created);

        for kept in [
            json!({"phone": ["139", "138"], "name": [null, "张三"]}),
            json!({"deleted": [false, true]}),
            json!({"remarks": [null]}),
            json!({}),
            json!({"": [null, "x"]}),
            json!(null),
        ] {
            assert_eq!(pack(&kept).into_owned(), kept);
            assert_eq!(unpack(kept.clone()), kept);
        }
    }
}
