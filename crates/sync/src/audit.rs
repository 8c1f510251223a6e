//! The audit trail's hash chain. Each entry's hash covers its content and the hash of the
//! tenant's previous entry, so changing, removing or reordering any entry breaks every hash
//! after it. `paicha audit verify` recomputes the chain.

use paicha_domain::ids::TenantId;
use paicha_storage::{ChangeEntry, GENESIS_HASH, Store};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::SyncError;

/// JSON with object keys sorted at every level: the same value always gives the same text,
/// whatever order a database hands its keys back in.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only serde_json's own output and ASCII punctuation went in.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `value`'s canonical JSON to `out`: serde_json's compact text, object keys in
/// byte order. Written straight into the buffer (the audit chain hashes one per change).
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's map keeps its keys sorted unless its `preserve_order` feature is
            // on; sort only when they are not.
            if map.keys().is_sorted() {
                for (i, (key, v)) in map.iter().enumerate() {
                    write_member(i, key, v, out);
                }
            } else {
                let mut members: Vec<(&String, &Value)> = map.iter().collect();
                members.sort_by(|a, b| a.0.cmp(b.0));
                for (i, (key, v)) in members.into_iter().enumerate() {
                    write_member(i, key, v, out);
                }
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        // Writing into a Vec cannot fail, nor can serialising a plain JSON value.
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

fn write_member(i: usize, key: &str, value: &Value, out: &mut Vec<u8>) {
    if i > 0 {
        out.push(b',');
    }
    let _ = serde_json::to_writer(&mut *out, key);
    out.push(b':');
    write_canonical(value, out);
}

/// The hash of an entry: SHA-256 over the previous hash and every field of the entry but its
/// own hash, as lower-case hex.
pub fn entry_hash(e: &ChangeEntry) -> String {
    use std::io::Write as _;
    let mut content = Vec::with_capacity(512);
    // Writing into a Vec cannot fail.
    let _ = write!(
        content,
        "paicha-audit-v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
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
    );
    write_canonical(&e.changes, &mut content);
    sha256_hex(&content)
}

/// SHA-256 as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    hex
}

/// SHA-256 of a JSON value's canonical form ([`canonical_json`]), as lower-case hex.
pub fn canonical_sha256(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    sha256_hex(&out)
}

/// What the verification of one tenant's chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub tenant_id: TenantId,
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
    tenant_id: TenantId,
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

/// What the check of one signed report found (docs/domain.md §8.14).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCheck {
    pub report_id: Uuid,
    pub tenant_id: TenantId,
    pub unit_name: String,
    pub as_of: chrono::NaiveDate,
    pub signed_at: chrono::DateTime<chrono::Utc>,
    /// Why the report no longer matches, if it does not.
    pub problem: Option<String>,
}

/// Checks every signed report: its content still hashes to what was signed, and the audit
/// chain's head it recorded is still in the chain. A chain edited and recomputed after a
/// report was signed (and printed, with its head) changes the hash at the report's version.
pub async fn verify_reports(store: &Store) -> Result<Vec<ReportCheck>, SyncError> {
    let mut checks = Vec::new();
    for r in store.all_reports().await? {
        let problem = if sha256_hex(r.content.as_bytes()) != r.content_sha256 {
            Some("报表内容与签发时的SHA-256不符".to_owned())
        } else {
            match store.change_entry(r.tenant_id, r.chain_version).await? {
                None => Some(format!(
                    "签发时的审计链头（版本 {}）已不在审计链中",
                    r.chain_version
                )),
                Some(e) if e.hash != r.chain_head => Some(format!(
                    "签发时的审计链头（版本 {}，{}）与现链不符（现为 {}）：审计记录在签发后被改动",
                    r.chain_version, r.chain_head, e.hash
                )),
                Some(_) => None,
            }
        };
        checks.push(ReportCheck {
            report_id: r.id,
            tenant_id: r.tenant_id,
            unit_name: r.unit_name,
            as_of: r.as_of,
            signed_at: r.signed_at,
            problem,
        });
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use paicha_domain::ids::UnitId;

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
            tenant_id: TenantId::new(Uuid::now_v7()),
            version: 7,
            collection: "members".into(),
            record_id: Uuid::now_v7(),
            org_unit_id: UnitId::new(Uuid::now_v7()),
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

    /// The hash of a fixed entry, as the chain has always computed it (the text hashed is
    /// documented in docs/protocol.md): a faster implementation must not change one bit of it,
    /// or every stored chain would stop verifying.
    #[test]
    fn an_entry_hashes_as_it_always_has() {
        use chrono::TimeZone;
        let id = |n: u128| Uuid::from_u128(n);
        let entry = ChangeEntry {
            tenant_id: TenantId::new(id(1)),
            version: 7,
            collection: "members".into(),
            record_id: id(2),
            org_unit_id: UnitId::new(id(3)),
            owner_path: "/a/b/".into(),
            op: "put".into(),
            user_id: id(4),
            device_id: "phone".into(),
            mutation_id: 3,
            server_time: Utc.timestamp_micros(1_700_000_000_123_456).unwrap(),
            client_time: Some("2016-03-07T08:00:00+08:00".into()),
            changes: json!({"phone": [null, "139"], "name": [null, "张\"三\n"], "a": {"z": 1, "b": [true, 1.5]}}),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        assert_eq!(
            canonical_json(&entry.changes),
            r#"{"a":{"b":[true,1.5],"z":1},"name":[null,"张\"三\n"],"phone":[null,"139"]}"#
        );
        assert_eq!(
            entry_hash(&entry),
            "8eda28de2ce242cb9be67cabcdb65a0def06bcfdbad9420e2f4456f998ba4d73"
        );
    }
}
