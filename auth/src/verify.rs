//! A token's signature and claims, into a [`Caller`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use domain::values::CustomerId;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Validation};
use serde_json::{Map, Value};

use crate::caller::{Caller, Role};
use crate::jwks::Jwks;
use crate::keys::Key;
use crate::Unauthenticated;

/// How far `exp` and `nbf` may be off, for clocks that disagree.
pub const LEEWAY_SECONDS: u64 = 60;

/// The roles claim when `OMS_JWT_ROLES_CLAIM` is unset.
pub const DEFAULT_ROLES_CLAIM: &str = "oms.roles";

/// Where the verification keys come from.
#[derive(Debug)]
pub enum KeySource {
    /// One key: an HS256 secret or a PEM public key.
    Fixed(Arc<Key>),
    /// A JWKS document's keys, by `kid`.
    Jwks(Box<Jwks>),
}

/// What a token's claims must say, besides being signed, current and having a `sub`.
#[derive(Debug, Clone)]
pub struct ClaimRules {
    /// `iss` must equal it.
    pub issuer: Option<String>,
    /// `aud` must contain it.
    pub audience: Option<String>,
    /// The dotted path of the roles array, like `realm_access.roles`.
    pub roles_claim: String,
}

impl Default for ClaimRules {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            roles_claim: DEFAULT_ROLES_CLAIM.into(),
        }
    }
}

/// Verifies bearer tokens.
#[derive(Debug)]
pub struct Verifier {
    source: KeySource,
    rules: ClaimRules,
}

impl Verifier {
    pub fn new(source: KeySource, rules: ClaimRules) -> Self {
        crate::install_crypto();
        Self { source, rules }
    }

    /// The JWKS behind this verifier, if that is its key source.
    pub fn jwks(&self) -> Option<&Jwks> {
        match &self.source {
            KeySource::Jwks(jwks) => Some(jwks.as_ref()),
            KeySource::Fixed(_) => None,
        }
    }

    /// The caller `token` names, if its signature verifies with an algorithm its key
    /// allows (never `none`), it is current (`exp`, `nbf`, with [`LEEWAY_SECONDS`]), and
    /// its `iss` and `aud` are the configured ones.
    pub async fn verify(&self, token: &str) -> Result<Caller, Unauthenticated> {
        let header = decode_header(token)
            .map_err(|e| Unauthenticated::invalid(format!("not a usable JWT: {e}")))?;
        let key = match &self.source {
            KeySource::Fixed(key) => key.clone(),
            KeySource::Jwks(jwks) => jwks.key(header.kid.as_deref()).await.ok_or_else(|| {
                Unauthenticated::invalid("no key of the JWKS matches the token's kid")
            })?,
        };
        if !key.algorithms.contains(&header.alg) {
            return Err(Unauthenticated::invalid(format!(
                "tokens signed with {:?} are not accepted with this key",
                header.alg
            )));
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        match &self.rules.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &self.rules.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let data = decode::<Map<String, Value>>(token, &key.decoding, &validation)
            .map_err(|e| Unauthenticated::invalid(refusal(e.kind())))?;
        self.caller(&data.claims)
    }

    fn caller(&self, claims: &Map<String, Value>) -> Result<Caller, Unauthenticated> {
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Unauthenticated::invalid("the token's sub must be a non-empty string"))?
            .to_owned();
        let roles = match lookup(claims, &self.rules.roles_claim) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(names)) => names
                .iter()
                .filter_map(Value::as_str)
                .filter_map(Role::parse)
                .collect(),
            Some(_) => {
                return Err(Unauthenticated::invalid(format!(
                    "the token's {} must be an array of role names",
                    self.rules.roles_claim
                )))
            }
        };
        let customer = if roles.contains(&Role::Customer) {
            Some(match lookup(claims, "oms.customer_id") {
                Some(Value::String(id)) => CustomerId::parse(id).map_err(|_| {
                    Unauthenticated::invalid("the token's oms.customer_id must be a UUID")
                })?,
                Some(_) => {
                    return Err(Unauthenticated::invalid(
                        "the token's oms.customer_id must be a UUID",
                    ))
                }
                None => {
                    let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or("");
                    CustomerId::for_subject(issuer, &sub)
                }
            })
        } else {
            None
        };
        let expires_at = claims
            .get("exp")
            .and_then(Value::as_u64)
            .map(|exp| SystemTime::UNIX_EPOCH + Duration::from_secs(exp + LEEWAY_SECONDS));
        Ok(Caller {
            sub,
            roles,
            customer,
            expires_at,
        })
    }
}

/// The value at a dotted `path` of `claims`.
fn lookup<'c>(claims: &'c Map<String, Value>, path: &str) -> Option<&'c Value> {
    let mut parts = path.split('.');
    let first = claims.get(parts.next()?)?;
    parts.try_fold(first, |value, part| value.get(part))
}

/// What a client is told about a refused token.
fn refusal(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "the token's issuer is not accepted".into(),
        ErrorKind::InvalidAudience => "the token's audience is not accepted".into(),
        ErrorKind::InvalidSignature => "the token's signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => "the token's algorithm does not fit the key".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the token has no {claim} claim"),
        other => format!("the token is not valid: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::lookup;

    #[test]
    fn dotted_paths_reach_nested_claims() {
        let claims = json!({"realm_access": {"roles": ["staff"]}, "roles": ["admin"]});
        let claims = claims.as_object().expect("an object");
        assert_eq!(
            lookup(claims, "realm_access.roles"),
            Some(&json!(["staff"]))
        );
        assert_eq!(lookup(claims, "roles"), Some(&json!(["admin"])));
        assert_eq!(lookup(claims, "oms.roles"), None);
    }
}
