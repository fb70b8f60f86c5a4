//! Tokens for tests (feature `testing`): an HS256 [`Authenticator`] that checks an
//! issuer and an audience, and tokens of every kind a test needs, valid and not.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::values::CustomerId;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

use crate::keys::Key;
use crate::verify::{ClaimRules, KeySource, Verifier, LEEWAY_SECONDS};
use crate::{Authenticator, Role};

pub const SECRET: &str = "the-oms-test-secret-of-32-bytes!!";
pub const ISSUER: &str = "https://id.test.oms";
pub const AUDIENCE: &str = "oms";

/// Verifies the tokens of this module.
pub fn authenticator() -> Authenticator {
    let key = Key::secret(SECRET.as_bytes()).expect("the test secret is long enough");
    let rules = ClaimRules {
        issuer: Some(ISSUER.into()),
        audience: Some(AUDIENCE.into()),
        ..ClaimRules::default()
    };
    Authenticator::Jwt(Arc::new(Verifier::new(
        KeySource::Fixed(Arc::new(key)),
        rules,
    )))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Valid claims of `sub` with `roles` (and `oms.customer_id` when given), for 10 minutes.
pub fn claims(sub: &str, roles: &[Role], customer: Option<CustomerId>) -> Value {
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    let mut oms = json!({ "roles": roles });
    if let Some(customer) = customer {
        oms["customer_id"] = json!(customer.to_string());
    }
    json!({
        "sub": sub,
        "iss": ISSUER,
        "aud": [AUDIENCE, "other-service"],
        "iat": now(),
        "exp": now() + 600,
        "oms": oms,
    })
}

/// `claims` signed with the test secret.
pub fn sign(claims: &Value) -> String {
    crate::install_crypto();
    encode(
        &Header::default(),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signing")
}

/// A valid token of `role` (a customer's acting as `customer`).
pub fn token(role: Role, customer: Option<CustomerId>) -> String {
    sign(&claims(&format!("test-{role}"), &[role], customer))
}

/// A valid customer token without `oms.customer_id`: it acts as the customer derived
/// from its issuer and `sub`.
pub fn subject_token(sub: &str) -> String {
    sign(&claims(sub, &[Role::Customer], None))
}

/// An admin token that expired past the leeway.
pub fn expired() -> String {
    let mut claims = claims("test-admin", &[Role::Admin], None);
    claims["exp"] = json!(now() - LEEWAY_SECONDS - 60);
    sign(&claims)
}

/// A token of `role` that expires (leeway included) `seconds` from now.
pub fn expiring_in(seconds: u64, role: Role, customer: Option<CustomerId>) -> String {
    let mut claims = claims(&format!("test-{role}"), &[role], customer);
    claims["exp"] = json!(now() + seconds - LEEWAY_SECONDS);
    sign(&claims)
}

/// An admin token from another issuer.
pub fn wrong_issuer() -> String {
    let mut claims = claims("test-admin", &[Role::Admin], None);
    claims["iss"] = json!("https://somebody.else");
    sign(&claims)
}

/// An admin token for another audience.
pub fn wrong_audience() -> String {
    let mut claims = claims("test-admin", &[Role::Admin], None);
    claims["aud"] = json!("another-service");
    sign(&claims)
}

/// A customer's valid token with its payload changed to say admin: the signature no
/// longer matches.
pub fn tampered() -> String {
    let token = token(Role::Customer, Some(CustomerId::new()));
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = claims("test-customer", &[Role::Admin], None);
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    parts.join(".")
}

/// An unsigned admin token (`alg: none`).
pub fn alg_none() -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims("test-admin", &[Role::Admin], None).to_string());
    format!("{header}.{payload}.")
}

/// `Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
