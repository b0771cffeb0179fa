//! `/v1/admin/*`: peers, trust anchors, policy, tokens. Every change is one commit together
//! with its `AdminChange` audit leaf.

use credfed_protocol::audit::AuditEvent;
use credfed_protocol::keys::PublicKey;
use credfed_protocol::trust::LocalPolicy;
use credfed_protocol::RegionId;
use hyper::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::drafts::parse;
use super::error::ApiError;
use super::{json, Ctx, Resp};
use crate::state::tokens::{self, Scope};
use crate::store::MetaWrite;

fn event(c: &Ctx, action: &str, detail: String) -> Option<AuditEvent> {
    Some(AuditEvent::AdminChange { at: c.app.state().now(), token_id: c.token_id(), action: action.into(), detail })
}

/// `GET /v1/admin/peers`: connected peers (PeerId, region).
pub async fn peers(c: Ctx) -> Result<Resp, ApiError> {
    let st = c.app.state();
    let list: Vec<_> = st
        .peers
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|(p, r)| json!({ "peer_id": p, "region": r }))
        .collect();
    let addrs = st.p2p_addrs.read().unwrap_or_else(|p| p.into_inner()).clone();
    Ok(json(StatusCode::OK, &json!({ "peers": list, "listen": addrs, "peer_id": st.peer_id })))
}

/// `POST /v1/admin/peers/{peer}/ban`: disconnects the peer and refuses it until restart (a
/// lasting exclusion is a revocation of its node key by its region, or an unpin).
pub async fn peer_ban(c: Ctx) -> Result<Resp, ApiError> {
    let peer: credfed_net::PeerId = c.params[0]
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_peer_id", "not a libp2p PeerId").field("peer"))?;
    let Some(net) = c.app.state().net.get() else {
        return Err(ApiError::new(StatusCode::CONFLICT, "p2p_disabled", "this node runs without federation"));
    };
    net.ban(peer).await.map_err(|e| ApiError::unavailable(e.to_string()))?;
    let ev = event(&c, "peers.ban", peer.to_string());
    c.app.ingest.admin(vec![], ev).await?;
    Ok(json(StatusCode::OK, &json!({ "peer_id": peer.to_string(), "banned": true })))
}

