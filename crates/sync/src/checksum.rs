//! The replica checksum (docs/protocol.md §7, `GET /v1/sync/checksum`): per collection, a count and an
//! order-independent hash over `(id, version)`, so a device can prove its replica matches the
//! server's without sending it, and repair only the collection that differs.
//!
//! Each record contributes the first 16 bytes of SHA-256(id ‖ version) as a 128-bit number;
//! contributions are summed modulo 2^128. Addition makes the result independent of order and
//! lets the server maintain it incrementally (subtract the old version, add the new one).

use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplicaChecksum {
    pub count: u64,
    sum: u128,
}

fn contribution(id: Uuid, version: u64) -> u128 {
    let mut hasher = Sha256::new();
    hasher.update(id.as_bytes());
    hasher.update(version.to_be_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    u128::from_be_bytes(first)
}

impl ReplicaChecksum {
    pub fn add(&mut self, id: Uuid, version: u64) {
        self.count = self.count.wrapping_add(1);
        self.sum = self.sum.wrapping_add(contribution(id, version));
    }

    pub fn remove(&mut self, id: Uuid, version: u64) {
        self.count = self.count.wrapping_sub(1);
        self.sum = self.sum.wrapping_sub(contribution(id, version));
    }

    /// The hash as 32 lower-case hex digits, the form on the wire.
    pub fn hash_hex(&self) -> String {
        format!("{:032x}", self.sum)
    }
}

impl FromIterator<(Uuid, u64)> for ReplicaChecksum {
    fn from_iter<I: IntoIterator<Item = (Uuid, u64)>>(iter: I) -> Self {
        let mut sum = Self::default();
        for (id, version) in iter {
            sum.add(id, version);
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(n: u64) -> Vec<(Uuid, u64)> {
        (0..n)
            .map(|v| (Uuid::from_u128(u128::from(v) * 7919), v + 1))
            .collect()
    }

    #[test]
    fn order_does_not_matter() {
        let forward: ReplicaChecksum = records(50).into_iter().collect();
        let backward: ReplicaChecksum = records(50).into_iter().rev().collect();
        assert_eq!(forward, backward);
        assert_eq!(forward.count, 50);
        assert_eq!(forward.hash_hex().len(), 32);
    }

    #[test]
    fn any_difference_shows() {
        let base: ReplicaChecksum = records(10).into_iter().collect();
        let mut bumped = records(10);
        bumped[3].1 += 1;
        let bumped: ReplicaChecksum = bumped.into_iter().collect();
        assert_ne!(base.hash_hex(), bumped.hash_hex());
        let missing: ReplicaChecksum = records(10).into_iter().skip(1).collect();
        assert_ne!(base, missing);
    }

    #[test]
    fn incremental_update_equals_recomputation() {
        let mut sum: ReplicaChecksum = records(10).into_iter().collect();
        let (id, v) = records(10)[4];
        sum.remove(id, v);
        sum.add(id, v + 5);
        let mut expected = records(10);
        expected[4].1 += 5;
        assert_eq!(sum, expected.into_iter().collect());
    }
}
