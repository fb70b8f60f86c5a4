//! The command API in this process: requests go through the same router, validation,
//! decisions and transactions as `POST`s over HTTP, without a socket in between.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt as _;

/// A command response body is far below this.
const MAX_RESPONSE: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub(super) struct Commands {
    router: Router,
}

impl Commands {
    pub(super) fn new(router: Router) -> Self {
        Self { router }
    }

    /// POSTs `body` to `path`; a refusal is an error naming the route and the problem.
    pub(super) async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(body)?))?;
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), MAX_RESPONSE).await?;
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        anyhow::ensure!(
            status == StatusCode::OK || status == StatusCode::CREATED,
            "POST {path} answered {status}: {answer}"
        );
        Ok(answer)
    }

    /// A POST of `body` to `path` to run later, answering nothing.
    pub(super) fn posting(
        &self,
        path: String,
        body: Value,
    ) -> impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static {
        let commands = self.clone();
        async move { commands.post(&path, &body).await.map(drop) }
    }

    /// POSTs and returns the answer's string field `key` (an id).
    pub(super) async fn post_for(
        &self,
        path: &str,
        body: &Value,
        key: &str,
    ) -> anyhow::Result<String> {
        let answer = self.post(path, body).await?;
        answer[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("POST {path} answered without {key}: {answer}"))
    }
}
