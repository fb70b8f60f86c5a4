//! `GET /openapi.json` documents every command route, body, response and problem type.

mod support;

use axum::body::Body;
use axum::http::Request;
use command_api::error::PROBLEMS;
use support::Api;

#[tokio::test]
async fn the_document_covers_every_route_and_problem() {
    let api = Api::new().await;
    let doc = api
        .send(
            Request::get("/openapi.json")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = [
        ("/customers", "201", "RegisterCustomerInput"),
        ("/customers/{id}/rename", "200", "RenameCustomerInput"),
        ("/customers/{id}/change-email", "200", "ChangeEmailInput"),
        ("/customers/{id}/addresses", "201", "AddAddressInput"),
        ("/products", "201", "DefineProductInput"),
        ("/products/{id}/change-price", "200", "ChangePriceInput"),
        ("/products/{id}/restock", "200", "RestockInput"),
        ("/orders", "201", "PlaceOrderInput"),
        ("/orders/{id}/pay", "200", "PayOrderInput"),
        ("/orders/{id}/cancel", "200", "CancelOrderInput"),
        ("/shipments/{id}/dispatch", "200", "DispatchShipmentInput"),
        ("/shipments/{id}/deliver", "200", "DeliverInput"),
    ];
    assert_eq!(
        doc["paths"].as_object().map(|p| p.len()),
        Some(routes.len())
    );
    for (path, success, body) in routes {
        let operation = &doc["paths"][path]["post"];
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"]["$ref"];
        assert_eq!(
            schema.as_str(),
            Some(format!("#/components/schemas/{body}").as_str()),
            "{path}"
        );
        assert!(
            doc["components"]["schemas"][body].is_object(),
            "{body} is described"
        );
        assert!(
            operation["responses"][success]["headers"]["ETag"].is_object(),
            "{path}"
        );
        assert_eq!(
            operation["security"],
            serde_json::json!([{"bearer": []}]),
            "{path} needs a bearer token"
        );
        assert!(
            operation["description"]
                .as_str()
                .is_some_and(|d| d.contains("Roles: admin")),
            "{path} names its roles"
        );
        for status in ["400", "401", "403", "413", "415", "422", "503"] {
            let problem = &operation["responses"][status]["content"]["application/problem+json"]
                ["schema"]["$ref"];
            assert_eq!(problem, "#/components/schemas/Problem", "{path} {status}");
        }
        let headers: Vec<&str> = operation["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(
            headers.contains(&"Idempotency-Key") && headers.contains(&"If-Match"),
            "{path}"
        );
    }
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (
            bearer["type"].as_str(),
            bearer["scheme"].as_str(),
            bearer["bearerFormat"].as_str()
        ),
        (Some("http"), Some("bearer"), Some("JWT"))
    );
    let catalogue = doc["components"]["schemas"]["Problem"]["description"]
        .as_str()
        .expect("problem catalogue");
    for &command_api::error::ProblemType { slug, status, .. } in PROBLEMS {
        assert!(
            catalogue.contains(&format!("`{slug}` ({status})")),
            "{slug} is documented"
        );
    }
    assert!(doc["components"]["schemas"]["Problem"]["properties"]["type"].is_object());
}
