//! Verification with every key source: PEM public keys (RS256, ES256, EdDSA), an HS256
//! secret, and a JWKS document served by a local HTTP server that rotates its keys; and
//! the tokens that must be refused: `alg: none`, algorithm confusion, out of leeway.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth::jwks::Jwks;
use auth::settings::Mode;
use auth::verify::{ClaimRules, KeySource, Verifier};
use auth::{AuthSettings, Authenticator, Role};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

fn key_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name)
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    )
    .unwrap_or_default()
}

fn claims() -> Value {
    json!({"sub": "s-1", "exp": now() + 600, "oms": {"roles": ["staff", "offline_access"]}})
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    encode(header, claims, key).expect("signing")
}

async fn with_public_key(file: &str) -> Authenticator {
    AuthSettings {
        mode: Some(Mode::Jwt),
        public_key_file: Some(key_file(file)),
        ..AuthSettings::default()
    }
    .authenticator(SocketAddr::from(([127, 0, 0, 1], 8080)))
    .await
    .expect("a usable key")
}

async fn verify(auth: &Authenticator, token: &str) -> Result<auth::Caller, String> {
    auth.authenticate_value(&format!("Bearer {token}"))
        .await
        .map_err(|e| e.reason)
}

#[tokio::test]
async fn pem_public_keys_verify_their_algorithms() {
    let rsa =
        EncodingKey::from_rsa_pem(&std::fs::read(key_file("rsa.key")).expect("key")).expect("rsa");
    let ec =
        EncodingKey::from_ec_pem(&std::fs::read(key_file("ec.key")).expect("key")).expect("ec");
    let ed =
        EncodingKey::from_ed_pem(&std::fs::read(key_file("ed.key")).expect("key")).expect("ed");
    for (public, algorithm, key) in [
        ("rsa.pub", Algorithm::RS256, &rsa),
        ("ec.pub", Algorithm::ES256, &ec),
        ("ed.pub", Algorithm::EdDSA, &ed),
    ] {
        let auth = with_public_key(public).await;
        let token = sign(&Header::new(algorithm), &claims(), key);
        let caller = verify(&auth, &token).await.expect("verifies");
        assert_eq!(caller.sub, "s-1");
        assert_eq!(caller.roles, vec![Role::Staff], "unknown roles are ignored");
        // Another kind of key's signature does not verify here.
        let other = if algorithm == Algorithm::EdDSA {
            (&rsa, Algorithm::RS256)
        } else {
            (&ed, Algorithm::EdDSA)
        };
        let token = sign(&Header::new(other.1), &claims(), other.0);
        assert!(
            verify(&auth, &token).await.is_err(),
            "{public} refuses {:?}",
            other.1
        );
    }
}

#[tokio::test]
async fn algorithm_confusion_and_alg_none_are_refused() {
    let auth = with_public_key("rsa.pub").await;
    // An HS256 token whose secret is the RSA public key itself.
    let public = std::fs::read(key_file("rsa.pub")).expect("key");
    let confused = sign(
        &Header::new(Algorithm::HS256),
        &claims(),
        &EncodingKey::from_secret(&public),
    );
    let refusal = verify(&auth, &confused).await.expect_err("refused");
    assert!(refusal.contains("HS256"), "{refusal}");

    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(claims().to_string());
    for auth in [auth, auth::testing::authenticator()] {
        assert!(verify(&auth, &format!("{header}.{payload}."))
            .await
            .is_err());
        assert!(verify(&auth, &format!("{header}.{payload}.c2ln"))
            .await
            .is_err());
    }
}

#[tokio::test]
async fn exp_and_nbf_have_sixty_seconds_of_leeway() {
    let auth = auth::testing::authenticator();
    let at = |exp: i64, nbf: Option<i64>| {
        let mut claims = auth::testing::claims("s", &[Role::Admin], None);
        claims["exp"] = json!(exp);
        if let Some(nbf) = nbf {
            claims["nbf"] = json!(nbf);
        }
        auth::testing::sign(&claims)
    };
    assert!(
        verify(&auth, &at(now() - 30, None)).await.is_ok(),
        "expired within the leeway"
    );
    let refusal = verify(&auth, &at(now() - 90, None))
        .await
        .expect_err("expired");
    assert!(refusal.contains("expired"), "{refusal}");
    assert!(verify(&auth, &at(now() + 600, Some(now() + 30)))
        .await
        .is_ok());
    let refusal = verify(&auth, &at(now() + 600, Some(now() + 90)))
        .await
        .expect_err("not yet");
    assert!(refusal.contains("nbf"), "{refusal}");
    let mut no_exp = auth::testing::claims("s", &[Role::Admin], None);
    no_exp.as_object_mut().expect("object").remove("exp");
    assert!(verify(&auth, &auth::testing::sign(&no_exp)).await.is_err());
}

