//! Verification keys, each with the algorithms a token signed with it may name. A key's
//! kind fixes them: an HS256 secret never verifies an RS256 token, and a public key never
//! serves as an HMAC secret (the algorithm-confusion attack).

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

/// The shortest HS256 secret taken (RFC 7518 §3.2: at least the hash's size).
pub const MIN_SECRET_BYTES: usize = 32;

const RSA: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// Reads one kind of PEM public key.
type ParsePem = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;

/// A key that verifies signatures, and the algorithms it may verify.
#[derive(Clone)]
pub struct Key {
    pub decoding: DecodingKey,
    pub algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// An HS256 secret.
    pub fn secret(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "OMS_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        Ok(Self {
            decoding: DecodingKey::from_secret(secret),
            algorithms: vec![Algorithm::HS256],
        })
    }

    /// A PEM public key: RSA (RS*/PS*), EC (ES256, ES384) or Ed25519 (EdDSA).
    pub fn pem(pem: &[u8]) -> Result<Self, String> {
        crate::install_crypto();
        let text = String::from_utf8_lossy(pem);
        if text.contains("PRIVATE KEY") {
            return Err("the file holds a private key: give the public key".into());
        }
        let attempts: [(ParsePem, &[Algorithm]); 3] = [
            (DecodingKey::from_rsa_pem, RSA),
            (
                DecodingKey::from_ec_pem,
                &[Algorithm::ES256, Algorithm::ES384],
            ),
            (DecodingKey::from_ed_pem, &[Algorithm::EdDSA]),
        ];
        attempts
            .into_iter()
            .find_map(|(parse, algorithms)| {
                parse(pem).ok().map(|decoding| Self {
                    decoding,
                    algorithms: algorithms.to_vec(),
                })
            })
            .ok_or_else(|| "not a PEM public key of RSA, EC (P-256, P-384) or Ed25519".into())
    }

    /// A signing key of a JWKS document with its `kid`; `None` for keys that cannot
    /// verify a token here (symmetric, encryption-only, unknown curves).
    pub fn jwk(jwk: &Jwk) -> Option<(Option<String>, Self)> {
        if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
            return None;
        }
        let by_kind: Vec<Algorithm> = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => RSA.to_vec(),
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => vec![Algorithm::ES256],
                EllipticCurve::P384 => vec![Algorithm::ES384],
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
                vec![Algorithm::EdDSA]
            }
            _ => return None,
        };
        // A key that names its algorithm verifies only that one.
        let algorithms = match jwk.common.key_algorithm {
            Some(named) => {
                let named = named.to_string().parse::<Algorithm>().ok()?;
                by_kind.contains(&named).then(|| vec![named])?
            }
            None => by_kind,
        };
        let decoding = DecodingKey::from_jwk(jwk).ok()?;
        Some((
            jwk.common.key_id.clone(),
            Self {
                decoding,
                algorithms,
            },
        ))
    }
}
