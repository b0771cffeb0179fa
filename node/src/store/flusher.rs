//! Group commit: the one thread that calls [`Store::flush`](super::Store::flush).
//!
//! A writer applies its batch, then registers a callback with [`GroupCommit::after_flush`].
//! The flusher blocks for the first waiting callback, drains every other one already queued,
//! flushes once, and runs all of them with the flush result. A callback registered after its
//! batch was applied is therefore always covered by the flush that runs it. After a failed
//! flush the store is marked failed: every later callback gets the error and writers refuse
//! new commits (RELIABILITY F4: never "retry and ack").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::{Store, StoreError};

/// Runs after the flush covering a write.
pub type Waiter = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// Called with (batch size, flush seconds) after each flush (metrics).
pub type FlushObserver = Arc<dyn Fn(usize, f64) + Send + Sync>;

/// Most callbacks handled by one flush.
pub const MAX_GROUP: usize = 8192;

/// Handle to the flusher thread.
pub struct GroupCommit {
    tx: Option<SyncSender<Waiter>>,
    failed: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flusher for `store`; `queue` bounds the waiting callbacks.
    pub fn spawn(store: Arc<dyn Store>, queue: usize, observe: FlushObserver) -> GroupCommit {
        let (tx, rx) = sync_channel::<Waiter>(queue.max(1));
        let failed = Arc::new(AtomicBool::new(false));
        let f = failed.clone();
        let thread = std::thread::Builder::new()
            .name("credfed-flusher".into())
            .spawn(move || flusher(store, rx, f, observe))
            .expect("spawn flusher thread");
        GroupCommit { tx: Some(tx), failed, thread: Some(thread) }
    }

    /// Whether a flush has failed (the store is read-only from then on).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }

    /// Runs `w` after the next flush. Must be called after the write was applied. Blocks while
    /// the queue is full (back-pressure on the single writer).
    pub fn after_flush(&self, w: Waiter) {
        match &self.tx {
            Some(tx) => {
                if let Err(e) = tx.send(w) {
                    (e.0)(Err(StoreError::Io("flusher stopped".into())));
                }
            }
            None => w(Err(StoreError::Io("flusher stopped".into()))),
        }
    }

    /// Flushes what is pending and stops the thread.
    pub fn shutdown(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn flusher(store: Arc<dyn Store>, rx: Receiver<Waiter>, failed: Arc<AtomicBool>, observe: FlushObserver) {
    while let Ok(first) = rx.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(w) => group.push(w),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let result = if failed.load(Ordering::SeqCst) {
            Err(StoreError::Io("an earlier flush failed; store is read-only".into()))
        } else {
            store.flush()
        };
        if let Err(e) = &result {
            failed.store(true, Ordering::SeqCst);
            tracing::error!(error = %e, "store flush failed: no further acknowledgements");
        }
        observe(group.len(), started.elapsed().as_secs_f64());
        for w in group {
            w(result.clone());
        }
    }
    // Channel closed: make whatever was applied durable before exiting.
    if !failed.load(Ordering::SeqCst) {
        if let Err(e) = store.flush() {
            tracing::error!(error = %e, "final store flush failed");
        }
    }
}
