//! Every query and field of CONTRACT's schema, over the read models of a real platform.

mod support;

use serde_json::{json, Value};
use support::{codes, Platform};

const ORDER_FIELDS: &str = "
    id status version itemCount placedAt updatedAt
    customer { id name email }
    shippingAddress { id label line1 line2 city postalCode country }
    lines { sku productName quantity unitPrice { amount currency } lineTotal { amount currency } }
    total { amount currency }
    payment { amount { amount currency } method reference paidAt }
    shipment { id orderId status carrier trackingNumber createdAt dispatchedAt deliveredAt
               address { line1 city } order { id } }
    history { status at reason }";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_through_its_whole_life_shows_every_field() {
    let platform = Platform::start().await;
    let ada = platform.customer("Ada Lovelace", "Ada@Example.com").await;
    platform.product("TEA-1", "Green tea", "4.50", 10).await;
    platform.product("MUG", "Mug", "12.00", 5).await;
    let (order, _) = platform
        .order(&ada, &[("TEA-1", 2), ("MUG", 1), ("TEA-1", 1)])
        .await;
    platform.until_status(&order, "CONFIRMED").await;
    // A later price change and rename of the product do not touch the order's lines.
    let repriced = platform
        .command(
            "/products/MUG/change-price",
            json!({"price": {"amount": "99.00", "currency": "EUR"}}),
        )
        .await;
    let paid = platform
        .command(
            &format!("/orders/{order}/pay"),
            json!({"amount": {"amount": "25.50", "currency": "EUR"}, "method": "card", "reference": "psp-1"}),
        )
        .await;
    let shipment = loop {
        let response = platform
            .gql_at(
                paid["position"].as_i64().expect("position"),
                "query($id: ID!) { order(id: $id) { shipment { id } } }",
                json!({"id": order}),
            )
            .await;
        if let Some(id) = response["data"]["order"]["shipment"]["id"].as_str() {
            break id.to_owned();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    };
    platform
        .command(
            &format!("/shipments/{shipment}/dispatch"),
            json!({"carrier": "DHL", "tracking_number": "TRK-9"}),
        )
        .await;
    platform.until_status(&order, "SHIPPED").await;
    platform
        .command(&format!("/shipments/{shipment}/deliver"), json!({}))
        .await;
    platform.until_status(&order, "DELIVERED").await;

    let response = platform
        .gql_at(
            repriced["position"].as_i64().expect("position"),
            &format!("query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}"),
            json!({"id": order}),
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let o = &response["data"]["order"];
    assert_eq!(o["id"], order.as_str());
    assert_eq!(o["status"], "DELIVERED");
    assert_eq!(
        o["customer"],
        json!({"id": ada.0, "name": "Ada Lovelace", "email": "Ada@Example.com"})
    );
    assert_eq!(
        o["shippingAddress"],
        json!({"id": ada.1, "label": "home", "line1": "1 Main St", "line2": null,
               "city": "Berlin", "postalCode": "10115", "country": "DE"})
    );
    assert_eq!(
        o["lines"],
        json!([
            {"sku": "TEA-1", "productName": "Green tea", "quantity": 3,
             "unitPrice": {"amount": "4.50", "currency": "EUR"}, "lineTotal": {"amount": "13.50", "currency": "EUR"}},
            {"sku": "MUG", "productName": "Mug", "quantity": 1,
             "unitPrice": {"amount": "12.00", "currency": "EUR"}, "lineTotal": {"amount": "12.00", "currency": "EUR"}},
        ]),
        "repeated skus merged, prices as captured at placement"
    );
    assert_eq!(o["itemCount"], 4);
    assert_eq!(o["total"], json!({"amount": "25.50", "currency": "EUR"}));
    assert_eq!(
        o["payment"]["amount"],
        json!({"amount": "25.50", "currency": "EUR"})
    );
    assert_eq!(
        (&o["payment"]["method"], &o["payment"]["reference"]),
        (&json!("card"), &json!("psp-1"))
    );
    let s = &o["shipment"];
    assert_eq!(s["id"], shipment.as_str());
    assert_eq!(s["orderId"], order.as_str());
    assert_eq!(s["order"]["id"], order.as_str());
    assert_eq!(
        (&s["status"], &s["carrier"], &s["trackingNumber"]),
        (&json!("DELIVERED"), &json!("DHL"), &json!("TRK-9"))
    );
    assert_eq!(
        s["address"],
        json!({"line1": "1 Main St", "city": "Berlin"})
    );
    for at in [
        &s["createdAt"],
        &s["dispatchedAt"],
        &s["deliveredAt"],
        &o["placedAt"],
        &o["updatedAt"],
        &o["payment"]["paidAt"],
    ] {
        let at = at.as_str().unwrap_or_else(|| panic!("a timestamp: {o}"));
        assert!(
            at.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{at}"
        );
    }
    let statuses: Vec<&str> = o["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        ["PLACED", "CONFIRMED", "PAID", "SHIPPED", "DELIVERED"]
    );
    assert_eq!(o["history"][0]["at"], o["placedAt"]);
    assert_eq!(
        o["history"][4]["at"], o["updatedAt"],
        "updatedAt is the last change's time"
    );
    assert!(o["version"].as_i64().expect("version") >= 5);

    // The shipment from its own side.
    let response = platform
        .gql(
            "query($id: ID!) { shipment(id: $id) { id orderId status order { id status total { amount } } } }",
            json!({"id": shipment}),
        )
        .await;
    assert_eq!(
        response["data"]["shipment"],
        json!({"id": shipment, "orderId": order, "status": "DELIVERED",
               "order": {"id": order, "status": "DELIVERED", "total": {"amount": "25.50"}}})
    );

    // The product: the new price; stock after shipping 1 mug.
    let response = platform
        .gql(
            "{ product(sku: \"MUG\") { sku name price { amount currency } onHand reserved available } }",
            json!({}),
        )
        .await;
    assert_eq!(
        response["data"]["product"],
        json!({"sku": "MUG", "name": "Mug", "price": {"amount": "99.00", "currency": "EUR"},
               "onHand": 4, "reserved": 0, "available": 4})
    );

    // The customer with addresses and orders.
    let response = platform
        .gql(
            "query($id: ID!) { customer(id: $id) {
                id name email registeredAt orderCount
                addresses { id label line1 city postalCode country }
                orders(first: 5) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status } } }
                delivered: orders(status: DELIVERED) { totalCount }
                cancelled: orders(status: CANCELLED) { totalCount edges { node { id } } }
            } }",
            json!({"id": ada.0}),
        )
        .await;
    let c = &response["data"]["customer"];
    assert_eq!(
        (&c["name"], &c["email"], &c["orderCount"]),
        (&json!("Ada Lovelace"), &json!("Ada@Example.com"), &json!(1))
    );
    assert!(c["registeredAt"]
        .as_str()
        .is_some_and(|at| at.ends_with('Z')));
    assert_eq!(
        c["addresses"],
        json!([{"id": ada.1, "label": "home", "line1": "1 Main St", "city": "Berlin", "postalCode": "10115", "country": "DE"}])
    );
    assert_eq!(c["orders"]["totalCount"], 1);
    assert_eq!(
        c["orders"]["edges"][0]["node"],
        json!({"id": order, "status": "DELIVERED"})
    );
    assert_eq!(c["orders"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(
        c["orders"]["pageInfo"]["endCursor"],
        c["orders"]["edges"][0]["cursor"]
    );
    assert_eq!(c["delivered"]["totalCount"], 1);
    assert_eq!(c["cancelled"], json!({"totalCount": 0, "edges": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn renames_follow_on_orders_and_lists_and_status_are_served() {
    let platform = Platform::start().await;
    let ada = platform.customer("Ada", "ada@example.com").await;
    let bob = platform.customer("Bob", "bob@example.org").await;
    platform.product("A", "Apple", "1.00", 100).await;
    platform.product("B", "Banana", "2.00", 100).await;
    let (order, _) = platform.order(&ada, &[("A", 1)]).await;
    let renamed = platform
        .command(
            &format!("/customers/{}/rename", ada.0),
            json!({"name": "Ada King"}),
        )
        .await;
    let moved = platform
        .command(
            &format!("/customers/{}/change-email", ada.0),
            json!({"email": "ada@king.example"}),
        )
        .await;
    assert!(moved["position"].as_i64() > renamed["position"].as_i64());
    let response = platform
        .gql_at(
            moved["position"].as_i64().expect("position"),
            "query($id: ID!) {
                order(id: $id) { customer { name email } }
                customers(first: 10) { totalCount edges { node { name email } } }
                matching: customers(emailContains: \"EXAMPLE.ORG\") { totalCount edges { node { name } } }
                products { totalCount edges { cursor node { sku name } } pageInfo { hasNextPage } }
                projections { name position headPosition lag state lastError }
            }",
            json!({"id": order}),
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    let data = &response["data"];
    assert_eq!(
        data["order"]["customer"],
        json!({"name": "Ada King", "email": "ada@king.example"})
    );
    assert_eq!(data["customers"]["totalCount"], 2);
    let names: Vec<&Value> = data["customers"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"]["name"])
        .collect();
    assert_eq!(names, [&json!("Bob"), &json!("Ada King")], "newest first");
    assert_eq!(
        data["matching"],
        json!({"totalCount": 1, "edges": [{"node": {"name": "Bob"}}]})
    );
    let skus: Vec<&Value> = data["products"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"]["sku"])
        .collect();
    assert_eq!(skus, [&json!("A"), &json!("B")]);
    assert_eq!(data["products"]["totalCount"], 2);
    let names: Vec<&str> = data["projections"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "orders",
            "customers",
            "shipments",
            "products",
            "order-fulfillment"
        ]
    );
    for p in data["projections"].as_array().expect("list") {
        assert!(
            p["headPosition"].as_i64() >= moved["position"].as_i64(),
            "{p}"
        );
        assert_eq!(p["lastError"], Value::Null);
    }
    let orders = &data["projections"][0];
    assert_eq!(orders["state"], "RUNNING");
    let _ = bob;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_ids_are_null_and_bad_arguments_are_bad_user_input() {
    let platform = Platform::start().await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let response = platform
        .gql(
            "query($id: ID!) { order(id: $id) { id } customer(id: $id) { id } shipment(id: $id) { id } product(sku: \"NOPE\") { sku } }",
            json!({"id": unknown}),
        )
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(
        response["data"],
        json!({"order": null, "customer": null, "shipment": null, "product": null})
    );

    for query in [
        "{ order(id: \"42\") { id } }",
        "{ customer(id: \"not-a-uuid\") { id } }",
        "{ shipment(id: \"\") { id } }",
        "{ orders(first: 0) { totalCount } }",
        "{ orders(first: 101) { totalCount } }",
        "{ customers(first: -1) { totalCount } }",
        "{ products(first: 1000) { totalCount } }",
        "{ orders(after: \"garbage\") { totalCount } }",
        "{ products(after: \"garbage\") { totalCount } }",
        "{ orders(filter: {customerId: \"x\"}) { totalCount } }",
        "{ customers { edges { node { orders(first: 0) { totalCount } } } } }",
    ] {
        let response = platform.gql(query, json!({})).await;
        if query.starts_with("{ customers {") {
            // No customers, no nested field to fail: still a valid query.
            assert!(response.get("errors").is_none(), "{query}: {response}");
            continue;
        }
        assert_eq!(codes(&response), ["BAD_USER_INPUT"], "{query}: {response}");
        assert!(response["extensions"]["position"].is_i64(), "{response}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_response_keeps_the_order_of_the_selection_set() {
    let platform = Platform::start().await;
    let query = "{ z: products { totalCount } y: orders { totalCount } x: customers { totalCount } w: projections { name } }";
    let reply = platform
        .send(
            axum::http::Request::post("/graphql")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(json!({"query": query}).to_string()))
                .expect("request"),
        )
        .await;
    let data = reply.text.find("\"data\"").expect("data");
    let at = |key: &str| {
        reply.text[data..]
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("{key} in {}", reply.text))
    };
    assert!(
        at("z") < at("y") && at("y") < at("x") && at("x") < at("w"),
        "serialized out of selection order: {}",
        reply.text
    );
}
