//! Subscriptions (and queries) over WebSocket: `graphql-transport-ws` and `graphql-ws`,
//! for pages of allowed origins; the token is checked before GraphQL sees a message, and
//! its expiry, slow subscribers and shutdown close the socket.

use std::time::Duration;

use async_graphql::http::{WebSocket as GraphQLWebSocket, WebSocketProtocols, WsMessage};
use async_graphql::Data;
use auth::{Authenticator, Caller, Unauthenticated};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{future, stream, SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::watch;

use super::media::refuse;
use super::{Service, FORBIDDEN, GOING_AWAY, INIT_TIMEOUT, MAX_BODY, SEND_TIMEOUT, TOO_SLOW};
use crate::schema::OmsSchema;
use crate::subscription::{expiry, TooSlow};

pub(super) async fn subscribe(
    State(service): State<Service>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if !auth::origins::allowed(&headers, &service.options.allowed_origins) {
        return refuse(
            StatusCode::FORBIDDEN,
            "FORBIDDEN_ORIGIN",
            "this origin may not open /graphql/ws (see OMS_ALLOWED_ORIGINS)",
        )
        .into_response();
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => {
            return refuse(
                rejection.status(),
                "WEBSOCKET_REQUIRED",
                format!(
                    "/graphql/ws speaks graphql-transport-ws over WebSocket: {}",
                    rejection.body_text()
                ),
            )
            .into_response()
        }
    };
    let upgrade = upgrade
        .protocols(["graphql-transport-ws", "graphql-ws"])
        .max_message_size(MAX_BODY);
    let protocol = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(WebSocketProtocols::GraphQLWS);
    let shutdown = service.options.shutdown.clone();
    let auth = service.options.auth.clone();
    let upgrade_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    upgrade
        .on_upgrade(move |socket| async move {
            if let Some((socket, first, caller)) = admit(socket, &auth, upgrade_token).await {
                serve_socket(socket, first, caller, service.schema, protocol, shutdown).await;
            }
        })
        .into_response()
}

/// Authenticates a socket before any of its messages reaches GraphQL: the token of its
/// `connection_init` payload (`{"Authorization": "Bearer <JWT>"}`), else of the upgrade
/// request. A socket without a valid one is closed with [`FORBIDDEN`] and `None` returned;
/// otherwise the socket, the `connection_init` read from it (to hand on), and the caller.
async fn admit(
    mut socket: WebSocket,
    auth: &Authenticator,
    upgrade_token: Option<String>,
) -> Option<(WebSocket, Option<Vec<u8>>, Caller)> {
    if !auth.is_on() {
        return Some((socket, None, Caller::open()));
    }
    let first = match tokio::time::timeout(INIT_TIMEOUT, next_payload(&mut socket)).await {
        Ok(Some(first)) => first,
        Ok(None) => return None,
        Err(_) => {
            let reason = "connection_init did not arrive in time";
            let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(close(4408, reason))).await;
            return None;
        }
    };
    let token = init_token(&first).or(upgrade_token);
    let caller = match token {
        Some(token) => auth.authenticate_value(&token).await,
        None => Err(Unauthenticated::missing()),
    };
    match caller {
        Ok(caller) => Some((socket, Some(first), caller)),
        Err(refusal) => {
            let reason = format!("Forbidden: {}", refusal.reason);
            let _ =
                tokio::time::timeout(SEND_TIMEOUT, socket.send(close(FORBIDDEN, &reason))).await;
            None
        }
    }
}

/// The next text or binary message's bytes; `None` once the socket closed.
async fn next_payload(socket: &mut WebSocket) -> Option<Vec<u8>> {
    loop {
        match socket.recv().await? {
            Ok(Message::Text(text)) => return Some(text.as_bytes().to_vec()),
            Ok(Message::Binary(bytes)) => return Some(bytes.to_vec()),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(Message::Close(_)) | Err(_) => return None,
        }
    }
}

/// The `Authorization` of a `connection_init` message's payload (any case of the key).
fn init_token(message: &[u8]) -> Option<String> {
    let message: Value = serde_json::from_slice(message).ok()?;
    if message.get("type")?.as_str()? != "connection_init" {
        return None;
    }
    message
        .get("payload")?
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("authorization"))
        .and_then(|(_, value)| value.as_str())
        .map(str::to_owned)
}

/// Completes when `shutdown` turns true (never, without one).
async fn shutting_down(shutdown: Option<watch::Receiver<bool>>) {
    match shutdown {
        Some(mut shutdown) => {
            if shutdown.wait_for(|stop| *stop).await.is_err() {
                future::pending::<()>().await;
            }
        }
        None => future::pending().await,
    }
}

async fn serve_socket(
    socket: WebSocket,
    first: Option<Vec<u8>>,
    caller: Caller,
    schema: OmsSchema,
    protocol: WebSocketProtocols,
    shutdown: Option<watch::Receiver<bool>>,
) {
    let (mut sink, incoming) = socket.split();
    let incoming = incoming
        .take_while(|message| future::ready(message.is_ok()))
        .filter_map(|message| {
            future::ready(match message {
                Ok(Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Ok(Message::Binary(bytes)) => Some(bytes.to_vec()),
                _ => None,
            })
        });
    let incoming = stream::iter(first).chain(incoming);
    // Subscriptions end (complete) when the token expires; a moment later the socket
    // closes with FORBIDDEN.
    let expired = expiry(caller.expires_at.map(|at| at + Duration::from_millis(250)));
    futures_util::pin_mut!(expired);
    let too_slow = TooSlow::default();
    let mut data = Data::default();
    data.insert(too_slow.clone());
    data.insert(caller);
    let outgoing = GraphQLWebSocket::new(schema, incoming, protocol).connection_data(data);
    futures_util::pin_mut!(outgoing);
    let going_away = shutting_down(shutdown);
    futures_util::pin_mut!(going_away);
    loop {
        let message = tokio::select! {
            message = outgoing.next() => message,
            () = &mut going_away => {
                let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close(GOING_AWAY, "the server is shutting down"))).await;
                return;
            }
            () = &mut expired => {
                let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close(FORBIDDEN, "Forbidden: the token expired"))).await;
                return;
            }
            () = too_slow.0.notified() => {
                let _ = tokio::time::timeout(SEND_TIMEOUT, sink.send(close(TOO_SLOW, "subscriber too slow: updates were dropped"))).await;
                return;
            }
        };
        let message = match message {
            Some(WsMessage::Text(text)) => Message::Text(text.into()),
            Some(WsMessage::Close(code, reason)) => close(code, &reason),
            None => return,
        };
        let closing = matches!(message, Message::Close(_));
        match tokio::time::timeout(SEND_TIMEOUT, sink.send(message)).await {
            Ok(Ok(())) if !closing => {}
            Ok(_) => return,
            Err(_stuck) => {
                tracing::info!("dropping a subscriber that stopped reading");
                return;
            }
        }
    }
}

/// A close frame; its reason cut to the 123 bytes a frame can carry.
fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}
