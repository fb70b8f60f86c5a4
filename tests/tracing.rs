//! OpenTelemetry export: with OTEL_EXPORTER_OTLP_ENDPOINT set, `oms serve` sends its
//! spans over OTLP/HTTP to a receiver run by this test: the request's span continues the
//! caller's `traceparent`, the append is its child, and the projector batches that applied
//! the events are exported too.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use event_store::testing::TestDatabase;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use support::{data_dir, http, oms, Server};

type Received = Arc<Mutex<Vec<(String, Span)>>>;

/// An OTLP/HTTP trace receiver: every span with its resource's service name.
async fn receiver() -> (std::net::SocketAddr, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/v1/traces",
            post(|State(received): State<Received>, body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let mut received = received.lock().expect("lock");
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| a.value.as_ref()?.value.as_ref())
                        .map(|v| match v {
                            AnyValue::StringValue(s) => s.clone(),
                            other => format!("{other:?}"),
                        })
                        .unwrap_or_default();
                    for spans in resource.scope_spans {
                        for span in spans.spans {
                            received.push((service.clone(), span));
                        }
                    }
                }
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, received)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_of_the_request_the_append_and_the_batches_reach_the_collector() {
    let (collector, received) = receiver().await;
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let mut command = oms(dir.path());
    command
        .env("DATABASE_URL", &db.url)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_BSP_SCHEDULE_DELAY", "100");
    let server = Server::start(command);

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let body =
        r#"{"sku":"TRACE-1","name":"Lamp","price":{"amount":"9.90","currency":"EUR"},"stock":1}"#;
    let addr = server.addr;
    let (status, _, _) = tokio::task::spawn_blocking(move || {
        http(
            addr,
            "POST",
            "/products",
            &[
                ("content-type", "application/json"),
                ("traceparent", &format!("00-{trace}-{caller_span}-01")),
            ],
            body,
        )
    })
    .await
    .expect("request");
    assert_eq!(status, 201);

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let spans = received.lock().expect("lock").clone();
        let request = spans
            .iter()
            .map(|(_, s)| s)
            .find(|s| s.name == "POST /products" && hex(&s.trace_id) == trace);
        let batch = spans.iter().any(|(_, s)| {
            s.name == "projection batch"
                && s.attributes.iter().any(|a| {
                    a.key == "projection"
                        && a.value.as_ref().and_then(|v| v.value.as_ref())
                            == Some(&AnyValue::StringValue("products".into()))
                })
        });
        if let (Some(request), true) = (request, batch) {
            assert_eq!(hex(&request.parent_span_id), caller_span, "{request:?}");
            let append = spans
                .iter()
                .map(|(_, s)| s)
                .find(|s| s.name == "append" && hex(&s.trace_id) == trace)
                .expect("the append's span in the request's trace");
            assert_eq!(append.parent_span_id, request.span_id);
            assert!(spans.iter().all(|(service, _)| service == "oms"));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "spans never arrived; got {:?}",
            spans.iter().map(|(_, s)| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