/// `GET /v1/admin/trust`.
pub async fn trust_list(c: Ctx) -> Result<Resp, ApiError> {
    let t = c.app.state().trust();
    let anchors: Vec<_> = t
        .anchors()
        .iter()
        .map(|(r, k)| json!({ "region": r, "root_key": k.to_hex(), "fingerprint": k.fingerprint() }))
        .collect();
    let delegations: Vec<_> = t
        .delegations()
        .map(|(id, d)| {
            json!({ "id": id.to_hex(), "region": d.region, "key": d.key.to_hex(), "role": d.role, "authority_name": d.authority_name,
                    "scopes": d.scopes, "not_before": d.not_before, "not_after": d.not_after,
                    "revoked_from": t.revoked_from(&d.key, &d.region) })
        })
        .collect();
    Ok(json(StatusCode::OK, &json!({ "anchors": anchors, "delegations": delegations })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pin {
    region: RegionId,
    root_key: String,
    /// The region's delegation envelopes (hex), at least its node key's, so its node can be
    /// admitted before anything was synced from it (the anchor file `init` writes carries them).
    #[serde(default)]
    delegations: Vec<String>,
}

/// `POST /v1/admin/trust` `{"region","root_key","delegations"?:[hex]}`.
pub async fn trust_pin(c: Ctx) -> Result<Resp, ApiError> {
    let p: Pin = parse(&c.body)?;
    let key: PublicKey = p
        .root_key
        .parse()
        .map_err(|e| ApiError::unprocessable("invalid_key", format!("root_key: {e}")).field("root_key"))?;
    let mut envelopes = Vec::new();
    for (i, h) in p.delegations.iter().enumerate() {
        let bytes = hex::decode(h.trim()).map_err(|_| {
            ApiError::bad_request("invalid_hex", format!("delegations[{i}] is not hex")).field("delegations")
        })?;
        envelopes.push(bytes);
    }
    let detail = format!("{} {}", p.region, key.fingerprint());
    let ev = event(&c, "trust.pin", detail);
    c.app.ingest.admin(vec![MetaWrite::Pin(p.region.clone(), key)], ev).await?;
    let mut imported = Vec::new();
    for (i, bytes) in envelopes.into_iter().enumerate() {
        // Only delegations and revocations signed by the root just pinned pass authorization.
        let a = c.app.ingest.submit(bytes, c.source()).await.map_err(|e| {
            let mut a = ApiError::from(e);
            a.field = Some(format!("delegations[{i}]"));
            a
        })?;
        if !matches!(a.object_type, credfed_protocol::ObjectType::Delegation | credfed_protocol::ObjectType::Revocation)
        {
            return Err(ApiError::unprocessable(
                "not_a_delegation",
                format!("delegations[{i}] is a {}", a.object_type),
            ));
        }
        imported.push(a.id.to_hex());
    }
    Ok(json(
        StatusCode::CREATED,
        &json!({ "region": p.region, "root_key": key.to_hex(), "fingerprint": key.fingerprint(), "delegations": imported }),
    ))
}

/// `DELETE /v1/admin/trust/{region}`.
pub async fn trust_unpin(c: Ctx) -> Result<Resp, ApiError> {
    let region: RegionId = c.params[0]
        .parse()
        .map_err(|_| ApiError::bad_request("invalid_region", "invalid region id").field("region"))?;
    if c.app.state().trust().root_of(&region).is_none() {
        return Err(ApiError::not_found("not_pinned", format!("region {region} is not pinned")));
    }
    if region == c.app.state().region {
        return Err(ApiError::new(StatusCode::CONFLICT, "own_region", "the node's own region cannot be unpinned"));
    }
    let ev = event(&c, "trust.unpin", region.to_string());
    c.app.ingest.admin(vec![MetaWrite::Unpin(region.clone())], ev).await?;
    Ok(json(StatusCode::OK, &json!({ "region": region, "unpinned": true })))
}

/// `GET /v1/admin/policy`.
pub async fn policy_get(c: Ctx) -> Result<Resp, ApiError> {
    let p = c.app.state().policy().clone();
    Ok(json(StatusCode::OK, &p))
}

/// `PUT /v1/admin/policy` (a full `LocalPolicy`).
///
/// A policy with no rules accepts every kind from every pinned region; replacing one that has
/// rules with it needs `?force=true` (422 `policy_empty` otherwise).
pub async fn policy_put(c: Ctx) -> Result<Resp, ApiError> {
    if c.body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::bad_request("invalid_request", "the policy must be a JSON object"));
    }
    let p: LocalPolicy = parse(&c.body)?;
    let force = c.q::<bool>("force")?.unwrap_or(false);
    let rules = |p: &LocalPolicy| p.accepted_kinds.len() + p.shared_entitled.len();
    if rules(&p) == 0 && rules(&c.app.state().policy()) > 0 && !force {
        return Err(ApiError::unprocessable(
            "policy_empty",
            "this policy has no rules and would remove every current one (every kind from every pinned \
             region would be accepted, no region entitled to shared bodies); send ?force=true to mean it",
        ));
    }
    let ev = event(
        &c,
        "policy.put",
        format!("{} region rules, {} entitled", p.accepted_kinds.len(), p.shared_entitled.len()),
    );
    c.app.ingest.admin(vec![MetaWrite::Policy(p.clone())], ev).await?;
    Ok(json(StatusCode::OK, &p))
}

/// `GET /v1/admin/tokens` (ids and scopes only).
pub async fn tokens_list(c: Ctx) -> Result<Resp, ApiError> {
    let mut list: Vec<_> = c.app.state().tokens.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    let v: Vec<_> = list.iter().map(|t| json!({ "id": t.id, "scope": t.scope, "created_at": t.created_at })).collect();
    Ok(json(StatusCode::OK, &json!({ "tokens": v })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Issue {
    scope: String,
}

/// `POST /v1/admin/tokens` `{"scope"}` → the token, shown once.
pub async fn token_issue(c: Ctx) -> Result<Resp, ApiError> {
    let i: Issue = parse(&c.body)?;
    let scope = Scope::parse(&i.scope).ok_or_else(|| {
        ApiError::unprocessable("invalid_scope", "scope must be submit, query, audit or admin").field("scope")
    })?;
    let (text, rec) = tokens::issue(scope, c.app.state().now());
    let ev = event(&c, "tokens.issue", format!("{} {}", rec.id, rec.scope));
    c.app.ingest.admin(vec![MetaWrite::Token(rec.clone())], ev).await?;
    Ok(json(StatusCode::CREATED, &json!({ "id": rec.id, "scope": rec.scope, "token": text })))
}

/// `DELETE /v1/admin/tokens/{id}`.
pub async fn token_revoke(c: Ctx) -> Result<Resp, ApiError> {
    let id = c.params[0].clone();
    if !c.app.state().tokens.read().unwrap_or_else(|p| p.into_inner()).contains_key(&id) {
        return Err(ApiError::not_found("token_not_found", "no such token id"));
    }
    let ev = event(&c, "tokens.revoke", id.clone());
    c.app.ingest.admin(vec![MetaWrite::RevokeToken(id.clone())], ev).await?;
    Ok(json(StatusCode::OK, &json!({ "id": id, "revoked": true })))
}
