//! Pulling: to the end of what a client sees, page after page, and a device's replica built
//! only from pulls.

use paicha_client::{Client, ClientError, ClientResult, PullHead, PullQuery, parse_pull};
use paicha_domain::api::v1::{Change, PullResponse};
use uuid::Uuid;

/// Pulls from `cursor` (the start when `None`), `limit` changes a page, until the server has
/// nothing more, handing each page to `each`; returns the cursor at the end.
///
/// As a device should (and the field app does), it asks for the next page as soon as a page's
/// end is known ([`PullHead`]), and parses the page's changes while the next is on its way.
pub async fn pull_to_end(
    client: &Client,
    cursor: Option<String>,
    limit: u64,
    mut each: impl FnMut(PullResponse),
) -> ClientResult<String> {
    let fetch = |cursor: Option<String>| {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .pull_body(&PullQuery {
                    cursor: cursor.as_deref(),
                    limit: Some(limit),
                    ..Default::default()
                })
                .await
        })
    };
    let mut next = Some(fetch(cursor));
    let mut end = String::new();
    while let Some(page) = next.take() {
        let body = page.await.map_err(|e| ClientError::Unexpected {
            status: reqwest::StatusCode::OK,
            text: format!("the pull's task: {e}"),
        })??;
        let head = PullHead::of(&body)?;
        if head.has_more {
            next = Some(fetch(Some(head.cursor.clone())));
        }
        each(parse_pull(&body)?);
        end = head.cursor;
    }
    Ok(end)
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
