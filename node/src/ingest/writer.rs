//! The single writer thread: the only place that assigns own-feed sequence numbers and audit
//! indexes, builds commits and applies them.

use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use credfed_protocol::audit::{AuditEvent, Source};
use credfed_protocol::envelope::ObjectId;
use credfed_protocol::feed::FeedEntry;
use credfed_protocol::objects::{Body, VerifiedObject};
use credfed_protocol::trust::{authorize, AuthzContext, Decision, TargetInfo};

use super::{rules, Accepted, Cmd, ErrorClass, IngestError, Reply};
use crate::metrics::Metrics;
use crate::state::State;
use crate::store::{AuditLeaf, Commit, FeedWrite, GroupCommit, MetaWrite, NewObject, ObjectMeta, StoreError};
use credfed_protocol::merkle::{leaf_hash, Frontier};

pub(super) struct Writer {
    state: Arc<State>,
    group: GroupCommit,
    head: Option<(u64, ObjectId)>,
    frontier: Frontier,
}

impl Writer {
    pub(super) fn new(state: Arc<State>, queue: usize) -> Result<Writer, StoreError> {
        let head = state.store.feed_heads()?.into_iter().find(|h| h.origin == state.region).map(|h| (h.seq, h.hash));
        let frontier = state.store.audit_frontier()?;
        state.durable_audit_size.store(frontier.size(), Ordering::SeqCst);
        state.metrics.audit_size.set(frontier.size());
        let m = state.metrics.clone();
        let observe = Arc::new(move |n: usize, secs: f64| {
            m.flush_group.observe(n as f64);
            m.flush_seconds.observe(secs);
        });
        let group = GroupCommit::spawn(state.store.clone(), queue, observe);
        Ok(Writer { state, group, head, frontier })
    }

    pub(super) fn run(mut self, rx: Receiver<Cmd>) {
        while let Ok(cmd) = rx.recv() {
            match cmd {
                Cmd::Ingest { obj, source, reply } => self.ingest(*obj, source, reply),
                Cmd::Audit { event } => {
                    let r = self.commit(Commit::default(), &[event]);
                    if let Err(e) = r {
                        tracing::error!(error = %e, "audit event not written");
                    }
                }
                Cmd::Admin { writes, event, reply } => self.admin(writes, event, reply),
                Cmd::Stop => break,
            }
        }
        self.group.shutdown();
    }

    /// Adds audit leaves for `events`, applies the commit, and schedules the durable-size
    /// update. Returns the audit size after the commit.
    fn commit(&mut self, mut c: Commit, events: &[AuditEvent]) -> Result<u64, StoreError> {
        if self.group.failed() {
            self.state.metrics.store_failed.set(1);
            return Err(StoreError::Io("store is read-only after a failed flush".into()));
        }
        let mut frontier = self.frontier.clone();
        for ev in events {
            let bytes = ev.encode();
            let hash = leaf_hash(&bytes);
            let index = frontier.push(hash).map_err(|e| StoreError::Io(e.to_string()))?;
            c.audit.push(AuditLeaf { index, hash, bytes });
        }
        if !events.is_empty() {
            c.frontier = Some(frontier.clone());
        }
        self.state.store.apply(&c)?;
        self.frontier = frontier;
        let size = self.frontier.size();
        self.state.metrics.audit_size.set(size);
        let st = self.state.clone();
        self.group.after_flush(Box::new(move |r| {
            if r.is_ok() {
                st.durable_audit_size.fetch_max(size, Ordering::SeqCst);
            }
        }));
        Ok(size)
    }

