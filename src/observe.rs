//! What every request leaves behind: an id (`X-Request-Id`: the caller's, or a new one;
//! answered back and recorded as the `correlation_id` of the events it causes), its W3C
//! trace context (`traceparent`) in the request's span, one access-log line, and the HTTP
//! metrics by route template.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use command_api::request::RequestId;
use metrics::{counter, histogram};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metrics::{HTTP_DURATION, HTTP_REQUESTS};

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: &str = "traceparent";

/// The longest `X-Request-Id` taken as it is; a longer or non-ASCII one is replaced.
pub const MAX_REQUEST_ID: usize = 128;

/// `app` with every route observed; call before the fallback is set, so that routes know
/// their template.
pub fn routes(app: Router) -> Router {
    app.route_layer(middleware::from_fn(remember_route))
}

/// `app` (with its fallback) with every request observed.
pub fn requests(app: Router) -> Router {
    app.layer(middleware::from_fn(observe))
}

/// Carries the matched route template out to [`observe`], which runs outside routing.
async fn remember_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

async fn observe(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(request.headers());
    let trace = TraceParent::parse(request.headers());
    let method = method_label(request.method());
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        otel.kind = "server",
        http.request.method = method,
        http.route = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        request_id = %id,
        trace_id = trace.as_ref().map(|t| t.trace_id.as_str()),
        parent_span_id = trace.as_ref().map(|t| t.parent_id.as_str()),
    );
    if let Some(parent) = trace.as_ref().and_then(TraceParent::context) {
        // Exported traces continue the caller's (when an exporter runs).
        let _ = span.set_parent(parent);
    }
    let mut response = next.run(request).instrument(span.clone()).await;
    let took = started.elapsed();
    let route = response
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |route| route.as_str())
        .to_owned();
    let status = response.status().as_u16();
    // Named by the route once it is known (OpenTelemetry's HTTP conventions).
    span.context()
        .span()
        .update_name(format!("{method} {route}"));
    span.record("http.route", route.as_str());
    span.record("http.response.status_code", status);
    span.in_scope(|| {
        tracing::info!(
            target: "oms::access",
            method,
            path,
            route,
            status,
            duration_ms = took.as_secs_f64() * 1e3,
            "request"
        );
    });
    counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status.to_string())
        .increment(1);
    histogram!(HTTP_DURATION, "route" => route, "method" => method).record(took.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

/// The caller's `X-Request-Id` when it is 1..=[`MAX_REQUEST_ID`] visible ASCII
/// characters, else a new UUID.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            (1..=MAX_REQUEST_ID).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// Metrics label of a method: the standard ones by name, any other as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        _ => "other",
    }
}

/// A valid W3C `traceparent` (version 00): the caller's trace and span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: String,
    pub parent_id: String,
    pub sampled: bool,
}

impl TraceParent {
    /// The request's `traceparent`, if it is valid; an invalid one is ignored, as the
    /// W3C Trace Context says.
    pub fn parse(headers: &HeaderMap) -> Option<Self> {
        let value = headers.get(TRACEPARENT)?.to_str().ok()?;
        let mut parts = value.trim().split('-');
        let (version, trace_id, parent_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let valid = version == "00"
            && parts.next().is_none()
            && hex(trace_id, 32)
            && trace_id.bytes().any(|b| b != b'0')
            && hex(parent_id, 16)
            && parent_id.bytes().any(|b| b != b'0')
            && hex(flags, 2);
        valid.then(|| Self {
            trace_id: trace_id.to_owned(),
            parent_id: parent_id.to_owned(),
            sampled: u8::from_str_radix(flags, 16).is_ok_and(|f| f & 1 == 1),
        })
    }

    /// The caller's span as an OpenTelemetry parent.
    fn context(&self) -> Option<opentelemetry::Context> {
        let flags = if self.sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        let span = SpanContext::new(
            TraceId::from_hex(&self.trace_id).ok()?,
            SpanId::from_hex(&self.parent_id).ok()?,
            flags,
            true,
            TraceState::default(),
        );
        Some(opentelemetry::Context::new().with_remote_span_context(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("name"),
            HeaderValue::from_str(value).expect("value"),
        );
        headers
    }

    #[test]
    fn a_valid_request_id_is_kept_and_a_bad_one_replaced() {
        assert_eq!(request_id(&headers("x-request-id", "abc-123")), "abc-123");
        for bad in ["has space", &"x".repeat(129), ""] {
            let id = request_id(&headers("x-request-id", bad));
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{bad:?} gave {id}");
        }
        assert!(uuid::Uuid::parse_str(&request_id(&HeaderMap::new())).is_ok());
    }

    #[test]
    fn traceparent_follows_the_w3c_format() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            TraceParent::parse(&headers(TRACEPARENT, good)),
            Some(TraceParent {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                parent_id: "00f067aa0ba902b7".into(),
                sampled: true,
            })
        );
        for bad in [
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        ] {
            assert_eq!(
                TraceParent::parse(&headers(TRACEPARENT, bad)),
                None,
                "{bad}"
            );
        }
    }
}
