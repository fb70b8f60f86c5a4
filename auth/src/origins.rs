//! Which browser pages may call the services: their own origin, and those of
//! `OMS_ALLOWED_ORIGINS`.

use axum::http::{header, HeaderMap};

/// Whether a request with `headers` may be served to its page: no `Origin` (not from a
/// browser, or a same-origin navigation), the service's own origin (the `Host` it talks
/// to), or one of `allowed` (like `https://shop.example`).
pub fn allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/');
    let same = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .is_some_and(|host| {
            origin.split_once("://").is_some_and(|(scheme, rest)| {
                matches!(scheme, "http" | "https") && rest.eq_ignore_ascii_case(host)
            })
        });
    same || allowed
        .iter()
        .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}
