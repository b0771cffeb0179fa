//! API bearer tokens (RELIABILITY F15).
//!
//! A token is `cft_` + 43 base64url characters (32 random bytes). The node stores only its
//! SHA-256; the token id (first 12 hex characters of that hash) is what logs and the audit log
//! show. Lookup is by id, then the full hash is compared in constant time.
//!
//! Scopes do not nest, with one exception: `audit` may also read everything `query` reads.
//! `admin` grants only `/v1/admin/*`; `submit` only the write routes.

use base64::Engine;
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::State;
use crate::store::TokenRecord;

/// A token scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Submit records and other objects.
    Submit,
    /// Read records, subjects, schemes, eligibility.
    Query,
    /// Read the audit log, feeds, compliance, and full bodies.
    Audit,
    /// Administer trust, policy, tokens, peers.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 4] = [Scope::Submit, Scope::Query, Scope::Audit, Scope::Admin];
    /// Name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Submit => "submit",
            Scope::Query => "query",
            Scope::Audit => "audit",
            Scope::Admin => "admin",
        }
    }
    /// From a name.
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// No token.
    Nothing,
    /// `submit`.
    Submit,
    /// `query` or `audit`.
    Read,
    /// `audit`.
    Audit,
    /// `admin`.
    Admin,
}

impl Need {
    /// Whether `scope` satisfies this need.
    pub fn allows(self, scope: Scope) -> bool {
        match self {
            Need::Nothing => true,
            Need::Submit => scope == Scope::Submit,
            Need::Read => matches!(scope, Scope::Query | Scope::Audit),
            Need::Audit => scope == Scope::Audit,
            Need::Admin => scope == Scope::Admin,
        }
    }
    /// Text for docs.
    pub fn describe(self) -> &'static str {
        match self {
            Need::Nothing => "none",
            Need::Submit => "submit",
            Need::Read => "query (or audit)",
            Need::Audit => "audit",
            Need::Admin => "admin",
        }
    }
}

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// Token id.
    pub token_id: String,
    /// Scope.
    pub scope: Scope,
}

/// Authentication failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// No or unknown token (401).
    Unauthenticated,
    /// Valid token, wrong scope (403).
    Forbidden,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn id_of(h: &[u8; 32]) -> String {
    hex::encode(&h[..6])
}

/// Creates a token for `scope`: the text (shown once) and the record to store.
pub fn issue(scope: Scope, now: u64) -> (String, TokenRecord) {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    let text = format!("cft_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b));
    let h = hash(&text);
    (text, TokenRecord { id: id_of(&h), hash: h, scope: scope.as_str().into(), created_at: now })
}

/// Checks an `Authorization` header value against `need`.
///
/// # Errors
/// [`AuthError`].
pub fn authenticate(state: &State, header: Option<&str>, need: Need) -> Result<Option<Principal>, AuthError> {
    if need == Need::Nothing {
        return Ok(None);
    }
    // RFC 9110 §11.1: the scheme is case-insensitive.
    let token = header
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
        .ok_or(AuthError::Unauthenticated)?;
    if token.len() > 256 {
        return Err(AuthError::Unauthenticated);
    }
    let h = hash(token);
    let rec = state.tokens.read().unwrap_or_else(|p| p.into_inner()).get(&id_of(&h)).cloned();
    let rec = rec.ok_or(AuthError::Unauthenticated)?;
    if !bool::from(rec.hash.ct_eq(&h)) {
        return Err(AuthError::Unauthenticated);
    }
    let scope = Scope::parse(&rec.scope).ok_or(AuthError::Unauthenticated)?;
    if !need.allows(scope) {
        return Err(AuthError::Forbidden);
    }
    Ok(Some(Principal { token_id: rec.id, scope }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_do_not_nest_except_audit_reads() {
        assert!(Need::Read.allows(Scope::Audit));
        assert!(!Need::Read.allows(Scope::Admin));
        assert!(!Need::Submit.allows(Scope::Admin));
        assert!(!Need::Audit.allows(Scope::Query));
        let (t, r) = issue(Scope::Query, 1);
        assert!(t.starts_with("cft_"));
        assert_eq!(r.id, id_of(&hash(&t)));
    }
}
