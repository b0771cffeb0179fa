//! Trust: pinned region roots, delegations, revocations, and the one authorization decision
//! (DESIGN §2, RELIABILITY F6/F9).
//!
//! [`authorize`] answers "may this signer publish this object, as of its signing time, under this
//! trust state and this local policy?". It never looks at who *delivered* the object: identity is
//! bound to the signature (RELIABILITY §0.4).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::envelope::ObjectId;
use crate::keys::PublicKey;
use crate::objects::{Body, DelegationBody, RevocationBody, VerifiedObject};
use crate::{Classification, ObjectType, RecordKind, RegionId, Role, Scope};

/// How far in the future a signing time may be, relative to the receiver's clock (RELIABILITY F14).
pub const MAX_FUTURE_SKEW_SECS: u64 = 300;

/// What the target of an acting object (repair, withdrawal…) is, as the receiver knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetInfo {
    /// The target's origin region.
    pub region: RegionId,
    /// The target's type.
    pub object_type: ObjectType,
}

/// Why an object is not accepted (a typed reason with a stable code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The body's region has no pinned root here.
    #[error("region {region} has no pinned trust anchor on this node")]
    UnpinnedRegion {
        /// The region.
        region: RegionId,
    },
    /// A delegation/revocation not signed by the region's pinned root.
    #[error("{object_type} for region {region} must be signed by its pinned root")]
    NotRoot {
        /// The region.
        region: RegionId,
        /// Delegation or revocation.
        object_type: ObjectType,
    },
    /// No delegation of the signer by the pinned root of the body's region.
    #[error("signer {signer} is not delegated by the root of region {region}")]
    NotDelegated {
        /// Hex key.
        signer: String,
        /// The body's region.
        region: RegionId,
    },
    /// Delegated, but with the wrong role for this object.
    #[error("signer has role {has}, but {object_type} needs role {needs}")]
    WrongRole {
        /// The signer's role.
        has: Role,
        /// The needed role.
        needs: Role,
        /// The object type.
        object_type: ObjectType,
    },
    /// Delegated, but the scopes do not include this kind.
    #[error("signer's delegation does not include scope {scope}")]
    OutOfScope {
        /// The missing scope.
        scope: Scope,
    },
    /// Signed before the delegation's `not_before`.
    #[error("signed at {signed_at}, before the delegation is valid ({not_before})")]
    NotYetValid {
        /// Signing time.
        signed_at: u64,
        /// Delegation start.
        not_before: u64,
    },
    /// Signed at or after the delegation's `not_after`.
    #[error("signed at {signed_at}, after the delegation expired ({not_after})")]
    Expired {
        /// Signing time.
        signed_at: u64,
        /// Delegation end.
        not_after: u64,
    },
    /// Signed at or after the key's revocation.
    #[error("signer key was revoked from {revoked_from}; object signed at {signed_at}")]
    Revoked {
        /// Revocation time.
        revoked_from: u64,
        /// Signing time.
        signed_at: u64,
    },
    /// Claims to predate a revocation that was known on arrival, and was not witnessed before
    /// it (DESIGN §2 backdating rule): quarantined for the origin's administrator.
    #[error("signer key is revoked (from {revoked_from}) and the object was not witnessed before the revocation")]
    RevokedUnwitnessed {
        /// Revocation time.
        revoked_from: u64,
    },
    /// Origin-only action attempted by another region.
    #[error("only the origin region {origin} may {action} its objects; signer acts for {region}")]
    NotOrigin {
        /// The target's origin.
        origin: RegionId,
        /// The acting region.
        region: RegionId,
        /// The action.
        action: ObjectType,
    },
    /// The acting object refers to a kind of object it cannot act on.
    #[error("{action} cannot target a {target}")]
    BadTarget {
        /// The action.
        action: ObjectType,
        /// The target's type.
        target: ObjectType,
    },
    /// The target is not known yet: keep the object pending and fetch the target by id.
    #[error("target {target} is not known yet")]
    TargetUnknown {
        /// Missing id.
        target: ObjectId,
    },
    /// Local policy refuses this kind from this region.
    #[error("local policy does not accept {what} from region {region}")]
    PolicyRefused {
        /// The region.
        region: RegionId,
        /// The kind or type name.
        what: String,
    },
    /// Signing time too far in the future.
    #[error("signed at {signed_at}, more than {MAX_FUTURE_SKEW_SECS} s after now ({now})")]
    SignedInFuture {
        /// Signing time.
        signed_at: u64,
        /// Receiver's clock.
        now: u64,
    },
}

