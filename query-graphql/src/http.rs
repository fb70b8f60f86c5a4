//! GraphQL over HTTP (the GraphQL-over-HTTP specification) and over WebSocket
//! (`graphql-transport-ws`, and the older `graphql-ws`), and the GraphiQL page.
//!
//! - `POST /graphql` takes `application/json`; `GET /graphql?query=…` serves queries
//!   only (a mutation over GET is 405). A body that is not a GraphQL request is 400, a
//!   body over [`MAX_BODY`] 413, another content type 415, an `Accept` that allows
//!   neither JSON type 406.
//! - `Accept: application/graphql-response+json` gets that type and the specification's
//!   status codes: 400 when the request failed before execution (parse, validation,
//!   limits), 503 for `CONSISTENCY_TIMEOUT` and an unreachable database; otherwise 200.
//!   `application/json` answers every well-formed request with 200.
//! - `GET /graphql` from a browser (`Accept: text/html`) is GraphiQL.
//! - `/graphql/ws`: a subscriber whose outbox stays full for [`SEND_TIMEOUT`], or whose
//!   subscription falls behind the hub's backlog, is closed with [`TOO_SLOW`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::{WebSocket as GraphQLWebSocket, WebSocketProtocols, WsMessage};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Data, Variables};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{future, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::consistency::{Executed, MinPosition};
use crate::documents::Documents;
use crate::errors::{BAD_USER_INPUT, CONSISTENCY_TIMEOUT, SERVICE_UNAVAILABLE};
use crate::schema::OmsSchema;
use crate::subscription::TooSlow;

/// The largest request body (and WebSocket message) taken.
pub const MAX_BODY: usize = 64 * 1024;

/// How long a subscriber may leave its socket unread before it is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The close code for a subscriber that cannot keep up (policy violation).
pub const TOO_SLOW: u16 = 1008;

/// The request header that asks for read-your-writes.
pub const MIN_POSITION_HEADER: &str = "oms-min-position";

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The close code sent to subscribers when the server shuts down (going away).
pub const GOING_AWAY: u16 = 1001;

/// How the service meets browsers and its own shutdown.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Origins besides the service's own that may open `/graphql/ws`
    /// (`OMS_ALLOWED_ORIGINS`), like `https://shop.example`. A request without `Origin`
    /// (not from a browser) is not restricted.
    pub allowed_origins: Vec<String>,
    /// Turns `true` when the process shuts down: open sockets are closed with
    /// [`GOING_AWAY`].
    pub shutdown: Option<watch::Receiver<bool>>,
}

/// What the handlers share.
#[derive(Clone)]
struct Service {
    schema: OmsSchema,
    documents: Arc<Documents>,
    options: Arc<Options>,
}

/// `/graphql` and `/graphql/ws` for `schema`.
pub fn router(schema: OmsSchema, options: Options) -> Router {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .route("/graphql/ws", get(subscribe))
        .with_state(Service {
            schema,
            documents: Arc::default(),
            options: Arc::new(options),
        })
}

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

/// A GraphQL-over-HTTP request body.
/// (`extensions` and other members are accepted and ignored.)
#[derive(Debug, Deserialize)]
struct Params {
    query: String,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Option<serde_json::Map<String, Value>>,
}

/// Which JSON type the client reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    Json,
    GraphQLResponse,
}

/// An error outside GraphQL execution: the request itself is unusable.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> Refusal {
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

async fn post_graphql(State(service): State<Service>, headers: HeaderMap, body: Body) -> Response {
    let flavour = match flavour(&headers) {
        Ok(flavour) => flavour,
        Err(refused) => return refused.into_response(),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if content_type.as_deref() != Some("application/json") {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the GraphQL request as application/json",
        )
        .into_response();
    }
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("the request body is over {} KiB", MAX_BODY / 1024),
            )
            .into_response()
        }
    };
    let params: Params = match serde_json::from_slice(&bytes) {
        Ok(params) => params,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "MALFORMED_REQUEST",
                format!("not a GraphQL request: {error}"),
            )
            .into_response()
        }
    };
    execute(&service, &headers, &Method::POST, params, flavour).await
}

