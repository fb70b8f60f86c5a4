//! `OMS_AUTH` and `OMS_JWT_*`, read from the environment and checked before a service
//! starts (CONTRACT: Authentication and authorization).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::jwks::{Jwks, MIN_REFETCH};
use crate::keys::Key;
use crate::verify::{ClaimRules, KeySource, Verifier, DEFAULT_ROLES_CLAIM};
use crate::Authenticator;

/// `OMS_AUTH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    Jwt,
}

/// The authentication settings as given (nothing checked yet).
#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// `OMS_AUTH`; `None` when unset.
    pub mode: Option<Mode>,
    pub secret: Option<String>,
    pub public_key_file: Option<PathBuf>,
    pub jwks_url: Option<String>,
    /// `OMS_JWT_PRIVATE_KEY_FILE`: what `oms token` signs with, besides the secret.
    pub private_key_file: Option<PathBuf>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub roles_claim: Option<String>,
}

/// Why the settings cannot start a service.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl AuthSettings {
    /// From `OMS_AUTH`, `OMS_JWT_SECRET`, `OMS_JWT_PUBLIC_KEY_FILE`, `OMS_JWKS_URL`,
    /// `OMS_JWT_PRIVATE_KEY_FILE`, `OMS_JWT_ISSUER`, `OMS_JWT_AUDIENCE`, `OMS_JWT_ROLES_CLAIM`.
    pub fn from_env() -> Result<Self, SettingsError> {
        let mode = match env("OMS_AUTH").as_deref().map(str::trim) {
            None => None,
            Some(m) if m.eq_ignore_ascii_case("off") => Some(Mode::Off),
            Some(m) if m.eq_ignore_ascii_case("jwt") => Some(Mode::Jwt),
            Some(other) => {
                return Err(SettingsError(format!(
                    "OMS_AUTH is `off` or `jwt`, not `{other}`"
                )))
            }
        };
        Ok(Self {
            mode,
            secret: env("OMS_JWT_SECRET"),
            public_key_file: env("OMS_JWT_PUBLIC_KEY_FILE").map(PathBuf::from),
            jwks_url: env("OMS_JWKS_URL"),
            private_key_file: env("OMS_JWT_PRIVATE_KEY_FILE").map(PathBuf::from),
            issuer: env("OMS_JWT_ISSUER"),
            audience: env("OMS_JWT_AUDIENCE"),
            roles_claim: env("OMS_JWT_ROLES_CLAIM"),
        })
    }

    /// The claim rules: issuer, audience, roles claim.
    pub fn rules(&self) -> ClaimRules {
        ClaimRules {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            roles_claim: self
                .roles_claim
                .clone()
                .unwrap_or_else(|| DEFAULT_ROLES_CLAIM.into()),
        }
    }

    /// The mode a service listening on `addr` runs in: `OMS_AUTH` unset is `off` on a
    /// loopback address and refused on any other (an open service must be asked for).
    pub fn mode_for(&self, addr: SocketAddr) -> Result<Mode, SettingsError> {
        match self.mode {
            Some(mode) => Ok(mode),
            None if addr.ip().is_loopback() => Ok(Mode::Off),
            None => Err(SettingsError(format!(
                "refusing to serve {addr} without authentication: set OMS_AUTH=jwt (with one of \
                 OMS_JWT_SECRET, OMS_JWT_PUBLIC_KEY_FILE, OMS_JWKS_URL), or OMS_AUTH=off to \
                 accept an open service on a non-loopback address"
            ))),
        }
    }

    /// The authenticator of a service listening on `addr`. With `jwt`, exactly one key
    /// source must be set and usable; a JWKS is fetched once here (a failure is logged:
    /// the first token fetches again).
    pub async fn authenticator(&self, addr: SocketAddr) -> Result<Authenticator, SettingsError> {
        match self.mode_for(addr)? {
            Mode::Off => {
                if !addr.ip().is_loopback() {
                    tracing::warn!(%addr, "OMS_AUTH=off: anyone who reaches this address may do everything");
                }
                Ok(Authenticator::Off)
            }
            Mode::Jwt => {
                let verifier = Verifier::new(self.key_source()?, self.rules());
                if let Some(jwks) = verifier.jwks() {
                    if let Err(error) = jwks.refresh().await {
                        tracing::warn!(%error, "fetching the JWKS at start failed; tokens fetch it again");
                    }
                }
                Ok(Authenticator::Jwt(Arc::new(verifier)))
            }
        }
    }

    /// The one configured key source.
    pub fn key_source(&self) -> Result<KeySource, SettingsError> {
        let set: Vec<&str> = [
            self.secret.as_ref().map(|_| "OMS_JWT_SECRET"),
            self.public_key_file
                .as_ref()
                .map(|_| "OMS_JWT_PUBLIC_KEY_FILE"),
            self.jwks_url.as_ref().map(|_| "OMS_JWKS_URL"),
        ]
        .into_iter()
        .flatten()
        .collect();
        match set.as_slice() {
            [] => {
                return Err(SettingsError(
                    "OMS_AUTH=jwt needs a key: set one of OMS_JWT_SECRET, OMS_JWT_PUBLIC_KEY_FILE, OMS_JWKS_URL".into(),
                ))
            }
            [_] => {}
            several => {
                return Err(SettingsError(format!(
                    "set exactly one key source, not {}",
                    several.join(" and ")
                )))
            }
        }
        if let Some(secret) = &self.secret {
            return Key::secret(secret.as_bytes())
                .map(|key| KeySource::Fixed(Arc::new(key)))
                .map_err(SettingsError);
        }
        if let Some(path) = &self.public_key_file {
            let pem = std::fs::read(path).map_err(|e| {
                SettingsError(format!("OMS_JWT_PUBLIC_KEY_FILE {}: {e}", path.display()))
            })?;
            return Key::pem(&pem)
                .map(|key| KeySource::Fixed(Arc::new(key)))
                .map_err(|e| {
                    SettingsError(format!("OMS_JWT_PUBLIC_KEY_FILE {}: {e}", path.display()))
                });
        }
        let url = self.jwks_url.as_deref().unwrap_or_default();
        Jwks::new(url, MIN_REFETCH)
            .map(|jwks| KeySource::Jwks(Box::new(jwks)))
            .map_err(SettingsError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn unset_is_off_on_loopback_only() {
        let unset = AuthSettings::default();
        assert_eq!(unset.mode_for(addr("127.0.0.1:8080")).ok(), Some(Mode::Off));
        assert_eq!(unset.mode_for(addr("[::1]:8080")).ok(), Some(Mode::Off));
        let refused = unset.mode_for(addr("0.0.0.0:8080")).expect_err("refused");
        assert!(refused.0.contains("OMS_AUTH=jwt"), "{refused}");
        let open = AuthSettings {
            mode: Some(Mode::Off),
            ..AuthSettings::default()
        };
        assert_eq!(open.mode_for(addr("0.0.0.0:8080")).ok(), Some(Mode::Off));
    }

    #[test]
    fn exactly_one_key_source() {
        let none = AuthSettings {
            mode: Some(Mode::Jwt),
            ..AuthSettings::default()
        };
        assert!(none.key_source().is_err());
        let two = AuthSettings {
            secret: Some("x".repeat(32)),
            jwks_url: Some("https://id.example/jwks".into()),
            ..none.clone()
        };
        let error = two.key_source().expect_err("ambiguous");
        assert!(error.0.contains("exactly one"), "{error}");
        let short = AuthSettings {
            secret: Some("short".into()),
            ..none.clone()
        };
        assert!(short.key_source().is_err());
        let one = AuthSettings {
            secret: Some("x".repeat(32)),
            ..none
        };
        assert!(one.key_source().is_ok());
    }
}
