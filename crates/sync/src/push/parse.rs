//! A mutation as the device sent it: parsed on its own (a malformed one is refused alone), and
//! the fingerprint of what it asks, which tells a retry from a new edit under a used id.

use paicha_domain::api::v1::Mutation;
use serde::Deserialize;
use serde_json::{Value, json};

use super::reject::Rejection;

/// Whether a JSON value holds a NUL character in any string or key: PostgreSQL cannot store one
/// in text or jsonb, so such a mutation is refused before anything is written.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// The mutation, or why it is refused with the `mutation_id` to echo.
pub(super) fn parse(value: &Value) -> Result<Mutation, (Value, Rejection)> {
    if has_nul(value) {
        let echo = value
            .get("mutation_id")
            .filter(|v| v.is_number())
            .cloned()
            .unwrap_or(Value::Null);
        return Err((echo, Rejection::NulCharacter));
    }
    let echo = value.get("mutation_id").cloned().unwrap_or(Value::Null);
    let mutation = Mutation::deserialize(value)
        .map_err(|e| (echo.clone(), Rejection::Malformed(e.to_string())))?;
    if mutation.mutation_id <= 0 {
        return Err((echo, Rejection::InvalidMutationId));
    }
    if mutation
        .client_time
        .as_ref()
        .is_some_and(|t| t.chars().count() > 64 || t.chars().any(char::is_control))
    {
        return Err((echo, Rejection::ClientTime));
    }
    Ok(mutation)
}

/// What a mutation asks for, as a SHA-256 hex digest: its collection, record, unit, operation,
/// base version and fields (keys in canonical order), but not its id or `client_time`. A retry
/// of the same mutation has the same fingerprint; a different edit under the same id does not.
pub(super) fn fingerprint(m: &Mutation) -> String {
    let content = json!({
        "collection": m.collection,
        "id": m.id,
        "org_unit_id": m.org_unit_id,
        "op": m.op,
        "base_version": m.base_version,
        "fields": m.fields,
    });
    crate::audit::canonical_sha256(&content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(value: Value) -> (Value, &'static str, Option<String>) {
        match parse(&value) {
            Ok(_) => (Value::Null, "ok", None),
            Err((echo, r)) => (echo, r.code(), r.field().map(str::to_owned)),
        }
    }

    #[test]
    fn malformed_mutations_are_refused_alone() {
        let id = "0190a4b1-0000-7000-8000-000000000001";
        let good = json!({"mutation_id": 1, "collection": "members", "id": id, "op": "put"});
        assert_eq!(code(good.clone()).1, "ok");
        // Not an object, an unknown key, a missing id: invalid_mutation, the id echoed.
        assert_eq!(code(json!([1])), (Value::Null, "invalid_mutation", None));
        let mut unknown = good.clone();
        unknown["colour"] = json!("red");
        assert_eq!(code(unknown), (json!(1), "invalid_mutation", None));
        // A NUL anywhere, in a key or a value.
        let mut nul = good.clone();
        nul["fields"] = json!({"name": "a\u{0}b"});
        assert_eq!(code(nul), (json!(1), "invalid_mutation", None));
        let mut nul_id = good.clone();
        nul_id["mutation_id"] = json!("x\u{0}");
        assert_eq!(code(nul_id), (Value::Null, "invalid_mutation", None));
        // client_time too long.
        let mut long = good.clone();
        long["client_time"] = json!("9".repeat(65));
        assert_eq!(
            code(long),
            (json!(1), "invalid_mutation", Some("client_time".into()))
        );
        // mutation_id 0 or negative.
        for bad in [0, -3] {
            let mut m = good.clone();
            m["mutation_id"] = json!(bad);
            assert_eq!(
                code(m),
                (
                    json!(bad),
                    "invalid_mutation_id",
                    Some("mutation_id".into())
                )
            );
        }
    }

    #[test]
    fn a_retry_has_the_same_fingerprint_an_edit_another() {
        let id = "0190a4b1-0000-7000-8000-000000000001";
        let m = |mutation_id: i64, name: &str, time: &str| {
            parse(&json!({
                "mutation_id": mutation_id, "collection": "members", "id": id, "op": "patch",
                "fields": {"name": name}, "client_time": time,
            }))
            .map(|m| fingerprint(&m))
            .unwrap_or_default()
        };
        assert_eq!(m(1, "张三", "a"), m(2, "张三", "b"));
        assert_ne!(m(1, "张三", "a"), m(1, "李四", "a"));
    }
}