impl Denial {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Denial::UnpinnedRegion { .. } => "unpinned_region",
            Denial::NotRoot { .. } => "not_root",
            Denial::NotDelegated { .. } => "not_delegated",
            Denial::WrongRole { .. } => "wrong_role",
            Denial::OutOfScope { .. } => "out_of_scope",
            Denial::NotYetValid { .. } => "key_not_yet_valid",
            Denial::Expired { .. } => "key_expired",
            Denial::Revoked { .. } => "key_revoked",
            Denial::RevokedUnwitnessed { .. } => "revoked_unwitnessed",
            Denial::NotOrigin { .. } => "not_origin",
            Denial::BadTarget { .. } => "bad_target",
            Denial::TargetUnknown { .. } => "target_unknown",
            Denial::PolicyRefused { .. } => "policy_refused",
            Denial::SignedInFuture { .. } => "signed_in_future",
        }
    }
}

/// The outcome of [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Accept.
    Accept,
    /// Wait: the target is unknown (keep in the bounded pending set, fetch by id).
    Pending(Denial),
    /// Hold for the origin administrator (backdating rule).
    Quarantine(Denial),
    /// Reject.
    Reject(Denial),
}

/// A key as the trust state knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// Delegation object id.
    pub delegation_id: ObjectId,
    /// The delegation.
    pub delegation: DelegationBody,
    /// Earliest known revocation time, if revoked.
    pub revoked_from: Option<u64>,
}

/// Pinned roots plus every accepted delegation and revocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustState {
    anchors: BTreeMap<RegionId, PublicKey>,
    delegations: BTreeMap<PublicKey, Vec<(ObjectId, DelegationBody)>>,
    revocations: BTreeMap<PublicKey, Vec<RevocationBody>>,
}

impl TrustState {
    /// An empty state: trusts nobody.
    pub fn new() -> TrustState {
        TrustState::default()
    }

    /// Pins `root` as the trust anchor of `region` (replacing any earlier pin).
    pub fn pin(&mut self, region: RegionId, root: PublicKey) {
        self.anchors.insert(region, root);
    }

    /// Removes the pin of `region`; its keys stop being accepted.
    pub fn unpin(&mut self, region: &RegionId) -> Option<PublicKey> {
        self.anchors.remove(region)
    }

    /// Pinned anchors.
    pub fn anchors(&self) -> &BTreeMap<RegionId, PublicKey> {
        &self.anchors
    }

    /// The pinned root of a region.
    pub fn root_of(&self, region: &RegionId) -> Option<&PublicKey> {
        self.anchors.get(region)
    }

    /// Records an accepted delegation or revocation (call after [`authorize`] accepted it).
    /// Other objects are ignored.
    pub fn apply(&mut self, obj: &VerifiedObject) {
        match &obj.body {
            Body::Delegation(d) => {
                let list = self.delegations.entry(d.key).or_default();
                if !list.iter().any(|(id, _)| *id == obj.id()) {
                    list.push((obj.id(), d.clone()));
                    list.sort_by_key(|(id, _)| *id);
                }
            }
            Body::Revocation(r) => {
                let list = self.revocations.entry(r.key).or_default();
                if !list.contains(r) {
                    list.push(r.clone());
                }
            }
            _ => {}
        }
    }

