//! How browser pages reach the command routes and GraphQL: CORS for the origins of
//! `OMS_ALLOWED_ORIGINS` (preflight included, by tower-http), and `403` for a request
//! from any other page's origin (its own origin and requests without `Origin` pass).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use command_api::ApiError;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// `router` served to the pages of its own origin and of `allowed` only.
pub fn guarded(router: Router, allowed: &[String]) -> Router {
    let allowed: Arc<[String]> = allowed.iter().map(|o| o.trim().to_owned()).collect();
    router
        .layer(cors(&allowed))
        .layer(middleware::from_fn_with_state(
            allowed,
            refuse_other_origins,
        ))
}

fn cors(allowed: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = allowed
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin.trim_end_matches('/')).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            ACCEPT,
            AUTHORIZATION,
            CONTENT_TYPE,
            IF_MATCH,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("oms-min-position"),
        ])
        .expose_headers([
            ETAG,
            WWW_AUTHENTICATE,
            HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(Duration::from_secs(600))
}

async fn refuse_other_origins(
    State(allowed): State<Arc<[String]>>,
    request: Request,
    next: Next,
) -> Response {
    if auth::origins::allowed(request.headers(), &allowed) {
        next.run(request).await
    } else {
        ApiError::Forbidden(
            "pages of this origin may not call this service (see OMS_ALLOWED_ORIGINS)".into(),
        )
        .into_response()
    }
}