#[tokio::test]
async fn the_roles_claim_can_be_anywhere_in_the_token() {
    let key = auth::keys::Key::secret(auth::testing::SECRET.as_bytes()).expect("secret");
    let rules = ClaimRules {
        roles_claim: "realm_access.roles".into(),
        ..ClaimRules::default()
    };
    let auth = Authenticator::Jwt(Arc::new(Verifier::new(
        KeySource::Fixed(Arc::new(key)),
        rules,
    )));
    let token = auth::testing::sign(
        &json!({"sub": "kc", "exp": now() + 60, "realm_access": {"roles": ["admin"]}}),
    );
    assert_eq!(
        verify(&auth, &token).await.expect("valid").roles,
        vec![Role::Admin]
    );
    let token = auth::testing::sign(
        &json!({"sub": "kc", "exp": now() + 60, "realm_access": {"roles": "admin"}}),
    );
    assert!(
        verify(&auth, &token).await.is_err(),
        "roles must be an array"
    );
}

/// A JWKS endpoint whose document the test changes, and which can be made to fail.
#[derive(Clone, Default)]
struct Provider {
    document: Arc<Mutex<Value>>,
    failing: Arc<Mutex<bool>>,
    fetches: Arc<AtomicUsize>,
}

impl Provider {
    async fn serve(&self) -> String {
        let provider = self.clone();
        let app = Router::new().route(
            "/jwks",
            get(move || {
                let provider = provider.clone();
                async move {
                    provider.fetches.fetch_add(1, Ordering::SeqCst);
                    if *provider.failing.lock().expect("lock") {
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                    let document = provider.document.lock().expect("lock").clone();
                    Json(document).into_response()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/jwks")
    }

    fn publish(&self, keys: &[&SigningKey]) {
        *self.document.lock().expect("lock") =
            json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// An Ed25519 key pair with a `kid`.
struct SigningKey {
    kid: &'static str,
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

impl SigningKey {
    fn new(kid: &'static str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).expect("key");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("pair");
        Self {
            kid,
            pkcs8: pkcs8.as_ref().to_vec(),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    fn jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA", "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(&self.public)})
    }

    fn token(&self) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.into());
        sign(&header, &claims(), &EncodingKey::from_ed_der(&self.pkcs8))
    }
}

#[tokio::test]
async fn jwks_keys_rotate_refetch_at_most_so_often_and_survive_a_failing_provider() {
    let provider = Provider::default();
    let url = provider.serve().await;
    let (a, b, c) = (
        SigningKey::new("a"),
        SigningKey::new("b"),
        SigningKey::new("c"),
    );
    provider.publish(&[&a]);
    let min_refetch = Duration::from_millis(400);
    let jwks = Jwks::new(&url, min_refetch).expect("a URL");
    let auth = Authenticator::Jwt(Arc::new(Verifier::new(
        KeySource::Jwks(Box::new(jwks)),
        ClaimRules::default(),
    )));

    assert!(verify(&auth, &a.token()).await.is_ok());
    assert_eq!(provider.fetches(), 1, "fetched once, then kept");
    assert!(verify(&auth, &a.token()).await.is_ok());
    assert_eq!(provider.fetches(), 1);

    // The provider rotates to b: b's first token refetches (the last fetch is old enough).
    tokio::time::sleep(min_refetch).await;
    provider.publish(&[&b]);
    assert!(
        verify(&auth, &b.token()).await.is_ok(),
        "a new kid is fetched"
    );
    assert_eq!(provider.fetches(), 2);
    // Unknown kids right after do not fetch again: a's key is gone and stays refused.
    for _ in 0..5 {
        assert!(verify(&auth, &a.token()).await.is_err());
    }
    assert_eq!(provider.fetches(), 2, "at most one fetch per interval");

    // The provider fails: an unknown kid tries once, and the keys we have still verify.
    tokio::time::sleep(min_refetch).await;
    *provider.failing.lock().expect("lock") = true;
    assert!(verify(&auth, &c.token()).await.is_err());
    assert_eq!(provider.fetches(), 3);
    assert!(verify(&auth, &b.token()).await.is_ok(), "old keys are kept");

    // Back again with c: c verifies after the interval.
    *provider.failing.lock().expect("lock") = false;
    provider.publish(&[&b, &c]);
    tokio::time::sleep(min_refetch).await;
    assert!(verify(&auth, &c.token()).await.is_ok());
    assert!(verify(&auth, &b.token()).await.is_ok());
}

#[tokio::test]
async fn start_up_fetches_the_jwks_and_refuses_ambiguous_keys() {
    let provider = Provider::default();
    let url = provider.serve().await;
    let a = SigningKey::new("a");
    provider.publish(&[&a]);
    let settings = AuthSettings {
        mode: Some(Mode::Jwt),
        jwks_url: Some(url),
        ..AuthSettings::default()
    };
    let loopback = SocketAddr::from(([127, 0, 0, 1], 8080));
    let auth = settings.authenticator(loopback).await.expect("starts");
    assert_eq!(provider.fetches(), 1, "fetched at start");
    assert!(verify(&auth, &a.token()).await.is_ok());
    let ambiguous = AuthSettings {
        secret: Some(auth::testing::SECRET.into()),
        ..settings
    };
    assert!(ambiguous.authenticator(loopback).await.is_err());
}
