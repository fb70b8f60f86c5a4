//! `oms serve` with the embedded PostgreSQL: start, crash, restart, stop.

mod support;

use rustix::process::Signal;
use support::{data_dir, oms, postmaster_pid, Server};

#[test]
fn serve_starts_the_embedded_server_and_survives_kill_9() {
    let dir = data_dir();

    // A fresh data dir: the cluster is created, migrated, and the service is ready.
    let server = Server::start(oms(dir.path()));
    assert_eq!(server.get_status("/healthz"), 200);
    assert_eq!(server.get_status("/readyz"), 200);
    let first_postmaster = postmaster_pid(dir.path()).expect("a running postmaster");

    // kill -9 of oms: PostgreSQL survives; the next oms adopts it.
    server.kill_9();
    assert_eq!(
        postmaster_pid(dir.path()),
        Some(first_postmaster),
        "the server outlives a killed oms"
    );
    let server = Server::start(oms(dir.path()));
    assert_eq!(server.get_status("/readyz"), 200);

    // kill -9 of oms and of PostgreSQL: a stale postmaster.pid stays behind.
    let postmaster = postmaster_pid(dir.path()).expect("a running postmaster");
    server.kill_9();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(postmaster).expect("pid"),
        Signal::KILL,
    )
    .expect("killing the postmaster");
    while postmaster_pid(dir.path()).is_some() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        dir.path().join("pg/postmaster.pid").exists(),
        "the crash leaves a stale pid file"
    );
    let mut server = Server::start(oms(dir.path()));
    assert_eq!(server.get_status("/readyz"), 200);

    // SIGTERM: oms stops cleanly and stops the server it owns.
    server.signal(Signal::TERM);
    let status = server.child.wait().expect("waiting for oms");
    assert!(status.success(), "oms exits 0 on SIGTERM, got {status}");
    assert_eq!(
        postmaster_pid(dir.path()),
        None,
        "the owner stopped PostgreSQL"
    );
}

#[test]
fn a_second_oms_uses_the_running_server_and_leaves_it_to_its_owner() {
    let dir = data_dir();
    let mut owner = Server::start(oms(dir.path()));
    let postmaster = postmaster_pid(dir.path()).expect("a running postmaster");

    let migrate = oms(dir.path())
        .arg("migrate")
        .output()
        .expect("running oms migrate");
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    assert_eq!(
        postmaster_pid(dir.path()),
        Some(postmaster),
        "a guest does not stop the owner's server"
    );
    assert_eq!(owner.get_status("/readyz"), 200);

    owner.signal(Signal::INT);
    assert!(owner.child.wait().expect("waiting for oms").success());
    assert_eq!(postmaster_pid(dir.path()), None);
}