    /// Earliest revocation time of `key` by the pinned root of `region`.
    pub fn revoked_from(&self, key: &PublicKey, region: &RegionId) -> Option<u64> {
        self.revocations.get(key)?.iter().filter(|r| &r.region == region).map(|r| r.revoked_from).min()
    }

    /// The delegation of `key` for `region` that covers time `at` (or, failing that, the
    /// closest one, to report why it does not cover it).
    pub fn delegation(&self, key: &PublicKey, region: &RegionId, at: u64) -> Option<KeyInfo> {
        let list = self.delegations.get(key)?;
        let mut candidates = list.iter().filter(|(_, d)| &d.region == region);
        let covering =
            list.iter().filter(|(_, d)| &d.region == region).find(|(_, d)| d.not_before <= at && at < d.not_after);
        let (id, d) = covering.or_else(|| candidates.next())?;
        Some(KeyInfo { delegation_id: *id, delegation: d.clone(), revoked_from: self.revoked_from(key, region) })
    }

    /// Every delegation currently held (for listings and bundles).
    pub fn delegations(&self) -> impl Iterator<Item = (&ObjectId, &DelegationBody)> {
        self.delegations.values().flatten().map(|(id, d)| (id, d))
    }

    /// Whether `key` is a node key of a pinned region, valid and unrevoked at `now`:
    /// the libp2p connection gate (DESIGN §4). Returns the region.
    pub fn node_region(&self, key: &PublicKey, now: u64) -> Option<RegionId> {
        self.delegations.get(key)?.iter().find_map(|(_, d)| {
            let ok = d.role == Role::Node
                && self.anchors.contains_key(&d.region)
                && d.not_before <= now
                && now < d.not_after
                && self.revoked_from(key, &d.region).is_none_or(|r| now < r);
            ok.then(|| d.region.clone())
        })
    }

    /// Delegations expiring within `window` seconds of `now` (for warnings).
    pub fn expiring(&self, now: u64, window: u64) -> Vec<(RegionId, PublicKey, u64)> {
        self.delegations()
            .filter(|(_, d)| self.anchors.contains_key(&d.region) && d.not_after > now && d.not_after <= now + window)
            .map(|(_, d)| (d.region.clone(), d.key, d.not_after))
            .collect()
    }
}

/// Local, admin-managed policy (DESIGN §2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalPolicy {
    /// Record kinds accepted per region; a region not listed is accepted for every kind.
    #[serde(default)]
    pub accepted_kinds: BTreeMap<RegionId, BTreeSet<RecordKind>>,
    /// Regions entitled to receive this node's `shared` bodies.
    #[serde(default)]
    pub shared_entitled: BTreeSet<RegionId>,
}

impl LocalPolicy {
    /// Whether records of `kind` from `region` are accepted.
    pub fn accepts(&self, region: &RegionId, kind: RecordKind) -> bool {
        self.accepted_kinds.get(region).is_none_or(|k| k.contains(&kind))
    }

    /// Whether `region` may receive a body of `classification` originated here.
    pub fn entitled(&self, region: &RegionId, classification: Classification) -> bool {
        match classification {
            Classification::Public => true,
            Classification::Shared => self.shared_entitled.contains(region),
            Classification::Restricted => false,
        }
    }
}

/// Everything [`authorize`] needs besides the object.
#[derive(Clone, Copy, Debug)]
pub struct AuthzContext<'a> {
    /// Trust state.
    pub trust: &'a TrustState,
    /// Local policy.
    pub policy: &'a LocalPolicy,
    /// Receiver's clock (Unix seconds).
    pub now: u64,
    /// The target of an acting object, when known.
    pub target: Option<&'a TargetInfo>,
    /// Whether the object's entry in its origin's feed precedes the (first) revocation of its
    /// signer in that feed (DESIGN §2 backdating rule): the origin's node committed to the
    /// object, in a hash chain every peer holds and checks for equivocation, before it
    /// published the revocation. A thief cannot place an object there afterwards.
    pub witnessed_before_revocation: bool,
}

