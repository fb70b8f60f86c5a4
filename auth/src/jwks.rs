//! Keys from a JWKS document (`OMS_JWKS_URL`), as identity providers publish them.
//!
//! The keys are fetched at start and kept. A token naming an unknown `kid` (the provider
//! rotated its keys) fetches the document again, at most once per [`Jwks::min_refetch`]
//! whatever the traffic, so forged `kid`s cannot make us hammer the provider. A fetch
//! that fails keeps the keys we have.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use tokio::sync::{Mutex, RwLock};

use crate::keys::Key;

/// The default for [`Jwks::min_refetch`].
pub const MIN_REFETCH: Duration = Duration::from_secs(10);

/// How long one fetch of the document may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest document taken.
const MAX_DOCUMENT: usize = 1024 * 1024;

/// A JWKS document's signing keys, by `kid`.
#[derive(Debug)]
pub struct Jwks {
    url: String,
    client: reqwest::Client,
    /// The least time between two fetches.
    min_refetch: Duration,
    keys: RwLock<Keys>,
    /// Held while fetching: concurrent unknown `kid`s wait for one fetch.
    fetching: Mutex<Option<Instant>>,
}

#[derive(Debug, Default)]
struct Keys {
    by_kid: HashMap<String, Arc<Key>>,
    /// Keys without a `kid`: usable only by tokens without one, when alone.
    unnamed: Vec<Arc<Key>>,
}

impl Keys {
    fn find(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        match kid {
            Some(kid) => self.by_kid.get(kid).cloned(),
            None => match (self.by_kid.len(), self.unnamed.as_slice()) {
                (0, [only]) => Some(only.clone()),
                (1, []) => self.by_kid.values().next().cloned(),
                _ => None,
            },
        }
    }
}

impl Jwks {
    /// Keys from `url`, fetched on first use (see [`Jwks::refresh`] to fetch now).
    pub fn new(url: &str, min_refetch: Duration) -> Result<Self, String> {
        crate::install_crypto();
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("OMS_JWKS_URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("OMS_JWKS_URL must be an http or https URL".into());
        }
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| format!("cannot build the JWKS client: {e}"))?;
        Ok(Self {
            url: url.to_owned(),
            client,
            min_refetch,
            keys: RwLock::default(),
            fetching: Mutex::new(None),
        })
    }

    /// The key a token with this `kid` names: a known one, else (an unknown `kid`) the
    /// document is fetched again if the last fetch is old enough.
    pub async fn key(&self, kid: Option<&str>) -> Option<Arc<Key>> {
        if let Some(key) = self.keys.read().await.find(kid) {
            return Some(key);
        }
        let mut last = self.fetching.lock().await;
        // A fetch that ran while we waited may have brought it.
        if let Some(key) = self.keys.read().await.find(kid) {
            return Some(key);
        }
        if last.is_some_and(|at| at.elapsed() < self.min_refetch) {
            return None;
        }
        *last = Some(Instant::now());
        if let Err(error) = self.fetch().await {
            tracing::warn!(url = %self.url, %error, "fetching the JWKS failed; keeping the keys we have");
        }
        self.keys.read().await.find(kid)
    }

    /// Fetches the document now (at start-up); the error says why it failed.
    pub async fn refresh(&self) -> Result<usize, String> {
        let mut last = self.fetching.lock().await;
        *last = Some(Instant::now());
        self.fetch().await
    }

    async fn fetch(&self) -> Result<usize, String> {
        let response = self
            .client
            .get(&self.url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("the JWKS URL answered {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT as u64)
        {
            return Err("the JWKS document is over 1 MiB".into());
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > MAX_DOCUMENT {
            return Err("the JWKS document is over 1 MiB".into());
        }
        let set: JwkSet =
            serde_json::from_slice(&body).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Keys::default();
        for (kid, key) in set.keys.iter().filter_map(Key::jwk) {
            match kid {
                Some(kid) => {
                    keys.by_kid.insert(kid, Arc::new(key));
                }
                None => keys.unnamed.push(Arc::new(key)),
            }
        }
        let count = keys.by_kid.len() + keys.unnamed.len();
        if count == 0 {
            return Err("the JWKS document has no signing key we can use".into());
        }
        *self.keys.write().await = keys;
        tracing::info!(url = %self.url, keys = count, "JWKS keys loaded");
        Ok(count)
    }
}
