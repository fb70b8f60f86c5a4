//! GraphQL over HTTP: methods, media types, status codes, limits, GraphiQL.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use support::{codes, Platform, Reply};

fn post(body: &str, accept: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.body(Body::from(body.to_owned())).expect("request")
}

fn get(query: &str, accept: Option<&str>) -> Request<Body> {
    let mut request = Request::get(format!(
        "/graphql?query={}",
        query
            .replace(' ', "%20")
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22")
    ));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    request.body(Body::empty()).expect("request")
}

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

#[track_caller]
fn expect(reply: &Reply, status: u16, content_type: &str) -> Value {
    assert_eq!(
        (reply.status.as_u16(), reply.content_type()),
        (status, content_type),
        "{reply:?}"
    );
    reply.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_over_get_and_post_in_either_json_flavour() {
    let platform = Platform::start().await;
    let body = json!({"query": "{ products { totalCount } }"}).to_string();
    for accept in [None, Some("application/json"), Some("*/*")] {
        let reply = platform.send(post(&body, accept)).await;
        let response = expect(&reply, 200, "application/json");
        assert_eq!(response["data"], json!({"products": {"totalCount": 0}}));
        assert!(response["extensions"]["position"].is_i64());
    }
    let accept = "application/graphql-response+json, application/json;q=0.9";
    let reply = platform.send(post(&body, Some(accept))).await;
    expect(&reply, 200, GRAPHQL_RESPONSE);
    let reply = platform
        .send(get("{ products { totalCount } }", None))
        .await;
    assert_eq!(
        expect(&reply, 200, "application/json")["data"]["products"]["totalCount"],
        0
    );

    // Variables and operation names, over GET too.
    let reply = platform
        .send(
            Request::get("/graphql?query=query%20A%7Bproducts%7BtotalCount%7D%7D%20query%20B(%24s%3AString!)%7Bproduct(sku%3A%24s)%7Bsku%7D%7D&operationName=B&variables=%7B%22s%22%3A%22X%22%7D")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(
        expect(&reply, 200, "application/json")["data"],
        json!({"product": null})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_the_specified_status_codes() {
    let platform = Platform::start().await;
    // Not a GraphQL request at all: 400 whatever the flavour.
    for body in [
        "{",
        "[]",
        "null",
        "\"{ products { totalCount } }\"",
        "{\"query\": 7}",
        "{\"variables\": {}}",
    ] {
        let reply = platform.send(post(body, None)).await;
        assert_eq!(
            codes(&expect(&reply, 400, "application/json")),
            ["MALFORMED_REQUEST"],
            "{body}"
        );
    }
    let reply = platform
        .send(
            Request::post("/graphql")
                .header("content-type", "text/plain")
                .body(Body::from("{ products { totalCount } }"))
                .expect("request"),
        )
        .await;
    assert_eq!(
        codes(&expect(&reply, 415, "application/json")),
        ["UNSUPPORTED_MEDIA_TYPE"]
    );
    let huge = json!({"query": format!("{{ products {{ totalCount }} }} #{}", "x".repeat(70_000))})
        .to_string();
    let reply = platform.send(post(&huge, None)).await;
    assert_eq!(
        codes(&expect(&reply, 413, "application/json")),
        ["PAYLOAD_TOO_LARGE"]
    );
    let body = json!({"query": "{ products { totalCount } }"}).to_string();
    let reply = platform.send(post(&body, Some("application/xml"))).await;
    assert_eq!(
        codes(&expect(&reply, 406, "application/json")),
        ["NOT_ACCEPTABLE"]
    );
    for uri in ["/graphql", "/graphql?query=%7Bx%7D&variables=%5B1%5D"] {
        let reply = platform
            .send(Request::get(uri).body(Body::empty()).expect("request"))
            .await;
        assert_eq!(
            codes(&expect(&reply, 400, "application/json")),
            ["MALFORMED_REQUEST"],
            "{uri}"
        );
    }
    // The WebSocket endpoint, asked without an upgrade, says what it speaks.
    let reply = platform
        .send(
            Request::get("/graphql/ws")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert!(reply.status.is_client_error(), "{reply:?}");
    assert_eq!(codes(&reply.json()), ["WEBSOCKET_REQUIRED"]);

    // Mutations are never served over GET.
    let reply = platform.send(get("mutation { x }", None)).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        reply.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );

    // Request errors: 200 with application/json, 400 with graphql-response+json, and no
    // `data` entry either way. A field error is a 200 with `data`.
    for (query, code) in [
        ("{ products { totalCount ", "GRAPHQL_PARSE_FAILED"),
        ("{ products { nope } }", "GRAPHQL_VALIDATION_FAILED"),
    ] {
        let body = json!({"query": query}).to_string();
        let legacy = expect(
            &platform.send(post(&body, None)).await,
            200,
            "application/json",
        );
        let modern = expect(
            &platform.send(post(&body, Some(GRAPHQL_RESPONSE))).await,
            400,
            GRAPHQL_RESPONSE,
        );
        for response in [legacy, modern] {
            assert_eq!(codes(&response), [code], "{query}");
            assert!(response.get("data").is_none(), "{response}");
            assert!(response["extensions"]["position"].is_i64(), "{response}");
        }
    }
    let body = json!({"query": "{ orders(first: 0) { totalCount } }"}).to_string();
    let response = expect(
        &platform.send(post(&body, Some(GRAPHQL_RESPONSE))).await,
        200,
        GRAPHQL_RESPONSE,
    );
    assert_eq!(codes(&response), ["BAD_USER_INPUT"]);
    assert_eq!(response["data"], Value::Null, "a field error keeps `data`");
}

/// `order` with `levels` more object fields nested below it (shipment, order, …) and `id`
/// at the bottom: a query `levels + 2` fields deep.
fn nested(levels: usize) -> String {
    let mut query = String::from("{ order(id: \"6b0f2d34-8a36-4c51-9f0e-2d5a7b0e4c11\") { ");
    for level in 0..levels {
        query.push_str(if level % 2 == 0 {
            "shipment { "
        } else {
            "order { "
        });
    }
    query.push_str("id");
    query.push_str(&" }".repeat(levels + 2));
    query
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_too_deep_or_too_complex_are_refused() {
    let platform = Platform::start().await;
    let deep = nested(9);
    let wide = "{ customers(first: 100) { edges { node { orders(first: 100) { edges { node { id status lines { sku } } } } } } } }";
    for query in [deep.as_str(), wide] {
        let response = platform.gql(query, json!({})).await;
        assert_eq!(codes(&response), ["QUERY_TOO_COMPLEX"], "{response}");
        assert!(response.get("data").is_none());
    }
    // At the limits: ten levels, and a full page of orders with their nested fields.
    let ten = nested(8);
    let page = "{ orders(first: 100) { totalCount edges { cursor node { id status itemCount placedAt
        customer { id name email } total { amount currency }
        lines { sku productName quantity unitPrice { amount currency } lineTotal { amount currency } }
        shipment { id status carrier trackingNumber } history { status at reason } } } } }";
    for query in [ten.as_str(), page] {
        let response = platform.gql(query, json!({})).await;
        assert!(response.get("errors").is_none(), "{query}: {response}");
    }
}

/// The schema query GraphiQL sends (graphql-js `getIntrospectionQuery`, with descriptions
/// and input value deprecation): through `ofType` it nests fifteen levels deep.
const GRAPHIQL_INTROSPECTION: &str = "query IntrospectionQuery { __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType } directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } } } }
  fragment FullType on __Type { kind name description specifiedByURL
    fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
    inputFields(includeDeprecated: true) { ...InputValue } interfaces { ...TypeRef }
    enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
  fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
  fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name } } } } } } } } } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_gets_the_schema_but_deep_reads_stay_refused() {
    let platform = Platform::start().await;
    let response = platform.gql(GRAPHIQL_INTROSPECTION, json!({})).await;
    assert!(response.get("errors").is_none(), "{response}");
    let types = response["data"]["__schema"]["types"]
        .as_array()
        .expect("types");
    assert!(types.iter().any(|t| t["name"] == "Order"), "{response}");
    // Beside a read, the introspection fields do not lift the read's depth limit.
    let deep_read = GRAPHIQL_INTROSPECTION.replacen(
        "__schema {",
        "orders(first: 1) { totalCount } __schema {",
        1,
    );
    let response = platform.gql(&deep_read, json!({})).await;
    assert_eq!(codes(&response), ["QUERY_TOO_COMPLEX"], "{response}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_gets_graphiql_wired_to_the_same_endpoints() {
    let platform = Platform::start().await;
    let reply = platform
        .send(
            Request::get("/graphql")
                .header(
                    "accept",
                    "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                )
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.content_type().starts_with("text/html"), "{reply:?}");
    assert!(reply.text.contains("Loading GraphiQL"));
    let csp = reply
        .headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self'"), "{csp}");

    // Every file the page names is served from the binary, nothing from elsewhere.
    let assets: Vec<&str> = reply
        .text
        .split(['"', '\''])
        .filter(|s| s.starts_with("graphql/assets/"))
        .collect();
    assert_eq!(assets.len(), 7, "{}", reply.text);
    assert!(!reply.text.contains("https://"), "{}", reply.text);
    let mut setup = String::new();
    for asset in assets {
        let file = platform
            .send(
                Request::get(format!("/{asset}"))
                    .body(Body::empty())
                    .expect("request"),
            )
            .await;
        assert_eq!(file.status, StatusCode::OK, "{asset}");
        let expected = if asset.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        assert!(
            file.content_type().starts_with(expected),
            "{asset}: {}",
            file.content_type()
        );
        if asset.ends_with("graphiql-setup.js") {
            setup = file.text;
        }
    }
    // The set-up wires GraphiQL to this service's /graphql and /graphql/ws.
    assert!(setup.contains("GraphiQL.createFetcher"), "{setup}");
    assert!(
        setup.contains("graphqlWs.createClient"),
        "subscriptions through graphql-ws"
    );
    assert!(setup.contains("'/ws'"), "{setup}");
    let missing = platform
        .send(
            Request::get("/graphql/assets/nothing.js")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
