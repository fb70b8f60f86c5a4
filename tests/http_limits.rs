//! The listener's bounds against hostile or broken clients: headers must arrive in time,
//! connections are bounded, a stalled body is 408, shutdown finishes within its grace.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use event_store::testing::TestDatabase;
use oms::cli::Role;
use oms::http::HttpLimits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// `oms serve`'s application on a loopback port with `limits`; dropping the sender shuts
/// the listener down.
async fn serve(
    db: &TestDatabase,
    limits: HttpLimits,
) -> (SocketAddr, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = oms::serve::app(Role::All, db.request_log());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        oms::http::run(listener, app, shutdown, &limits)
            .await
            .expect("serve");
    });
    (addr, stop, server)
}

/// Reads until the server closes the connection (or `within` passes: `None`).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| String::from_utf8_lossy(&received).into_owned())
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_must_arrive_in_time_on_new_and_idle_connections() {
    let db = TestDatabase::new().await;
    let limits = HttpLimits {
        header_read_timeout: Duration::from_secs(1),
        ..HttpLimits::default()
    };
    let (addr, _stop, _server) = serve(&db, limits).await;

    // Half the headers, then nothing.
    let mut trickling = TcpStream::connect(addr).await.expect("connect");
    trickling
        .write_all(b"POST /customers HTTP/1.1\r\nHost: t\r\nContent-Type: appl")
        .await
        .expect("write");
    let started = Instant::now();
    assert!(
        closed_within(&mut trickling, Duration::from_secs(10))
            .await
            .is_some(),
        "a client trickling its headers kept the connection"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // A keep-alive connection that goes quiet after its request.
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    idle.write_all(HEALTHZ).await.expect("write");
    let answer = closed_within(&mut idle, Duration::from_secs(10))
        .await
        .expect("an idle connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_bound_wait_until_one_ends() {
    let db = TestDatabase::new().await;
    let limits = HttpLimits {
        max_connections: 2,
        ..HttpLimits::default()
    };
    let (addr, _stop, _server) = serve(&db, limits).await;
    let mut first = TcpStream::connect(addr).await.expect("connect");
    let mut second = TcpStream::connect(addr).await.expect("connect");
    for stream in [&mut first, &mut second] {
        stream.write_all(HEALTHZ).await.expect("write");
        let mut buffer = [0_u8; 256];
        let n = stream.read(&mut buffer).await.expect("answer");
        assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
    }
    // Both stay open (keep-alive): a third waits in the backlog.
    let mut third = TcpStream::connect(addr).await.expect("connect");
    third.write_all(HEALTHZ).await.expect("write");
    let mut buffer = [0_u8; 256];
    let early = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buffer)).await;
    assert!(
        early.is_err(),
        "the third connection was served beyond the bound"
    );
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buffer))
        .await
        .expect("served once a connection ended")
        .expect("read");
    assert!(buffer[..n].starts_with(b"HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_is_408_and_shutdown_ends_in_its_grace() {
    let db = TestDatabase::new().await;
    let limits = HttpLimits {
        shutdown_grace: Duration::from_secs(2),
        ..HttpLimits::default()
    };
    let (addr, stop, server) = serve(&db, limits).await;
    let mut stalled = TcpStream::connect(addr).await.expect("connect");
    stalled
        .write_all(b"POST /customers HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\": ")
        .await
        .expect("write");
    let started = Instant::now();
    let mut buffer = [0_u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stalled.read(&mut buffer))
        .await
        .expect("answered")
        .expect("read");
    let answer = String::from_utf8_lossy(&buffer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("/problems/request-timeout"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_millis(4_500),
        "{:?}",
        started.elapsed()
    );

    // A connection that never finishes its request does not hold shutdown past the grace.
    let mut hanging = TcpStream::connect(addr).await.expect("connect");
    hanging
        .write_all(b"POST /customers HTTP/1.1\r\nHost: t\r\n")
        .await
        .expect("write");
    let begun = Instant::now();
    drop(stop);
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("shut down in time")
        .expect("server task");
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "{:?}",
        begun.elapsed()
    );
}
