//! The group commit: concurrent pushes of one tenant queue up, and whoever holds the tenant's
//! lead applies all that are waiting, in arrival order, in one transaction.

use paicha_domain::ids::TenantId;
use std::collections::HashMap;

use paicha_storage::Store;

use super::{Job, PushOutcome, apply_group};
use crate::SyncError;

type Reply = tokio::sync::oneshot::Sender<Result<PushOutcome, String>>;

/// One tenant's line of pushes waiting for the next group commit.
#[derive(Default)]
struct TenantLine {
    waiting: std::sync::Mutex<Vec<(Job, Reply)>>,
    leader: tokio::sync::Mutex<()>,
}

/// Group commit: concurrent pushes of one tenant are applied together, in arrival order, in
/// one transaction, so many small pushes cost one commit instead of one each. Each push still
/// gets its own results, exactly as if it had been applied alone at its place in the order.
#[derive(Default, Clone)]
pub struct Committer {
    lines: std::sync::Arc<std::sync::Mutex<HashMap<TenantId, std::sync::Arc<TenantLine>>>>,
}

/// Most jobs one group commit takes.
const MAX_GROUP: usize = 64;

impl Committer {
    fn line(&self, tenant_id: TenantId) -> std::sync::Arc<TenantLine> {
        let mut lines = match self.lines.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        lines.entry(tenant_id).or_default().clone()
    }

    /// Applies a job, grouped with whatever else of its tenant is waiting.
    pub async fn push(&self, store: &Store, job: Job) -> Result<PushOutcome, SyncError> {
        let line = self.line(job.tenant_id);
        let tenant_id = job.tenant_id;
        let (tx, rx) = tokio::sync::oneshot::channel();
        lock(&line.waiting).push((job, tx));
        // Whoever holds the lead applies everything waiting; our job is either taken by the
        // current leader, or by us once we lead. The leading runs in a task of its own: if this
        // request is dropped (the client hung up), the others' pushes still finish and answer.
        {
            let line = line.clone();
            let store = store.clone();
            tokio::spawn(async move {
                let _lead = line.leader.lock().await;
                loop {
                    let group: Vec<(Job, Reply)> = {
                        let mut waiting = lock(&line.waiting);
                        let n = waiting.len().min(MAX_GROUP);
                        waiting.drain(..n).collect()
                    };
                    if group.is_empty() {
                        break;
                    }
                    let (jobs, replies): (Vec<Job>, Vec<Reply>) = group.into_iter().unzip();
                    match apply_group(&store, tenant_id, &jobs).await {
                        Ok((results, version)) => {
                            for (reply, results) in replies.into_iter().zip(results) {
                                let _ = reply.send(Ok(PushOutcome { results, version }));
                            }
                        }
                        Err(err) if jobs.len() > 1 => {
                            // One job must not take the others down: apply each on its own.
                            tracing::warn!(error = %err, jobs = jobs.len(), "group commit failed; applying its pushes one by one");
                            for (job, reply) in jobs.iter().zip(replies) {
                                let alone =
                                    apply_group(&store, tenant_id, std::slice::from_ref(job)).await;
                                let answer = match alone {
                                    Ok((mut results, version)) => Ok(PushOutcome {
                                        results: results.pop().unwrap_or_default(),
                                        version,
                                    }),
                                    Err(err) => {
                                        tracing::error!(error = %err, "push failed");
                                        Err(err.to_string())
                                    }
                                };
                                let _ = reply.send(answer);
                            }
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "push failed");
                            for reply in replies {
                                let _ = reply.send(Err(err.to_string()));
                            }
                        }
                    }
                }
            });
        }
        // The leading task runs on its own: this request waits for its own answer only, and if
        // the request is dropped the task still finishes and answers the others. (A panic in it
        // drops the replies it held: their callers get an error, and nothing was committed.)
        match rx.await {
            Ok(answer) => answer.map_err(SyncError::Group),
            Err(_) => Err(SyncError::Group(
                "the group commit ended without an answer".to_owned(),
            )),
        }
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
