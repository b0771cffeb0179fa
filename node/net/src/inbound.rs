//! What the swarm task does with gossip and sync traffic from peers.
//!
//! * Gossip: decode under the cap → hand to [`NetApp::validate_gossip`](crate::NetApp) on a
//!   bounded task set → report Accept / Reject / Ignore to gossipsub, which forwards only on
//!   Accept and charges the delivering peer's score on Reject.
//! * Sync requests: admission re-checked now → malformed frames refused → per-peer token
//!   bucket → bounded task set → [`NetApp::handle_request`](crate::NetApp) with the
//!   requester's region → response (re-checked again before it leaves). A malformed frame and
//!   a `rate_limited` refusal each count as a strike against the peer; past
//!   [`NetConfig::max_malformed_requests`](crate::NetConfig::max_malformed_requests) /
//!   [`NetConfig::max_rate_limited_requests`](crate::NetConfig::max_rate_limited_requests)
//!   strikes in the window the peer is cut off (`admission.rs`).
//!
//! `InboundFailure` events are not strikes: in libp2p-request-response 0.30 a failed read
//! never becomes one (hence [`SyncFrame::Malformed`]), `Timeout` may be our own slowness,
//! `ConnectionClosed` and `ResponseOmission` are ours, `Io` comes only after the request was
//! read (the requester gave up on the answer), and `UnsupportedProtocols` is not emitted for
//! inbound streams.

use std::time::Instant;

use credfed_protocol::wire::{self, SyncResponse};
use libp2p::gossipsub::{self, MessageAcceptance, MessageId};
use libp2p::request_response::{self, ResponseChannel};
use libp2p::PeerId;
use tracing::{debug, warn};

use crate::app::{Misbehaviour, Validation};
use crate::codec::SyncFrame;
use crate::event_loop::{Answered, EventLoop, Validated};
use crate::handle::NetError;
use crate::rate::TokenBucket;

/// A refusal with a stable code.
pub(crate) fn refusal(code: &str, message: &str) -> SyncResponse {
    SyncResponse::Error { code: code.to_owned(), message: message.to_owned() }
}

impl EventLoop {
    pub(crate) fn on_gossip(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message { propagation_source, message_id, message } => {
                self.on_gossip_message(propagation_source, message_id, message)
            }
            gossipsub::Event::SlowPeer { peer_id, failed_messages } => {
                debug!(peer = %peer_id, ?failed_messages, "slow gossip peer");
            }
            _ => {}
        }
    }

    fn on_gossip_message(&mut self, source: PeerId, id: MessageId, message: gossipsub::Message) {
        if message.topic != self.topic || self.swarm.behaviour().gate.region(&source).is_none() {
            self.report(&id, &source, Validation::Ignore);
            return;
        }
        let msg = match wire::decode_gossip(&message.data) {
            Ok(msg) => msg,
            Err(e) => {
                self.report(&id, &source, Validation::Reject(format!("malformed: {e}")));
                return;
            }
        };
        if self.validations.len() >= self.cfg.max_inflight_validations {
            warn!(peer = %source, "gossip validation queue full; message ignored (sync will fetch it)");
            self.report(&id, &source, Validation::Ignore);
            return;
        }
        let app = self.app.clone();
        let limit = self.cfg.validation_timeout;
        self.validations.spawn(async move {
            let verdict =
                tokio::time::timeout(limit, app.validate_gossip(source, msg)).await.unwrap_or(Validation::Ignore);
            Validated { id, source, verdict }
        });
    }

    /// Tells gossipsub the verdict; a reject may push the peer below the graylist threshold.
    pub(crate) fn report(&mut self, id: &MessageId, source: &PeerId, verdict: Validation) {
        let acceptance = match &verdict {
            Validation::Accept => MessageAcceptance::Accept,
            Validation::Reject(_) => MessageAcceptance::Reject,
            Validation::Ignore => MessageAcceptance::Ignore,
        };
        self.swarm.behaviour_mut().gossipsub.report_message_validation_result(id, source, acceptance);
        if let Validation::Reject(code) = verdict {
            debug!(peer = %source, message = %id, code, "gossip rejected");
            self.enforce_score(*source);
        }
    }

    pub(crate) fn on_sync(&mut self, event: request_response::Event<SyncFrame, SyncResponse>) {
        use request_response::{Event, Message};
        match event {
            Event::Message { peer, message: Message::Request { request, channel, .. }, .. } => {
                self.on_request(peer, request, channel)
            }
            Event::Message { message: Message::Response { request_id, response }, .. } => {
                if let Some((_, reply)) = self.outbound.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            Event::OutboundFailure { peer, request_id, error, .. } => {
                debug!(%peer, %error, "sync request failed");
                if let Some((_, reply)) = self.outbound.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Request { peer, reason: error.to_string() }));
                }
            }
            // Not a strike (see the module docs): nothing here is provably the peer's doing.
            Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound sync request failed")
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn on_request(&mut self, peer: PeerId, frame: SyncFrame, channel: ResponseChannel<SyncResponse>) {
        // Fail closed: the trust state is asked now, not only when the connection was made.
        // When it says no, the channel is dropped unanswered: no bytes for this peer.
        let Some(region) = self.admitted_or_revoke(&peer) else {
            return;
        };
        let req = match frame {
            SyncFrame::Request(req) => req,
            SyncFrame::Malformed(reason) => {
                debug!(%peer, %reason, "malformed sync request refused");
                if !self.strike(peer, Misbehaviour::MalformedRequests) {
                    self.respond(channel, refusal("malformed", &reason));
                }
                return;
            }
        };
        let now = Instant::now();
        let (rate, burst) = (self.cfg.per_peer_requests_per_sec, self.cfg.per_peer_request_burst);
        let bucket = self.buckets.entry(peer).or_insert_with(|| TokenBucket::new(rate, burst, now));
        if !bucket.try_take(now) {
            debug!(%peer, "sync request rate-limited");
            if !self.strike(peer, Misbehaviour::RateLimited) {
                self.respond(channel, refusal("rate_limited", "too many requests; slow down"));
            }
            return;
        }
        if self.answers.len() >= self.cfg.max_inflight_requests {
            self.respond(channel, refusal("busy", "node is busy; retry later"));
            return;
        }
        let app = self.app.clone();
        // Leave time for the answer to travel before the requester's own timeout.
        let limit = self.cfg.request_timeout / 2;
        self.answers.spawn(async move {
            let response = tokio::time::timeout(limit, app.handle_request(peer, region, req))
                .await
                .unwrap_or_else(|_| refusal("timeout", "request took too long"));
            Answered { peer, channel, response }
        });
    }

    /// Sends a computed answer, if the peer is still admitted.
    pub(crate) fn answer(&mut self, a: Answered) {
        if self.admitted_or_revoke(&a.peer).is_none() {
            return;
        }
        self.respond(a.channel, a.response);
    }

    fn respond(&mut self, channel: ResponseChannel<SyncResponse>, response: SyncResponse) {
        if self.swarm.behaviour_mut().sync.send_response(channel, response).is_err() {
            debug!("sync response not sent: stream already closed");
        }
    }
}
