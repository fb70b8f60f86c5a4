//! Subscriptions (and queries) over WebSocket: `graphql-transport-ws` and `graphql-ws`,
//! for pages of allowed origins; slow subscribers and shutdown close the socket.

use async_graphql::http::{WebSocket as GraphQLWebSocket, WebSocketProtocols, WsMessage};
use async_graphql::Data;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::{future, SinkExt, StreamExt};
use tokio::sync::watch;

use super::media::refuse;
use super::{Service, GOING_AWAY, MAX_BODY, SEND_TIMEOUT, TOO_SLOW};
use crate::schema::OmsSchema;
use crate::subscription::TooSlow;

/// Whether a browser page from `headers`' `Origin` may open a socket: its own origin (the
/// `Host` it talks to), one of `allowed`, or no `Origin` at all (not a browser).
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
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

pub(super) async fn subscribe(
    State(service): State<Service>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if !origin_allowed(&headers, &service.options.allowed_origins) {
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
    upgrade
        .on_upgrade(move |socket| serve_socket(socket, service.schema, protocol, shutdown))
        .into_response()
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
    let too_slow = TooSlow::default();
    let mut data = Data::default();
    data.insert(too_slow.clone());
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

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}
