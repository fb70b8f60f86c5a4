//! `oms healthcheck`: asks a running `oms serve` whether it is ready, for container
//! health checks in images that carry no HTTP client.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;

use crate::cli::HealthcheckArgs;

/// A probe that takes longer than this fails.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// `Ok` when `GET <path>` on the service answers 2xx.
pub async fn check(args: &HealthcheckArgs) -> anyhow::Result<()> {
    let url = format!("http://{}{}", probe_addr(args.http_addr), args.path);
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .context("building the HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "{url} answered {status}: {body}");
    Ok(())
}

/// Where to reach a service listening on `addr`: a wildcard address is reached on
/// loopback.
fn probe_addr(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), v4.port())
        }
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), v6.port())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listener_is_probed_on_loopback() {
        let addr = |s: &str| s.parse::<SocketAddr>().expect("addr");
        assert_eq!(probe_addr(addr("0.0.0.0:8080")), addr("127.0.0.1:8080"));
        assert_eq!(probe_addr(addr("[::]:9000")), addr("[::1]:9000"));
        assert_eq!(probe_addr(addr("10.0.0.5:8080")), addr("10.0.0.5:8080"));
    }
}