async fn get_graphql(
    State(service): State<Service>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "MALFORMED_REQUEST",
            "the query string is not valid URL-encoded UTF-8",
        )
        .into_response();
    };
    if !query.contains_key("query") && wants_html(&headers) {
        return Html(include_str!("graphiql.html")).into_response();
    }
    let flavour = match flavour(&headers) {
        Ok(flavour) => flavour,
        Err(refused) => return refused.into_response(),
    };
    let Some(text) = query.get("query") else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "MALFORMED_REQUEST",
            "a GET request needs the query in ?query=",
        )
        .into_response();
    };
    let json_param = |name: &str| -> Result<Option<serde_json::Map<String, Value>>, Refusal> {
        match query.get(name).map(|v| serde_json::from_str(v)).transpose() {
            Ok(value) => Ok(value),
            Err(_) => Err(refuse(
                StatusCode::BAD_REQUEST,
                "MALFORMED_REQUEST",
                format!("?{name}= must be a JSON object"),
            )),
        }
    };
    let params = match json_param("variables") {
        Ok(variables) => Params {
            query: text.clone(),
            operation_name: query.get("operationName").cloned(),
            variables,
        },
        Err(refused) => return refused.into_response(),
    };
    execute(&service, &headers, &Method::GET, params, flavour).await
}

/// Whether `document` names, as the operation to run, a query (not a mutation or
/// subscription).
fn is_query_operation(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    let operation = match operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))
            .map(|(_, op)| op),
        None => document.operations.iter().next().map(|(_, op)| op),
    };
    operation.is_none_or(|op| op.node.ty == OperationType::Query)
}

async fn execute(
    service: &Service,
    headers: &HeaderMap,
    method: &Method,
    params: Params,
    flavour: Flavour,
) -> Response {
    let document = service.documents.parse(&params.query);
    if method == Method::GET
        && document
            .as_ref()
            .is_some_and(|d| !is_query_operation(d, params.operation_name.as_deref()))
    {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "only queries are served over GET; POST mutations",
        )
        .into_response();
    }
    let mut request = async_graphql::Request::new(params.query);
    if let Some(document) = &document {
        request.set_parsed_query(ExecutableDocument::clone(document));
    }
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    match min_position(headers) {
        Ok(Some(min)) => request = request.data(MinPosition(min)),
        Ok(None) => {}
        Err(message) => {
            let status = match flavour {
                Flavour::Json => StatusCode::OK,
                Flavour::GraphQLResponse => StatusCode::BAD_REQUEST,
            };
            let body =
                json!({"errors": [{"message": message, "extensions": {"code": BAD_USER_INPUT}}]});
            return respond(status, flavour, &body);
        }
    }
    let executed = Executed::default();
    request = request.data(executed.clone());
    let mut response = service.schema.execute(request).await;
    if let Some(document) = &document {
        crate::order::in_selection_order(
            document,
            params.operation_name.as_deref(),
            &mut response.data,
        );
    }
    let started = executed.0.load(Ordering::Acquire);
    let body = Answer {
        // A request error (no execution) has no `data` entry.
        data: started.then_some(&response.data),
        errors: &response.errors,
        extensions: &response.extensions,
    };
    let status = if started {
        StatusCode::OK
    } else {
        match flavour {
            Flavour::Json => StatusCode::OK,
            Flavour::GraphQLResponse => {
                let unavailable = response.errors.iter().any(|e| {
                    e.extensions
                        .as_ref()
                        .and_then(|x| x.get("code"))
                        .is_some_and(|code| {
                            *code == async_graphql::Value::from(CONSISTENCY_TIMEOUT)
                                || *code == async_graphql::Value::from(SERVICE_UNAVAILABLE)
                        })
                });
                if unavailable {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::BAD_REQUEST
                }
            }
        }
    };
    respond(status, flavour, &body)
}

/// A response as GraphQL over HTTP sends it.
#[derive(Serialize)]
struct Answer<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, async_graphql::Value>,
}

fn respond(status: StatusCode, flavour: Flavour, body: &impl Serialize) -> Response {
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

fn min_position(headers: &HeaderMap) -> Result<Option<i64>, String> {
    let Some(value) = headers.get(MIN_POSITION_HEADER) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| "OMS-Min-Position must be a log position: a whole number >= 0".to_owned())
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

fn flavour(headers: &HeaderMap) -> Result<Flavour, Refusal> {
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

fn wants_html(headers: &HeaderMap) -> bool {
    accepted(headers).is_some_and(|accepted| {
        accepted
            .iter()
            .any(|(media, q)| media == "text/html" && *q > 0.0)
    })
}

async fn subscribe(
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