/// Decides whether `obj` may be accepted. Pure.
pub fn authorize(obj: &VerifiedObject, ctx: &AuthzContext<'_>) -> Decision {
    match check(obj, ctx) {
        Ok(()) => Decision::Accept,
        Err(d @ Denial::TargetUnknown { .. }) => Decision::Pending(d),
        Err(d @ Denial::RevokedUnwitnessed { .. }) => Decision::Quarantine(d),
        Err(d) => Decision::Reject(d),
    }
}

fn check(obj: &VerifiedObject, ctx: &AuthzContext<'_>) -> Result<(), Denial> {
    let body = &obj.body;
    let region = body.region();
    let signed_at = body.signed_at();
    let signer = obj.signer();
    if signed_at > ctx.now.saturating_add(MAX_FUTURE_SKEW_SECS) {
        return Err(Denial::SignedInFuture { signed_at, now: ctx.now });
    }
    let root = ctx.trust.root_of(region).ok_or_else(|| Denial::UnpinnedRegion { region: region.clone() })?;
    if matches!(body, Body::Delegation(_) | Body::Revocation(_)) {
        return if &signer == root {
            Ok(())
        } else {
            Err(Denial::NotRoot { region: region.clone(), object_type: body.object_type() })
        };
    }
    let info = ctx
        .trust
        .delegation(&signer, region, signed_at)
        .ok_or_else(|| Denial::NotDelegated { signer: signer.to_hex(), region: region.clone() })?;
    let d = &info.delegation;
    let needs = if body.object_type() == ObjectType::Receipt { Role::Node } else { Role::Authority };
    if d.role != needs {
        return Err(Denial::WrongRole { has: d.role, needs, object_type: body.object_type() });
    }
    if let Some(scope) = body.required_scope() {
        if needs == Role::Authority && !d.scopes.contains(&scope) {
            return Err(Denial::OutOfScope { scope });
        }
    }
    if signed_at < d.not_before {
        return Err(Denial::NotYetValid { signed_at, not_before: d.not_before });
    }
    if signed_at >= d.not_after {
        return Err(Denial::Expired { signed_at, not_after: d.not_after });
    }
    if let Some(revoked_from) = info.revoked_from {
        if signed_at >= revoked_from {
            return Err(Denial::Revoked { revoked_from, signed_at });
        }
        if !ctx.witnessed_before_revocation {
            return Err(Denial::RevokedUnwitnessed { revoked_from });
        }
    }
    if let Some(c) = body.record_content() {
        if !ctx.policy.accepts(region, c.kind) {
            return Err(Denial::PolicyRefused { region: region.clone(), what: c.kind.to_string() });
        }
    }
    check_target(body, ctx)
}

/// Origin-only actions and target types (DESIGN §2; DOMAIN R3.2, R4.2 "谁认定、谁修复").
fn check_target(body: &Body, ctx: &AuthzContext<'_>) -> Result<(), Denial> {
    let Some(target_id) = body.target() else { return Ok(()) };
    let target = ctx.target.ok_or(Denial::TargetUnknown { target: target_id })?;
    let action = body.object_type();
    let record_like = matches!(target.object_type, ObjectType::Record | ObjectType::Correction);
    let (allowed, origin_only) = match action {
        ObjectType::Repair | ObjectType::Withdrawal | ObjectType::Correction => (record_like, true),
        ObjectType::ObjectionResolution => (record_like, true),
        ObjectType::Objection => (record_like, false),
        ObjectType::MeasureApplied => (record_like || target.object_type == ObjectType::BenefitScheme, false),
        ObjectType::Receipt => (
            matches!(
                target.object_type,
                ObjectType::Repair | ObjectType::Withdrawal | ObjectType::Correction | ObjectType::ObjectionResolution
            ),
            false,
        ),
        _ => (false, false),
    };
    if !allowed {
        return Err(Denial::BadTarget { action, target: target.object_type });
    }
    if origin_only && &target.region != body.region() {
        return Err(Denial::NotOrigin { origin: target.region.clone(), region: body.region().clone(), action });
    }
    Ok(())
}
