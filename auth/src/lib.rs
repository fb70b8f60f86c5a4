//! Authentication for OMS: a bearer JWT verified into a [`Caller`] with roles
//! (CONTRACT: Authentication and authorization).
//!
//! `jsonwebtoken` does the cryptography (with aws-lc-rs, the one backend, also used for
//! the JWKS fetch's TLS); this crate is the thin layer around it:
//!
//! - [`settings`]: `OMS_AUTH` and `OMS_JWT_*` read and checked at start-up: exactly one key
//!   source, never an open service on a public address by accident.
//! - [`keys`]: the verification keys: an HS256 secret, a PEM public key, or a JWKS
//!   document ([`jwks`]), each with the algorithms its kind allows.
//! - [`verify`]: a token's signature and claims (`exp`/`nbf` with leeway, `iss`, `aud`)
//!   into a [`Caller`]; [`caller`]: the roles and what they reach.
//! - [`Authenticator`]: what the HTTP services hold: off (every request acts as admin), or
//!   a verifier; [`mint`]: development tokens for `oms token`; [`origins`]: which browser
//!   pages may call.

pub mod caller;
pub mod jwks;
pub mod keys;
pub mod mint;
pub mod origins;
pub mod settings;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue};

pub use caller::{Caller, Role};
pub use settings::{AuthSettings, SettingsError};
pub use verify::Verifier;

/// How requests are authenticated: not at all (`OMS_AUTH=off`), or by bearer JWT.
#[derive(Debug, Clone, Default)]
pub enum Authenticator {
    /// Every request acts as [`Caller::open`].
    #[default]
    Off,
    Jwt(Arc<Verifier>),
}

/// Why a request is not authenticated: no token, or one that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Unauthenticated {
    /// No token was sent (the challenge then names no error).
    pub missing: bool,
    pub reason: String,
}

impl Unauthenticated {
    pub fn missing() -> Self {
        Self {
            missing: true,
            reason: "this request needs `Authorization: Bearer <JWT>`".into(),
        }
    }

    pub fn invalid(reason: impl Into<String>) -> Self {
        Self {
            missing: false,
            reason: reason.into(),
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750): `Bearer`, with
    /// `error="invalid_token"` when a token was sent.
    pub fn challenge(&self) -> HeaderValue {
        HeaderValue::from_static(if self.missing {
            "Bearer"
        } else {
            "Bearer error=\"invalid_token\""
        })
    }
}

impl Authenticator {
    /// Whether requests need a token.
    pub fn is_on(&self) -> bool {
        matches!(self, Self::Jwt(_))
    }

    /// The caller of a request with these headers (`Authorization: Bearer <JWT>`).
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Unauthenticated> {
        match self {
            Self::Off => Ok(Caller::open()),
            Self::Jwt(_) => {
                let value = headers.get(header::AUTHORIZATION).map(|v| v.to_str());
                match value {
                    None => Err(Unauthenticated::missing()),
                    Some(Err(_)) => Err(Unauthenticated::invalid(
                        "the Authorization header is not visible ASCII",
                    )),
                    Some(Ok(value)) => self.authenticate_value(value).await,
                }
            }
        }
    }

    /// The caller of an `Authorization` value, `Bearer <JWT>` (the WebSocket's
    /// `connection_init` payload carries it too).
    pub async fn authenticate_value(&self, value: &str) -> Result<Caller, Unauthenticated> {
        match self {
            Self::Off => Ok(Caller::open()),
            Self::Jwt(verifier) => {
                let token = bearer_token(value).ok_or_else(|| {
                    Unauthenticated::invalid("the Authorization header must be `Bearer <JWT>`")
                })?;
                verifier.verify(token).await
            }
        }
    }
}

/// The token of `Bearer <token>` (the scheme in any case, RFC 7235).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Makes aws-lc-rs the process's `jsonwebtoken` backend (once; later calls do nothing).
pub(crate) fn install_crypto() {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_scheme_in_any_case() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