    /// Replies after the next flush.
    fn reply_after_flush<T: Send + 'static>(&self, reply: Reply<T>, value: Result<T, IngestError>) {
        self.group.after_flush(Box::new(move |r| {
            let _ = reply.send(match r {
                Ok(()) => value,
                Err(e) => Err(e.into()),
            });
        }));
    }

    fn reject(&mut self, obj: &VerifiedObject, source: Source, err: IngestError, reply: Reply<Accepted>) {
        let m = &self.state.metrics;
        m.rejected.get_or_create(&Metrics::label("code", &err.code)).inc();
        let event = AuditEvent::Rejected {
            at: self.state.now(),
            bytes_hash: ObjectId::of(&obj.envelope.encode()),
            code: err.code.clone(),
            reason: err.message.clone(),
            source,
        };
        tracing::info!(id = %obj.id(), code = %err.code, "object rejected");
        match self.commit(Commit::default(), &[event]) {
            Ok(_) => self.reply_after_flush(reply, Err(err)),
            Err(e) => {
                let _ = reply.send(Err(e.into()));
            }
        }
    }

    fn ingest(&mut self, obj: VerifiedObject, source: Source, reply: Reply<Accepted>) {
        let id = obj.id();
        let store = self.state.store.clone();
        match store.meta(&id) {
            Ok(Some(m)) => {
                let acc = Accepted { id, origin: m.origin, seq: m.seq, object_type: m.object_type, duplicate: true };
                return self.reply_after_flush(reply, Ok(acc));
            }
            Ok(None) => {}
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
        }
        if let Err(err) = self.check(&obj) {
            return self.reject(&obj, source, err, reply);
        }
        match self.accept(&obj, source) {
            Ok(acc) => {
                self.state.metrics.accepted.get_or_create(&Metrics::label("type", acc.object_type.as_str())).inc();
                tracing::info!(id = %id, origin = %acc.origin, seq = ?acc.seq, r#type = %acc.object_type, "object accepted");
                self.reply_after_flush(reply, Ok(acc));
            }
            Err(e) => {
                let _ = reply.send(Err(e.into()));
            }
        }
    }

    /// Authorization (as of signing time) and domain rules.
    fn check(&self, obj: &VerifiedObject) -> Result<(), IngestError> {
        let store = &*self.state.store;
        let target = match obj.body.target() {
            Some(t) => store.meta(&t)?.map(|m| TargetInfo { region: m.origin, object_type: m.object_type }),
            None => None,
        };
        let decision = {
            let trust = self.state.trust();
            let policy = self.state.policy();
            let ctx = AuthzContext {
                trust: &trust,
                policy: &policy,
                now: self.state.now(),
                target: target.as_ref(),
                witnessed_before_revocation: false,
            };
            authorize(obj, &ctx)
        };
        match decision {
            Decision::Accept => {}
            Decision::Pending(d) => {
                return Err(IngestError::new(ErrorClass::Rule, d.code(), d.to_string()).field("target"))
            }
            Decision::Quarantine(d) | Decision::Reject(d) => {
                return Err(IngestError::new(ErrorClass::Rule, d.code(), d.to_string()))
            }
        }
        rules::check(obj, store, &self.state.rules)
    }

    fn accept(&mut self, obj: &VerifiedObject, source: Source) -> Result<Accepted, StoreError> {
        let id = obj.id();
        let now = self.state.now();
        let body = &obj.body;
        let origin = body.region().clone();
        let own = origin == self.state.region;
        let mut c = Commit::default();
        let mut seq = None;
        let mut events = Vec::with_capacity(2);
        let mut new_head = None;
        if own {
            let n = self.head.map_or(1, |(s, _)| s + 1);
            let entry = FeedEntry {
                origin: origin.clone(),
                seq: n,
                prev: self.head.map(|(_, h)| h),
                envelope_id: id,
                published_at: now,
            };
            let signed = entry.sign(&self.state.node_key);
            c.feed.push(FeedWrite { origin: origin.clone(), seq: n, hash: signed.hash, bytes: signed.bytes });
            seq = Some(n);
            new_head = Some((n, signed.hash));
        }
        events.push(AuditEvent::Accepted { at: now, id, origin: origin.clone(), seq, source });
        if let Some((n, entry_hash)) = new_head {
            events.push(AuditEvent::Published { at: now, id, seq: n, entry_hash });
        }
        let meta = ObjectMeta {
            object_type: body.object_type(),
            origin: origin.clone(),
            signed_at: body.signed_at(),
            accepted_at: now,
            seq,
            target: body.target(),
            subject: body.record_content().map(|r| r.subject.key()),
        };
        c.objects.push(NewObject { id, meta, envelope: obj.envelope.encode() });
        self.commit(c, &events)?;
        if new_head.is_some() {
            self.head = new_head;
        }
        if matches!(body, Body::Delegation(_) | Body::Revocation(_)) {
            self.state.trust.write().unwrap_or_else(|p| p.into_inner()).apply(obj);
        }
        Ok(Accepted { id, origin, seq, object_type: body.object_type(), duplicate: false })
    }

    fn admin(&mut self, writes: Vec<MetaWrite>, event: Option<AuditEvent>, reply: Reply<()>) {
        let c = Commit { meta: writes.clone(), ..Commit::default() };
        let events: Vec<AuditEvent> = event.into_iter().collect();
        if let Err(e) = self.commit(c, &events) {
            let _ = reply.send(Err(e.into()));
            return;
        }
        for w in writes {
            match w {
                MetaWrite::Token(t) => {
                    self.state.tokens.write().unwrap_or_else(|p| p.into_inner()).insert(t.id.clone(), t);
                }
                MetaWrite::RevokeToken(id) => {
                    self.state.tokens.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
                }
                MetaWrite::Pin(r, k) => self.state.trust.write().unwrap_or_else(|p| p.into_inner()).pin(r, k),
                MetaWrite::Unpin(r) => {
                    self.state.trust.write().unwrap_or_else(|p| p.into_inner()).unpin(&r);
                }
                MetaWrite::Policy(p) => *self.state.policy.write().unwrap_or_else(|p| p.into_inner()) = p,
                MetaWrite::Checkpoint(_) => {}
            }
        }
        self.reply_after_flush(reply, Ok(()));
    }
}
