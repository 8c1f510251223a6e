//! Change notification inside one process: a push that commits announces the tenant's new
//! version, and long-polling pulls of that tenant wake up.

use paicha_domain::ids::TenantId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use uuid::Uuid;

/// Per-tenant channels carrying the tenant's last committed version.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    tenants: Arc<Mutex<HashMap<Uuid, watch::Sender<u64>>>>,
}

impl Notifier {
    fn sender(&self, tenant_id: TenantId) -> watch::Sender<u64> {
        let mut tenants = match self.tenants.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        tenants
            .entry(tenant_id.uuid())
            .or_insert_with(|| watch::channel(0).0)
            .clone()
    }

    /// Announces that `tenant_id` has committed up to `version`.
    pub fn notify(&self, tenant_id: TenantId, version: u64) {
        self.sender(tenant_id).send_if_modified(|current| {
            if version > *current {
                *current = version;
                true
            } else {
                false
            }
        });
    }

    /// A receiver that wakes when `tenant_id` commits a version after the one it has seen.
    pub fn subscribe(&self, tenant_id: TenantId) -> watch::Receiver<u64> {
        self.sender(tenant_id).subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_commit_wakes_subscribers_of_its_tenant_only() {
        let notifier = Notifier::default();
        let (a, b) = (TenantId::new(Uuid::now_v7()), TenantId::new(Uuid::now_v7()));
        let mut rx_a = notifier.subscribe(a);
        let mut rx_b = notifier.subscribe(b);
        rx_a.mark_unchanged();
        rx_b.mark_unchanged();
        notifier.notify(a, 5);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), rx_a.changed())
                .await
                .is_ok()
        );
        assert_eq!(*rx_a.borrow(), 5);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), rx_b.changed())
                .await
                .is_err()
        );
        // An older version never moves the channel back.
        notifier.notify(a, 3);
        assert_eq!(*notifier.subscribe(a).borrow(), 5);
    }
}
