//! Through the command API alone, an order goes from placed to delivered (`oms serve`,
//! role `all`, with the order-fulfillment process manager).

mod support;

use std::time::{Duration, Instant};

use domain::values::{OrderId, ShipmentId};
use event_store::testing::TestDatabase;
use serde_json::{json, Value};
use support::{data_dir, oms, Server};

fn post(server: &Server, path: &str, body: &Value) -> (u16, Value) {
    use std::io::{Read, Write};
    let body = body.to_string();
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn order_status(db: &TestDatabase, order: &str) -> Option<String> {
    sqlx::query_scalar("SELECT status FROM orders WHERE id = $1::uuid")
        .bind(order)
        .fetch_optional(&db.pool)
        .await
        .expect("query")
}

async fn until(db: &TestDatabase, order: &str, status: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while order_status(db, order).await.as_deref() != Some(status) {
        assert!(
            Instant::now() < deadline,
            "order stuck at {:?}, waiting for {status}",
            order_status(db, order).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_goes_from_placed_to_delivered_through_http() {
    let db = TestDatabase::new().await;
    let dir = data_dir();
    let mut command = oms(dir.path());
    command.env("DATABASE_URL", &db.url);
    let server = Server::start(command);

    let (status, customer) = post(
        &server,
        "/customers",
        &json!({"name": "Ada", "email": "ada@example.com"}),
    );
    assert_eq!(status, 201);
    let customer = customer["id"].as_str().expect("id").to_owned();
    let (_, address) = post(
        &server,
        &format!("/customers/{customer}/addresses"),
        &json!({"line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}),
    );
    let address = address["address_id"].as_str().expect("address").to_owned();
    let (status, _) = post(
        &server,
        "/products",
        &json!({"sku": "A", "name": "A", "price": {"amount": "12.50", "currency": "EUR"}, "stock": 5}),
    );
    assert_eq!(status, 201);
    let (status, order) = post(
        &server,
        "/orders",
        &json!({"customer_id": customer, "shipping_address_id": address, "lines": [{"sku": "A", "quantity": 2}]}),
    );
    assert_eq!(status, 201, "{order}");
    let order = order["id"].as_str().expect("order").to_owned();

    until(&db, &order, "CONFIRMED").await;
    let pay = json!({"amount": {"amount": "25.00", "currency": "EUR"}, "method": "card", "reference": "psp-1"});
    assert_eq!(post(&server, &format!("/orders/{order}/pay"), &pay).0, 200);
    until(&db, &order, "PAID").await;
    let shipment = ShipmentId::for_order(order.parse::<OrderId>().expect("uuid")).to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = post(
            &server,
            &format!("/shipments/{shipment}/dispatch"),
            &json!({"carrier": "DHL", "tracking_number": "JJD1"}),
        );
        if status == 200 {
            break;
        }
        assert!(
            status == 404 && Instant::now() < deadline,
            "{status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await; // the shipment is created by the manager
    }
    until(&db, &order, "SHIPPED").await;
    assert_eq!(
        post(
            &server,
            &format!("/shipments/{shipment}/deliver"),
            &json!({})
        )
        .0,
        200
    );
    until(&db, &order, "DELIVERED").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stock: Option<(i64, i64)> =
            sqlx::query_as("SELECT on_hand, reserved FROM products WHERE sku = 'A'")
                .fetch_optional(&db.pool)
                .await
                .expect("stock");
        if stock == Some((3, 0)) {
            break;
        }
        assert!(Instant::now() < deadline, "stock {stock:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The same life as GraphQL serves it, from the same process.
    let (status, response) = post(
        &server,
        "/graphql",
        &json!({"query": "query($id: ID!) { order(id: $id) { status history { status } shipment { status carrier } } product(sku: \"A\") { onHand reserved } }", "variables": {"id": order}}),
    );
    assert_eq!(status, 200, "{response}");
    assert_eq!(
        response["data"],
        json!({"order": {"status": "DELIVERED",
            "history": [{"status": "PLACED"}, {"status": "CONFIRMED"}, {"status": "PAID"}, {"status": "SHIPPED"}, {"status": "DELIVERED"}],
            "shipment": {"status": "DELIVERED", "carrier": "DHL"}},
            "product": {"onHand": 3, "reserved": 0}})
    );
    assert!(
        response["extensions"]["position"].as_i64() > Some(0),
        "{response}"
    );
    let page = {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
        write!(
            stream,
            "GET /graphql HTTP/1.1\r\nHost: t\r\nAccept: text/html\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut page = String::new();
        stream.read_to_string(&mut page).expect("read");
        page
    };
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("GraphiQL"),
        "{page}"
    );
}
