//! Group commit for creations that arrive together. Each statement costs a round trip to the
//! database (and on SQLite every write waits for the one writer), so creating records one
//! transaction at a time caps throughput at the writer's statement rate. Callers that create at
//! the same moment instead leave their validated creations here; whoever takes the writer next
//! writes everything waiting in one transaction with a fixed number of statements
//! ([`App::create_records`]) and hands each caller its own answer.
//!
//! A lone caller pays nothing extra: it finds the writer free and writes a group of one. On
//! PostgreSQL, which could run the writers side by side, gathering measured no slower than
//! concurrent transactions (714/s against 584/s with 16 clients on two cores), so both databases
//! take the same path.

use std::collections::HashMap;
use std::sync::Mutex;

use itsm_domain::{RecordFields, RecordKind};
use itsm_storage::records::{self, RecordView};
use tokio::sync::oneshot;

use crate::records::Creation;
use crate::{App, AppError, Ctx, Result};

/// The largest group written in one transaction; more waiting creations go in the next.
const MAX_GROUP: usize = 256;

/// Creations waiting for the writer, and the writer's turn.
#[derive(Debug, Default)]
pub(crate) struct CreationQueue {
    waiting: Mutex<Vec<Waiting>>,
    writer: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Waiting {
    ctx: Ctx,
    kind: RecordKind,
    fields: RecordFields,
    at: jiff::Timestamp,
    reply: oneshot::Sender<Result<RecordView>>,
}

impl Waiting {
    fn creation(&self) -> Creation<'_> {
        Creation {
            ctx: &self.ctx,
            kind: self.kind,
            fields: &self.fields,
            at: self.at,
        }
    }
}

impl App {
    /// Creates a record whose fields the caller has validated, in a transaction shared with the
    /// creations that wait at the same time. Answers the record as a list shows it.
    pub(crate) async fn create_gathered(
        &self,
        ctx: &Ctx,
        kind: RecordKind,
        fields: RecordFields,
    ) -> Result<RecordView> {
        let (reply, answer) = oneshot::channel();
        let waiting = Waiting {
            ctx: ctx.clone(),
            kind,
            fields,
            at: self.now(),
            reply,
        };
        self.inner
            .creations
            .waiting
            .lock()
            .map_err(|_| AppError::Internal("creation queue poisoned".into()))?
            .push(waiting);
        // The write runs on a task of its own: a caller that goes away (a closed connection drops
        // its request) must not cancel the transaction that holds the others' creations.
        let app = self.clone();
        tokio::spawn(async move { app.write_waiting().await });
        answer
            .await
            .map_err(|_| AppError::Internal("the writer stopped before answering".into()))?
    }

    async fn write_waiting(&self) {
        let queue = &self.inner.creations;
        let _turn = queue.writer.lock().await;
        let group: Vec<Waiting> = match queue.waiting.lock() {
            Ok(mut waiting) => {
                let n = waiting.len().min(MAX_GROUP);
                waiting.drain(..n).collect()
            }
            Err(_) => return,
        };
        if group.is_empty() {
            // An earlier turn wrote this caller's creation with its own group.
            return;
        }
        let creations: Vec<Creation> = group.iter().map(Waiting::creation).collect();
        match self.write_group(&creations).await {
            Ok(views) => {
                for (w, view) in group.into_iter().zip(views) {
                    let _ = w.reply.send(Ok(view));
                }
            }
            // One bad creation must not fail the others: write each alone, so each caller gets its
            // own answer.
            Err(_) if group.len() > 1 => {
                for w in group {
                    let result = self.write_group(&[w.creation()]).await;
                    let answer = result.and_then(|mut views| {
                        views
                            .pop()
                            .ok_or_else(|| AppError::Internal("created record not read back".into()))
                    });
                    let _ = w.reply.send(answer);
                }
            }
            Err(e) => {
                if let Some(w) = group.into_iter().next() {
                    let _ = w.reply.send(Err(e));
                }
            }
        }
    }

    /// Writes a group in one transaction; answers the views in the order of the group.
    async fn write_group(&self, creations: &[Creation<'_>]) -> Result<Vec<RecordView>> {
        let mut tx = self.store().begin().await?;
        itsm_storage::cached_plans(&mut tx).await?;
        let created = self.create_records(&mut tx, creations).await?;
        let ids: Vec<_> = created.iter().map(|r| r.id).collect();
        let mut views: HashMap<_, _> = records::get_many(&mut tx, &ids)
            .await?
            .into_iter()
            .map(|v| (v.record.id, v))
            .collect();
        tx.commit().await?;
        ids.iter()
            .map(|id| {
                views
                    .remove(id)
                    .ok_or_else(|| AppError::Internal("created record not read back".into()))
            })
            .collect()
    }
}
