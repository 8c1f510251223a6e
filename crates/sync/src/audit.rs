//! The audit trail's hash chain. Each entry's hash covers its content and the hash of the
//! tenant's previous entry, so changing, removing or reordering any entry breaks every hash
//! after it. `paicha audit verify` recomputes the chain.

use paicha_storage::{ChangeEntry, GENESIS_HASH, Store};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::SyncError;

/// JSON with object keys sorted at every level: the same value always gives the same text,
/// whatever order a database hands its keys back in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*key).clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(*key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The hash of an entry: SHA-256 over the previous hash and every field of the entry but its
/// own hash, as lower-case hex.
pub fn entry_hash(e: &ChangeEntry) -> String {
    let content = format!(
        "paicha-audit-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
        e.prev_hash,
        e.tenant_id,
        e.version,
        e.collection,
        e.record_id,
        e.org_unit_id,
        e.owner_path,
        e.op,
        e.user_id,
        e.device_id,
        e.mutation_id,
        e.server_time.timestamp_micros(),
        e.client_time.as_deref().unwrap_or(""),
        canonical_json(&e.changes),
    );
    sha256_hex(content.as_bytes())
}

/// SHA-256 as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 of a JSON value's canonical form ([`canonical_json`]), as lower-case hex.
pub fn canonical_sha256(value: &Value) -> String {
    sha256_hex(canonical_json(value).as_bytes())
}

/// What the verification of one tenant's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub tenant_id: Uuid,
    pub entries: u64,
    /// The first entry that does not verify, with the reason.
    pub broken_at: Option<(u64, String)>,
}

/// Recomputes the hash chain of every tenant.
pub async fn verify_all(store: &Store) -> Result<Vec<ChainReport>, SyncError> {
    let mut reports = Vec::new();
    for (tenant_id, version, last_hash) in store.sync_tenants().await? {
        reports.push(verify_tenant(store, tenant_id, version, &last_hash).await?);
    }
    Ok(reports)
}

async fn verify_tenant(
    store: &Store,
    tenant_id: Uuid,
    last_version: u64,
    last_hash: &str,
) -> Result<ChainReport, SyncError> {
    let mut report = ChainReport {
        tenant_id,
        entries: 0,
        broken_at: None,
    };
    let mut prev = GENESIS_HASH.to_owned();
    let mut after = 0;
    loop {
        // Up to the version read first: entries committed meanwhile are the next run's.
        let page = store.change_log_page(tenant_id, after, 1000).await?;
        if page.is_empty() || after >= last_version {
            break;
        }
        for entry in page.iter().filter(|e| e.version <= last_version) {
            report.entries += 1;
            let problem = if entry.version != after + 1 {
                Some(format!(
                    "版本 {} 之后缺少记录（下一条为 {}）",
                    after, entry.version
                ))
            } else if entry.prev_hash != prev {
                Some("与上一条记录的哈希不衔接".to_owned())
            } else if entry_hash(entry) != entry.hash {
                Some("记录内容与哈希不符".to_owned())
            } else {
                None
            };
            if let Some(reason) = problem {
                report.broken_at = Some((entry.version, reason));
                return Ok(report);
            }
            prev = entry.hash.clone();
            after = entry.version;
        }
    }
    if after != last_version {
        report.broken_at = Some((
            after + 1,
            format!("记录在版本 {after} 处中断，应至版本 {last_version}"),
        ));
    } else if prev != last_hash {
        report.broken_at = Some((after, "末条记录的哈希与租户记录不符".to_owned()));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"d": null, "c": "文"}], "x": true}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":true,"y":[1,{"c":"文","d":null}]},"b":1}"#
        );
    }

    #[test]
    fn any_change_to_an_entry_changes_its_hash() {
        let entry = ChangeEntry {
            tenant_id: Uuid::now_v7(),
            version: 7,
            collection: "members".into(),
            record_id: Uuid::now_v7(),
            org_unit_id: Uuid::now_v7(),
            owner_path: "/a/b/".into(),
            op: "patch".into(),
            user_id: Uuid::now_v7(),
            device_id: "phone".into(),
            mutation_id: 3,
            server_time: Utc::now(),
            client_time: None,
            changes: json!({"phone": [null, "139"]}),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let base = entry_hash(&entry);
        assert_eq!(base.len(), 64);
        let variants = [
            ChangeEntry {
                version: 8,
                ..entry.clone()
            },
            ChangeEntry {
                op: "put".into(),
                ..entry.clone()
            },
            ChangeEntry {
                changes: json!({"phone": [null, "138"]}),
                ..entry.clone()
            },
            ChangeEntry {
                prev_hash: "1".repeat(64),
                ..entry.clone()
            },
            ChangeEntry {
                client_time: Some("2016-03-07T08:00:00+08:00".into()),
                ..entry.clone()
            },
        ];
        for v in variants {
            assert_ne!(entry_hash(&v), base);
        }
        // The stored hash itself is not part of the content.
        assert_eq!(
            entry_hash(&ChangeEntry {
                hash: "x".into(),
                ..entry
            }),
            base
        );
    }
}
