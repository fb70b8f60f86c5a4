//! `GET /openapi.json` documents every command route, body, response and problem type.

mod support;

use axum::body::Body;
use axum::http::Request;
use command_api::error::PROBLEMS;
use support::Api;

/// `GET /openapi.json`.
async fn document() -> serde_json::Value {
    Api::new()
        .await
        .send(
            Request::get("/openapi.json")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect(200)
        .body
}

#[tokio::test]
async fn the_document_covers_every_route_and_problem() {
    let doc = document().await;
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

#[tokio::test]
async fn links_chain_created_ids_and_every_example_is_a_valid_request() {
    use domain::input::*;
    use serde::de::DeserializeOwned;

    let doc = document().await;
    let operations: Vec<&str> = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .filter_map(|item| item["post"]["operationId"].as_str())
        .collect();
    for (path, linked) in [
        ("/customers", &["rename", "change_email", "add_address"][..]),
        ("/products", &["change_price", "restock"][..]),
        ("/orders", &["pay", "cancel"][..]),
    ] {
        let links = &doc["paths"][path]["post"]["responses"]["201"]["links"];
        for operation in linked {
            assert!(operations.contains(operation), "{operation}");
            assert_eq!(links[operation]["operationId"], *operation, "{path}");
            assert_eq!(links[operation]["parameters"]["id"], "$response.body#/id");
        }
    }

    fn valid<T: DeserializeOwned>(doc: &serde_json::Value, name: &str, validate: fn(T) -> bool) {
        let schema = &doc["components"]["schemas"][name];
        let example = schema["example"].clone();
        assert!(example.is_object(), "{name} has an example");
        let input: T = serde_json::from_value(example).expect(name);
        assert!(
            validate(input),
            "{name}'s example is refused by the validation"
        );
        assert!(
            !schema["required"].as_array().is_none_or(Vec::is_empty) || name == "DeliverInput",
            "{name} names its required fields"
        );
    }
    valid(&doc, "RegisterCustomerInput", |i: RegisterCustomerInput| {
        i.validate().is_ok()
    });
    valid(&doc, "RenameCustomerInput", |i: RenameCustomerInput| {
        i.validate().is_ok()
    });
    valid(&doc, "ChangeEmailInput", |i: ChangeEmailInput| {
        i.validate().is_ok()
    });
    valid(&doc, "AddAddressInput", |i: AddAddressInput| {
        i.validate().is_ok()
    });
    valid(&doc, "DefineProductInput", |i: DefineProductInput| {
        i.validate().is_ok()
    });
    valid(&doc, "ChangePriceInput", |i: ChangePriceInput| {
        i.validate().is_ok()
    });
    valid(&doc, "RestockInput", |i: RestockInput| i.validate().is_ok());
    valid(&doc, "PlaceOrderInput", |i: PlaceOrderInput| {
        i.validate().is_ok()
    });
    valid(&doc, "PayOrderInput", |i: PayOrderInput| {
        i.validate().is_ok()
    });
    valid(&doc, "CancelOrderInput", |i: CancelOrderInput| {
        i.validate().is_ok()
    });
    valid(&doc, "DispatchShipmentInput", |i: DispatchShipmentInput| {
        i.validate().is_ok()
    });

    // No required field admits null.
    for (name, schema) in doc["components"]["schemas"].as_object().expect("schemas") {
        for field in schema["required"].as_array().into_iter().flatten() {
            let field = field.as_str().expect("name");
            let ty = &schema["properties"][field]["type"];
            assert!(
                !ty.as_array().is_some_and(|t| t.contains(&"null".into())),
                "{name}.{field} is required but nullable"
            );
        }
    }
}
