//! Content negotiation (`Accept`) and writing answers in the type the client reads.

use std::collections::BTreeMap;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

pub(super) const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// Which JSON type the client reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    Json,
    GraphQLResponse,
}

/// An error outside GraphQL execution: the request itself is unusable.
#[derive(Debug)]
pub(super) struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

pub(super) fn refuse(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> Refusal {
    Refusal {
        status,
        code,
        message: message.into(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body =
            json!({"errors": [{"message": self.message, "extensions": {"code": self.code}}]});
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response();
        if self.status == StatusCode::METHOD_NOT_ALLOWED {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

/// A response as GraphQL over HTTP sends it.
#[derive(Serialize)]
pub(super) struct Answer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub(super) errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) extensions: &'a BTreeMap<String, async_graphql::Value>,
}

pub(super) fn respond(status: StatusCode, flavour: Flavour, body: &impl Serialize) -> Response {
    let content_type = match flavour {
        Flavour::Json => "application/json",
        Flavour::GraphQLResponse => GRAPHQL_RESPONSE_JSON,
    };
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(error) => {
            tracing::error!(%error, "could not serialise a GraphQL response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The media types of `Accept` with their weights.
fn accepted(headers: &HeaderMap) -> Option<Vec<(String, f32)>> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    Some(
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let media = parts.next()?.trim().to_ascii_lowercase();
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!media.is_empty()).then_some((media, q))
            })
            .collect(),
    )
}

pub(super) fn flavour(headers: &HeaderMap) -> Result<Flavour, Refusal> {
    let Some(accepted) = accepted(headers) else {
        return Ok(Flavour::Json);
    };
    let q = |wanted: &[&str]| {
        accepted
            .iter()
            .filter(|(media, _)| wanted.contains(&media.as_str()))
            .map(|(_, q)| *q)
            .fold(0.0_f32, f32::max)
    };
    let graphql = q(&[GRAPHQL_RESPONSE_JSON]);
    let json = q(&["application/json", "application/*", "*/*"]);
    if graphql > 0.0 && graphql >= json {
        Ok(Flavour::GraphQLResponse)
    } else if json > 0.0 {
        Ok(Flavour::Json)
    } else {
        Err(refuse(
            StatusCode::NOT_ACCEPTABLE,
            "NOT_ACCEPTABLE",
            format!("answers are {GRAPHQL_RESPONSE_JSON} or application/json"),
        ))
    }
}

pub(super) fn wants_html(headers: &HeaderMap) -> bool {
    accepted(headers).is_some_and(|accepted| {
        accepted
            .iter()
            .any(|(media, q)| media == "text/html" && *q > 0.0)
    })
}
