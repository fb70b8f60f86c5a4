//! docker/: the compose file is valid (Debian's `docker-compose config`, no engine
//! needed), runs the roles split, Prometheus scrapes every role, and the Grafana
//! dashboard asks only for metrics OMS exposes. The images cannot be built here.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const COMPOSE: &str = "docker/docker-compose.yml";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn compose(args: &[&str], secret: Option<&str>) -> std::process::Output {
    let mut command = Command::new("docker-compose");
    command.current_dir(root()).args(["-f", COMPOSE]).args(args);
    match secret {
        Some(secret) => command.env("OMS_JWT_SECRET", secret),
        None => command.env_remove("OMS_JWT_SECRET"),
    };
    command.output().unwrap_or_else(|error| {
        panic!("docker-compose is needed ({error}): scripts/install-test-tools installs it")
    })
}

/// The services that run `oms serve`, with their roles.
fn oms_services(config: &str) -> Vec<(String, String)> {
    let mut services = Vec::new();
    let mut current = None;
    let mut lines = config.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            if !name.starts_with(' ') {
                current = Some(name.to_owned());
            }
        }
        if line.trim() == "- --role" {
            let role = lines
                .next()
                .unwrap_or_default()
                .trim()
                .trim_start_matches("- ");
            if let Some(name) = &current {
                services.push((name.clone(), role.to_owned()));
            }
        }
    }
    services
}

#[test]
fn compose_runs_the_roles_split_and_prometheus_scrapes_each_of_them() {
    let output = compose(&["config"], Some(SECRET));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let config = String::from_utf8(output.stdout).expect("utf-8");
    let services = oms_services(&config);
    let roles: Vec<&str> = services.iter().map(|(_, role)| role.as_str()).collect();
    assert_eq!(
        roles,
        [
            "command-api",
            "projector",
            "projector",
            "query-graphql",
            "query-graphql",
            "relay",
            "relay"
        ],
        "{services:?}"
    );
    for needed in [
        "postgres:",
        "nats:",
        "OMS_NATS_URL: nats://nats:4222",
        "prometheus:",
        "grafana:",
        "OMS_AUTH: jwt",
        "target: slim",
    ] {
        assert!(config.contains(needed), "{needed} missing:\n{config}");
    }
    // Ports only on the host's loopback.
    for line in config
        .lines()
        .filter(|l| l.trim_start().starts_with("- ") && l.contains(":80"))
    {
        if line.contains("/tcp") {
            assert!(
                line.contains("127.0.0.1:"),
                "published beyond loopback: {line}"
            );
        }
    }

    let prometheus = std::fs::read_to_string(root().join("docker/prometheus/prometheus.yml"))
        .expect("prometheus.yml");
    let scraped: BTreeSet<&str> = prometheus
        .split('"')
        .filter_map(|s| s.strip_suffix(":8080"))
        .collect();
    let running: BTreeSet<&str> = services.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(scraped, running, "Prometheus must scrape every oms service");
}

#[test]
fn compose_refuses_to_start_without_a_jwt_secret() {
    let output = compose(&["config"], None);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("OMS_JWT_SECRET"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_dashboard_asks_only_for_metrics_oms_exposes() {
    let exposed = [
        oms::metrics::HTTP_REQUESTS,
        oms::metrics::HTTP_DURATION,
        oms::ops::PROJECTION_POSITION,
        oms::ops::PROJECTION_LAG,
        oms::ops::PROJECTION_STATE,
        oms::ops::LOG_HEAD,
        oms::ops::POOL_CONNECTIONS,
        event_store::metrics::EVENTS_APPENDED,
        command_api::metrics::COMMANDS,
        command_api::metrics::COMMAND_DURATION,
        projections::metrics::BATCH_DURATION,
        projections::metrics::EVENTS_APPLIED,
        projections::metrics::DECISION_LATENCY,
        query_graphql::metrics::REQUESTS,
        query_graphql::metrics::SUBSCRIPTIONS,
        "process_resident_memory_bytes",
    ];
    let text = std::fs::read_to_string(root().join("docker/grafana/dashboards/oms.json"))
        .expect("dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8);
    let mut asked = BTreeSet::new();
    for panel in panels {
        let expr = panel["targets"][0]["expr"].as_str().expect("expr");
        for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if word.starts_with("oms_") || word.starts_with("process_") {
                let name = ["_bucket", "_count", "_sum"]
                    .iter()
                    .fold(word, |w, suffix| w.strip_suffix(suffix).unwrap_or(w));
                asked.insert(name.to_owned());
            }
        }
    }
    for name in &asked {
        assert!(
            exposed.contains(&name.as_str()),
            "the dashboard asks for {name}"
        );
    }
    for must in [
        "oms_projection_lag_events",
        "oms_http_request_duration_seconds",
        "oms_commands_total",
    ] {
        assert!(asked.contains(must), "the dashboard lacks {must}");
    }
}

#[test]
fn the_images_create_their_volume_folder_and_check_health_without_curl() {
    let dockerfile = std::fs::read_to_string(root().join("docker/Dockerfile")).expect("Dockerfile");
    let volume = dockerfile.find("VOLUME").expect("a VOLUME");
    let created = dockerfile
        .find("install -d -o oms -g oms -m 0755 /var/lib/oms/data")
        .expect("the data folder is created for the oms user");
    assert!(created < volume, "the folder must exist before VOLUME");
    assert!(dockerfile.contains(r#"CMD ["oms", "healthcheck"]"#));
    assert!(
        !dockerfile
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.contains("curl")),
        "curl is installed"
    );
    for target in ["AS build", "AS slim", "AS all-in-one"] {
        assert!(dockerfile.contains(target), "{target}");
    }
    // The slim image carries no PostgreSQL server.
    let slim = &dockerfile
        [dockerfile.find("AS slim").expect("slim")..dockerfile.find("AS all-in-one").expect("all")];
    assert!(!slim.contains("postgresql"), "{slim}");
}
