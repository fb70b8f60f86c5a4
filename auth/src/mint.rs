//! Development tokens (`oms token`), signed with `OMS_JWT_SECRET` (HS256) or
//! `OMS_JWT_PRIVATE_KEY_FILE` (RS256, ES256 or EdDSA by the key's kind), carrying what
//! the verifier reads: `sub`, the roles at `OMS_JWT_ROLES_CLAIM`, `oms.customer_id`,
//! `iss` and `aud` when configured.

use std::time::{Duration, SystemTime};

use domain::values::CustomerId;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Map, Value};

use crate::caller::Role;
use crate::settings::{AuthSettings, SettingsError};

/// What a minted token says.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub role: Role,
    /// `oms.customer_id`; without it a customer token acts as the customer derived from
    /// its issuer and subject.
    pub customer: Option<CustomerId>,
    /// `sub`; `dev-<role>` when not given.
    pub sub: Option<String>,
    pub ttl: Duration,
}

/// A signed token for `request`.
pub fn mint(settings: &AuthSettings, request: &TokenRequest) -> Result<String, SettingsError> {
    crate::install_crypto();
    let (algorithm, key) = signing_key(settings)?;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut claims = Map::new();
    let sub = request
        .sub
        .clone()
        .unwrap_or_else(|| format!("dev-{}", request.role));
    claims.insert("sub".into(), json!(sub));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + request.ttl.as_secs()));
    if let Some(issuer) = &settings.issuer {
        claims.insert("iss".into(), json!(issuer));
    }
    if let Some(audience) = &settings.audience {
        claims.insert("aud".into(), json!(audience));
    }
    insert_at(
        &mut claims,
        &settings.rules().roles_claim,
        json!([request.role.as_str()]),
    );
    if let Some(customer) = request.customer {
        insert_at(&mut claims, "oms.customer_id", json!(customer.to_string()));
    }
    encode(&Header::new(algorithm), &claims, &key)
        .map_err(|e| SettingsError(format!("cannot sign the token: {e}")))
}

/// Reads one kind of PEM private key.
type ParsePem = fn(&[u8]) -> jsonwebtoken::errors::Result<EncodingKey>;

fn signing_key(settings: &AuthSettings) -> Result<(Algorithm, EncodingKey), SettingsError> {
    if let Some(secret) = &settings.secret {
        crate::keys::Key::secret(secret.as_bytes()).map_err(SettingsError)?;
        return Ok((
            Algorithm::HS256,
            EncodingKey::from_secret(secret.as_bytes()),
        ));
    }
    let Some(path) = &settings.private_key_file else {
        return Err(SettingsError(
            "set OMS_JWT_SECRET or OMS_JWT_PRIVATE_KEY_FILE to sign tokens".into(),
        ));
    };
    let pem = std::fs::read(path)
        .map_err(|e| SettingsError(format!("OMS_JWT_PRIVATE_KEY_FILE {}: {e}", path.display())))?;
    let attempts: [(ParsePem, Algorithm); 3] = [
        (EncodingKey::from_rsa_pem, Algorithm::RS256),
        (EncodingKey::from_ec_pem, Algorithm::ES256),
        (EncodingKey::from_ed_pem, Algorithm::EdDSA),
    ];
    attempts
        .into_iter()
        .find_map(|(parse, algorithm)| parse(&pem).ok().map(|key| (algorithm, key)))
        .ok_or_else(|| {
            SettingsError(format!(
                "OMS_JWT_PRIVATE_KEY_FILE {}: not a PEM private key of RSA, EC P-256 or Ed25519",
                path.display()
            ))
        })
}

/// Sets `value` at a dotted `path`, making the objects on the way.
fn insert_at(claims: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut object = claims;
    for part in parts {
        let entry = object
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        object = next;
    }
    object.insert(last.to_owned(), value);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::keys::Key;
    use crate::verify::{KeySource, Verifier};

    #[tokio::test]
    async fn a_minted_token_verifies_as_its_role_and_customer() {
        let settings = AuthSettings {
            secret: Some("a-development-secret-of-32-bytes!".into()),
            issuer: Some("https://id.example".into()),
            audience: Some("oms".into()),
            roles_claim: Some("realm_access.roles".into()),
            ..AuthSettings::default()
        };
        let customer = CustomerId::new();
        let token = mint(
            &settings,
            &TokenRequest {
                role: Role::Customer,
                customer: Some(customer),
                sub: Some("alice".into()),
                ttl: Duration::from_secs(600),
            },
        )
        .expect("minted");
        let key = Key::secret(settings.secret.as_deref().unwrap_or_default().as_bytes())
            .expect("a secret");
        let verifier = Verifier::new(KeySource::Fixed(Arc::new(key)), settings.rules());
        let caller = verifier.verify(&token).await.expect("verifies");
        assert_eq!(caller.sub, "alice");
        assert_eq!(caller.roles, vec![Role::Customer]);
        assert_eq!(caller.customer, Some(customer));
    }
}
