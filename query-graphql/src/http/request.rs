//! GraphQL over HTTP: `POST /graphql` and `GET /graphql`, read into a GraphQL request and
//! executed; GraphiQL for a browser's `GET`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::Variables;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::media::{flavour, refuse, respond, wants_html, Answer, Flavour, Refusal};
use super::{Service, MAX_BODY, MIN_POSITION_HEADER};
use crate::consistency::{Executed, MinPosition};
use crate::errors::{BAD_USER_INPUT, CONSISTENCY_TIMEOUT, SERVICE_UNAVAILABLE, UNAUTHENTICATED};

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

pub(super) async fn post(
    State(service): State<Service>,
    headers: HeaderMap,
    body: Body,
) -> Response {
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

pub(super) async fn get(
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
        return super::page::graphiql();
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

/// The type of the operation `document` runs (the one named, else its only one).
fn operation_type(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<OperationType> {
    let operation = match operation_name {
        Some(name) => document
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))
            .map(|(_, op)| op),
        None => document.operations.iter().next().map(|(_, op)| op),
    };
    operation.map(|op| op.node.ty)
}

/// How metrics name an operation type.
fn operation_label(ty: Option<OperationType>) -> &'static str {
    match ty {
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        Some(OperationType::Query) | None => "query",
    }
}

async fn execute(
    service: &Service,
    headers: &HeaderMap,
    method: &Method,
    params: Params,
    flavour: Flavour,
) -> Response {
    let document = service.documents.parse(&params.query);
    let ty = document
        .as_ref()
        .and_then(|d| operation_type(d, params.operation_name.as_deref()));
    let operation = operation_label(ty);
    if method == Method::GET && ty.is_some_and(|ty| ty != OperationType::Query) {
        crate::metrics::request(operation, "refused");
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "only queries are served over GET; POST mutations",
        )
        .into_response();
    }
    let caller = match service.options.auth.authenticate(headers).await {
        Ok(caller) => caller,
        Err(refusal) => {
            crate::metrics::request(operation, "refused");
            return unauthenticated(flavour, &refusal);
        }
    };
    let operation_name = params.operation_name.clone();
    let executed = Executed::default();
    let request = match graphql_request(params, document.as_deref(), headers) {
        Ok(request) => request.data(executed.clone()).data(caller),
        Err(message) => {
            let body =
                json!({"errors": [{"message": message, "extensions": {"code": BAD_USER_INPUT}}]});
            crate::metrics::request(operation, "refused");
            return respond(refused_status(flavour), flavour, &body);
        }
    };
    let mut response = service.schema.execute(request).await;
    if let Some(document) = &document {
        crate::order::in_selection_order(document, operation_name.as_deref(), &mut response.data);
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
        unexecuted_status(flavour, &response.errors)
    };
    let outcome = match (started, response.errors.is_empty()) {
        (false, _) => "refused",
        (true, true) => "ok",
        (true, false) => "error",
    };
    crate::metrics::request(operation, outcome);
    respond(status, flavour, &body)
}

/// The GraphQL request of `params` (its query parsed already, when it parses), with the
/// request's `OMS-Min-Position`; `Err`: the header is malformed.
fn graphql_request(
    params: Params,
    document: Option<&ExecutableDocument>,
    headers: &HeaderMap,
) -> Result<async_graphql::Request, String> {
    let mut request = async_graphql::Request::new(params.query);
    if let Some(document) = document {
        request.set_parsed_query(document.clone());
    }
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(Value::Object(variables)));
    }
    if let Some(min) = min_position(headers)? {
        request = request.data(MinPosition(min));
    }
    Ok(request)
}

/// A request without a valid token (authentication on): `UNAUTHENTICATED`, HTTP 401 with
/// the bearer challenge, in either flavour.
fn unauthenticated(flavour: Flavour, refusal: &auth::Unauthenticated) -> Response {
    let body =
        json!({"errors": [{"message": refusal.reason, "extensions": {"code": UNAUTHENTICATED}}]});
    let mut response = respond(StatusCode::UNAUTHORIZED, flavour, &body);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, refusal.challenge());
    response
}

/// The status of a request refused before execution.
fn refused_status(flavour: Flavour) -> StatusCode {
    match flavour {
        Flavour::Json => StatusCode::OK,
        Flavour::GraphQLResponse => StatusCode::BAD_REQUEST,
    }
}

/// The status of a request that failed before execution: `application/json` answers
/// 200; `application/graphql-response+json` 503 when the wait for `OMS-Min-Position` or
/// the database failed, else 400.
fn unexecuted_status(flavour: Flavour, errors: &[async_graphql::ServerError]) -> StatusCode {
    let unavailable = errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|code| {
                *code == async_graphql::Value::from(CONSISTENCY_TIMEOUT)
                    || *code == async_graphql::Value::from(SERVICE_UNAVAILABLE)
            })
    });
    match flavour {
        Flavour::GraphQLResponse if unavailable => StatusCode::SERVICE_UNAVAILABLE,
        flavour => refused_status(flavour),
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
