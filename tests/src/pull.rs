//! Pulling: to the end of what a client sees, page after page, and a device's replica built
//! only from pulls.

use paicha_client::{Client, ClientResult, PullQuery};
use paicha_domain::api::v1::{Change, PullResponse};
use uuid::Uuid;

/// Pulls from `cursor` (the start when `None`), `limit` changes a page, until the server has
/// nothing more, handing each page to `each`; returns the cursor at the end.
pub async fn pull_to_end(
    client: &Client,
    cursor: Option<String>,
    limit: u64,
    mut each: impl FnMut(PullResponse),
) -> ClientResult<String> {
    let mut cursor = cursor;
    loop {
        let page = client
            .pull(&PullQuery {
                cursor: cursor.as_deref(),
                limit: Some(limit),
                ..Default::default()
            })
            .await?;
        let has_more = page.has_more;
        cursor = Some(page.cursor.clone());
        each(page);
        if !has_more {
            return Ok(cursor.unwrap_or_default());
        }
    }
}

/// Every change `client` sees from the start, in the order pulled, 1,000 a page; and the cursor
/// at the end.
pub async fn pull_everything(client: &Client) -> ClientResult<(Vec<Change>, String)> {
    let mut changes = Vec::new();
    let cursor = pull_to_end(client, None, 1000, |page| changes.extend(page.changes)).await?;
    Ok((changes, cursor))
}

/// A device's replica, built only from pulls.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Replica {
    /// (collection, id) → (version, fields); tombstones remove records.
    pub records: std::collections::BTreeMap<
        (String, Uuid),
        (u64, serde_json::Map<String, serde_json::Value>),
    >,
    pub cursor: Option<String>,
    /// Every version received, in order: strictly increasing if no change came twice.
    pub received: Vec<u64>,
}

impl Replica {
    /// Pulls until there is nothing more, 100 changes a page.
    pub async fn sync(&mut self, client: &Client) -> ClientResult<()> {
        pull_to_end(client, self.cursor.clone(), 100, |page| self.apply(page)).await?;
        Ok(())
    }

    /// Takes in one page of a pull: its changes and its cursor.
    pub fn apply(&mut self, page: PullResponse) {
        for c in page.changes {
            self.received.push(c.version);
            let key = (c.collection.as_str().to_owned(), c.id);
            if c.deleted {
                self.records.remove(&key);
            } else {
                self.records.insert(key, (c.version, c.fields));
            }
        }
        self.cursor = Some(page.cursor);
    }

    pub fn has(&self, collection: &str, id: Uuid) -> bool {
        self.records.contains_key(&(collection.to_owned(), id))
    }
}
