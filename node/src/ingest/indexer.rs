//! The indexer thread: applies the record-list index writes (`state::listing`, about twenty
//! keys a record) beside the writer, so the serial writer commits only the object, its feed
//! entry, audit leaves and change position.
//!
//! The writer hands over, in change-log order, every position it assigned with the index
//! writes that go with it (none for most objects but records and corrections). The indexer
//! applies what is queued in one store batch with the marker `listing::INDEXED` = the last
//! position, then publishes that position on `State::indexed`. List queries wait for it to
//! reach the position acknowledged before they started (read-your-writes).
//!
//! The same flush that makes an object durable makes its index writes durable only if the
//! indexer got to them first; after a crash `Indexer::start` re-applies the writes of the
//! changes after the durable marker (`listing::catch_up`: idempotent, reads only the change
//! log's tail).

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use credfed_protocol::Day;

use crate::state::{listing, State};
use crate::store::{Commit, MetaWrite, StoreError};

/// Positions the indexer applies in one batch at most.
const MAX_BATCH: usize = 1024;

/// The writes that go with change-log positions up to `upto`.
struct Job {
    upto: u64,
    writes: Vec<MetaWrite>,
}

/// The writer's handle: queue jobs, then stop (drains and joins).
pub(super) struct Indexer {
    tx: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Indexer {
    /// Catches the index up with the change log (after a crash, or on a store written before
    /// the indexer existed), then starts the thread.
    pub(super) fn start(state: Arc<State>, last_change: u64) -> Result<Indexer, StoreError> {
        let store = &*state.store;
        // A store without the marker was indexed by the writer in each object's own commit.
        let from = listing::indexed(store)?.unwrap_or(last_change).min(last_change);
        let today = Day::from_unix_china(state.now());
        let c = listing::catch_up(store, &state.rules, today, from)?;
        if c.meta.len() > 1 {
            tracing::info!(after = from, keys = c.meta.len() - 1, "record list indexes caught up with the change log");
        }
        store.apply(&c)?;
        state.indexed.send_replace(last_change);
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("credfed-indexer".into())
            .spawn(move || run(&state, &rx))
            .map_err(|e| StoreError::Io(format!("spawn indexer: {e}")))?;
        Ok(Indexer { tx: Some(tx), thread: Some(thread) })
    }

    /// Queues the index writes of positions up to `upto` (empty for changes without any).
    pub(super) fn queue(&self, upto: u64, writes: Vec<MetaWrite>) {
        if let Some(tx) = &self.tx {
            // The thread ends only when `tx` is dropped (or it panicked: then the writes are
            // re-applied by the catch-up at the next start).
            let _ = tx.send(Job { upto, writes });
        }
    }

    /// Applies what is queued and joins the thread.
    pub(super) fn stop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(state: &State, rx: &Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut upto = first.upto;
        let mut meta = first.writes;
        for job in rx.try_iter().take(MAX_BATCH) {
            upto = upto.max(job.upto);
            meta.extend(job.writes);
        }
        meta.push(listing::indexed_write(upto));
        match state.store.apply(&Commit { meta, ..Commit::default() }) {
            Ok(()) => {
                state.indexed.send_if_modified(|n| {
                    let newer = upto > *n;
                    *n = (*n).max(upto);
                    newer
                });
            }
            // Not fatal: the next start re-applies from the durable marker; queries wait for
            // the position with a deadline and then answer from what is indexed.
            Err(e) => tracing::error!(error = %e, upto, "record list index writes not applied"),
        }
    }
}
