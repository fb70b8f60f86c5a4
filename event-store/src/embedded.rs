//! An embedded PostgreSQL server, started from the machine's own binaries.
//!
//! With no `DATABASE_URL`, `oms` keeps a private cluster in `$OMS_DATA_DIR/pg` and talks
//! to it over a unix socket (no TCP port that another server could hold). The start-up
//! sequence is serialised by a file lock, so two `oms` processes never both start it:
//!
//! 1. find `initdb` and `pg_ctl` (PATH, then `/usr/lib/postgresql/*/bin`, newest first);
//! 2. as root, run everything as the `postgres` OS user (PostgreSQL refuses root);
//! 3. create the cluster once (`initdb` into a side folder, then rename: a crash during
//!    `initdb` leaves no half-made cluster);
//! 4. if a server from an earlier run is still up, use it; otherwise clear a stale
//!    `postmaster.pid` (its process is gone or is no longer PostgreSQL: a `kill -9` of
//!    `oms` or of the whole machine) and start one;
//! 5. record who owns the server (`owner.pid`): the process that started it, or one that
//!    adopts a server whose owner died. Only the owner stops it.
//!
//! Blocking by design: it runs once at start-up (callers in async code wrap it in
//! `spawn_blocking`) and from the test harness's one-time set-up.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sqlx::postgres::PgConnectOptions;

/// The database OMS uses inside the embedded cluster.
pub const DATABASE: &str = "oms";
const SUPERUSER: &str = "postgres";
/// Only names the socket file (`.s.PGSQL.5432`); the server listens on no TCP port.
const PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 100;

/// Why the embedded server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin.\n\
         Install them (Debian/Ubuntu: `apt-get install postgresql`), or set DATABASE_URL to use \
         a PostgreSQL server you run yourself."
    )]
    BinariesMissing,
    #[error(
        "running as root, but there is no `postgres` OS user to run PostgreSQL as (it refuses \
         to run as root). Debian's postgresql package creates it; or run oms as another user."
    )]
    NoPostgresUser,
    #[error(
        "the postgres OS user cannot reach {0}: every folder above OMS_DATA_DIR must be \
         searchable by others (chmod o+x), or choose an OMS_DATA_DIR elsewhere"
    )]
    Unreachable(PathBuf),
    #[error("{step} failed ({status}): {output}")]
    Command {
        step: &'static str,
        status: String,
        output: String,
    },
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    #[error(
        "refusing the socket folder {dir}: {why}. Remove it if it is a leftover of ours, \
         or choose a shorter OMS_DATA_DIR (its socket then lives inside it)"
    )]
    UnsafeSocketDir { dir: PathBuf, why: String },
}

fn io_context(context: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let context = context.into();
    move |source| EmbeddedError::Io { context, source }
}

/// How the server trades durability for speed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Normal PostgreSQL durability: what `oms` uses.
    Full,
    /// fsync off: for throw-away test clusters only.
    Off,
}

/// An OS user to run PostgreSQL as.
#[derive(Debug, Clone, Copy)]
struct OsUser {
    uid: u32,
    gid: u32,
}

/// A running embedded server (started by us or found running).
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    bin_dir: PathBuf,
    owner_file: PathBuf,
    run_as: Option<OsUser>,
    owner: bool,
}

impl EmbeddedPostgres {
    /// Starts the server whose data lives in `root/pg`, or finds it running. The `oms`
    /// database is made by [`ensure_database`], which needs async.
    pub fn start(root: &Path, durability: Durability) -> Result<Self, EmbeddedError> {
        fs::create_dir_all(root).map_err(io_context(format!("creating {}", root.display())))?;
        let root = fs::canonicalize(root).map_err(io_context("resolving OMS_DATA_DIR"))?;
        let bin_dir = find_bin_dir()?;
        let run_as = if rustix::process::geteuid().is_root() {
            Some(postgres_user()?)
        } else {
            None
        };
        if run_as.is_some() && !reachable_by_postgres(&root) {
            return Err(EmbeddedError::Unreachable(root));
        }

        let lock = File::create(root.join("pg.lock")).map_err(io_context("creating pg.lock"))?;
        lock.lock().map_err(io_context("locking pg.lock"))?;

        let data_dir = root.join("pg");
        let mut server = Self {
            socket_dir: socket_dir_for(&data_dir),
            data_dir,
            bin_dir,
            owner_file: root.join("owner.pid"),
            run_as,
            owner: false,
        };
        if !server.data_dir.join("PG_VERSION").exists() {
            server.init_cluster(durability)?;
        }
        server.prepare_socket_dir()?;
        let started = if server.running_pid().is_some() {
            tracing::info!(data_dir = %server.data_dir.display(), "using the embedded PostgreSQL already running");
            false
        } else {
            server.clear_stale_locks()?;
            server.start_server(durability)?;
            true
        };
        server.owner = started || !owner_alive(&server.owner_file);
        if server.owner {
            fs::write(&server.owner_file, std::process::id().to_string())
                .map_err(io_context("writing owner.pid"))?;
        }
        drop(lock);
        Ok(server)
    }

    /// Connection options for `database` in this cluster, as the superuser, over the socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
    }

    /// A `psql`-style URL for people: `psql "<url>"` reaches the same database.
    pub fn display_url(&self, database: &str) -> String {
        format!(
            "postgresql:///{database}?host={}&user={SUPERUSER}",
            self.socket_dir.display()
        )
    }

    /// The cluster's data folder (`$OMS_DATA_DIR/pg`).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Whether this process owns the server, and so stops it in [`EmbeddedPostgres::stop`].
    pub fn is_owner(&self) -> bool {
        self.owner
    }

    /// Stops the server if this process owns it; otherwise leaves it to its owner.
    pub fn stop(self) -> Result<(), EmbeddedError> {
        if !self.owner {
            return Ok(());
        }
        let data = self.data_dir.as_os_str();
        self.pg_ctl("pg_ctl stop", &["stop", "-w", "-m", "fast", "-D"], data)?;
        if fs::read_to_string(&self.owner_file)
            .is_ok_and(|pid| pid.trim() == std::process::id().to_string())
        {
            let _ = fs::remove_file(&self.owner_file);
        }
        Ok(())
    }

    /// A shell command that stops this server at once, for watchdogs that outlive us.
    pub fn stop_command(&self) -> (PathBuf, Vec<String>) {
        (
            self.bin_dir.join("pg_ctl"),
            vec![
                "stop".into(),
                "-m".into(),
                "immediate".into(),
                "-D".into(),
                self.data_dir.display().to_string(),
            ],
        )
    }

    /// Runs `program` as the user the server runs as (`postgres` when we are root).
    pub fn command_as_server_user(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        if let Some(user) = self.run_as {
            command.uid(user.uid).gid(user.gid);
        }
        command
    }

    fn init_cluster(&self, durability: Durability) -> Result<(), EmbeddedError> {
        let staging = self.data_dir.with_extension("initdb");
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io_context("removing an unfinished initdb"))?;
        }
        self.make_private_dir(&staging)?;
        tracing::info!(data_dir = %self.data_dir.display(), "creating the embedded PostgreSQL cluster");
        let mut command = self.command_as_server_user(self.bin_dir.join("initdb"));
        command.arg("-D").arg(&staging).args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
        ]);
        if durability == Durability::Off {
            command.arg("--no-sync");
        }
        run(command.current_dir(&staging), "initdb")?;
        fs::rename(&staging, &self.data_dir).map_err(io_context("moving the new cluster in place"))
    }

    fn start_server(&self, durability: Durability) -> Result<(), EmbeddedError> {
        let mut options = format!(
            "-k '{}' -p {PORT} -c listen_addresses='' -c max_connections=200",
            self.socket_dir.display()
        );
        if durability == Durability::Off {
            options.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let log = self.data_dir.join("server.log");
        let mut command = self.command_as_server_user(self.bin_dir.join("pg_ctl"));
        command
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .arg("-o")
            .arg(options)
            .current_dir(&self.data_dir);
        run(&mut command, "pg_ctl start").map_err(|error| match error {
            EmbeddedError::Command {
                step,
                status,
                output,
            } => {
                let tail = fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(10).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                EmbeddedError::Command {
                    step,
                    status,
                    output: format!("{output}\n{}", tail.join("\n")),
                }
            }
            other => other,
        })
    }

    fn pg_ctl(&self, step: &'static str, args: &[&str], data: &OsStr) -> Result<(), EmbeddedError> {
        let mut command = self.command_as_server_user(self.bin_dir.join("pg_ctl"));
        command.args(args).arg(data).current_dir(&self.data_dir);
        run(&mut command, step)
    }

    /// The pid of a live postmaster for this cluster, if one runs.
    fn running_pid(&self) -> Option<u32> {
        let pid_file = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        let pid: u32 = pid_file.lines().next()?.trim().parse().ok()?;
        if Path::new("/proc/self").exists() {
            // A pid from before a crash may since belong to another program, or to a
            // killed server that nobody has reaped yet.
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            (matches!(comm.trim(), "postgres" | "postmaster") && process_alive(pid)).then_some(pid)
        } else {
            let status = self
                .command_as_server_user(self.bin_dir.join("pg_ctl"))
                .arg("status")
                .arg("-D")
                .arg(&self.data_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()?;
            status.success().then_some(pid)
        }
    }

    /// Removes the lock files a dead server left behind. PostgreSQL removes them itself
    /// when their pid is dead, but not when the pid now belongs to another process.
    fn clear_stale_locks(&self) -> Result<(), EmbeddedError> {
        let socket = format!(".s.PGSQL.{PORT}");
        for stale in [
            self.data_dir.join("postmaster.pid"),
            self.socket_dir.join(format!("{socket}.lock")),
            self.socket_dir.join(socket),
        ] {
            match fs::remove_file(&stale) {
                Ok(()) => {
                    tracing::warn!(file = %stale.display(), "removed a stale lock file of a server that is gone");
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_context(format!("removing {}", stale.display()))(e)),
            }
        }
        Ok(())
    }

    /// The socket folder, when it is not the data folder, lives in the shared temp dir:
    /// it is created private to the server's user, and one that exists must be a real
    /// folder of that user's that no one else can enter, or anyone could stand a socket of
    /// their own in for ours.
    fn prepare_socket_dir(&self) -> Result<(), EmbeddedError> {
        if self.socket_dir == self.data_dir {
            return Ok(());
        }
        let owner = self
            .run_as
            .map_or_else(|| rustix::process::geteuid().as_raw(), |user| user.uid);
        if prepare_private_dir(&self.socket_dir, owner)? {
            if let Some(user) = self.run_as {
                chown(&self.socket_dir, user)?;
            }
        }
        Ok(())
    }

    /// Creates a 0700 folder owned by the server's user.
    fn make_private_dir(&self, dir: &Path) -> Result<(), EmbeddedError> {
        fs::create_dir_all(dir).map_err(io_context(format!("creating {}", dir.display())))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_context(
            format!("setting permissions of {}", dir.display()),
        ))?;
        if let Some(user) = self.run_as {
            chown(dir, user)?;
        }
        Ok(())
    }
}

/// Creates `dir` as a 0700 folder (`Ok(true)`), or checks that the existing one is a folder
/// (not a link) owned by `owner` and closed to everyone else (`Ok(false)`).
fn prepare_private_dir(dir: &Path, owner: u32) -> Result<bool, EmbeddedError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            // The umask may have narrowed the mode further; never widened it.
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_context(
                format!("setting permissions of {}", dir.display()),
            ))?;
            return Ok(true);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_context(format!("creating {}", dir.display()))(e)),
    }
    let meta =
        fs::symlink_metadata(dir).map_err(io_context(format!("inspecting {}", dir.display())))?;
    let refuse = |why: String| EmbeddedError::UnsafeSocketDir {
        dir: dir.to_owned(),
        why,
    };
    if !meta.file_type().is_dir() {
        return Err(refuse("it is not a folder".into()));
    }
    if meta.uid() != owner {
        return Err(refuse(format!(
            "it belongs to uid {}, not {owner}",
            meta.uid()
        )));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(format!(
            "other users may enter it (mode {:o})",
            meta.mode() & 0o777
        )));
    }
    Ok(false)
}

/// Creates `database` unless it exists; safe when several processes race to create it.
pub async fn ensure_database(server: &PgConnectOptions, database: &str) -> Result<(), sqlx::Error> {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect_with(&server.clone().database("postgres")).await?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(database)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let create = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
        match conn.execute(create.as_str()).await {
            Ok(_) => {}
            // duplicate_database, or unique_violation when two creators race
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("42P04" | "23505")) => {}
            Err(e) => return Err(e),
        }
    }
    conn.close().await
}

fn chown(path: &Path, user: OsUser) -> Result<(), EmbeddedError> {
    rustix::fs::chown(
        path,
        Some(rustix::fs::Uid::from_raw(user.uid)),
        Some(rustix::fs::Gid::from_raw(user.gid)),
    )
    .map_err(|e| EmbeddedError::Io {
        context: format!("chown {}", path.display()),
        source: e.into(),
    })
}

/// Hands `path` to the server's OS user, so that a watchdog running as that user can
/// remove it. A no-op unless we run as root.
pub fn give_to_server_user(path: &Path) -> Result<(), EmbeddedError> {
    if rustix::process::geteuid().is_root() {
        chown(path, postgres_user()?)?;
    }
    Ok(())
}

/// The socket folder: the data folder itself, or, when its path is too long for a unix
/// socket, a folder under the temp dir named after it.
fn socket_dir_for(data_dir: &Path) -> PathBuf {
    let socket_path_len = data_dir.as_os_str().len() + ".s.PGSQL.5432".len() + 1;
    if socket_path_len <= MAX_SOCKET_PATH {
        return data_dir.to_path_buf();
    }
    let hash = data_dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        });
    std::env::temp_dir().join(format!("oms-pg-{hash:016x}"))
}

fn owner_alive(owner_file: &Path) -> bool {
    let Ok(pid) = fs::read_to_string(owner_file) else {
        return false;
    };
    let Ok(pid) = pid.trim().parse::<u32>() else {
        return false;
    };
    pid != std::process::id() && process_alive(pid)
}

/// Whether `pid` is a running process: it exists and is not a zombie (killed, not reaped).
fn process_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may contain spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, None | Some('Z' | 'X'))
}

/// Finds the folder holding `initdb` and `pg_ctl`.
fn find_bin_dir() -> Result<PathBuf, EmbeddedError> {
    find_bin_dir_in(
        std::env::var_os("PATH").as_deref(),
        Path::new("/usr/lib/postgresql"),
    )
}

/// Searches `path` (a PATH value), then `versions_root/<major>/bin`, newest major first.
fn find_bin_dir_in(path: Option<&OsStr>, versions_root: &Path) -> Result<PathBuf, EmbeddedError> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = path {
        if let Some(dir) = std::env::split_paths(path).find(|dir| has_tools(dir)) {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(versions_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or(EmbeddedError::BinariesMissing)
}

/// The `postgres` OS user, from /etc/passwd.
fn postgres_user() -> Result<OsUser, EmbeddedError> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(io_context("reading /etc/passwd"))?;
    passwd
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let _password = fields.next()?;
            let uid = fields.next()?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            (name == SUPERUSER).then_some(OsUser { uid, gid })
        })
        .next()
        .ok_or(EmbeddedError::NoPostgresUser)
}

fn reachable_by_postgres(dir: &Path) -> bool {
    let Ok(user) = postgres_user() else {
        return false;
    };
    Command::new("test")
        .arg("-x")
        .arg(dir)
        .uid(user.uid)
        .gid(user.gid)
        .status()
        .is_ok_and(|s| s.success())
}

fn run(command: &mut Command, step: &'static str) -> Result<(), EmbeddedError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(io_context(format!("running {step}")))?;
    if output.status.success() {
        return Ok(());
    }
    Err(EmbeddedError::Command {
        step,
        status: output.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .trim()
        .to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch_tools(dir: &Path) {
        fs::create_dir_all(dir).expect("mkdir");
        for tool in ["initdb", "pg_ctl"] {
            fs::write(dir.join(tool), "").expect("touch");
        }
    }

    #[test]
    fn missing_binaries_say_how_to_install_them() {
        let empty = tempfile::tempdir().expect("tempdir");
        let error = find_bin_dir_in(Some(empty.path().as_os_str()), &empty.path().join("none"))
            .expect_err("nothing to find");
        assert!(matches!(error, EmbeddedError::BinariesMissing));
        assert!(error.to_string().contains("apt-get install postgresql"));
    }

    #[test]
    fn prefers_path_then_the_newest_installed_major_version() {
        let root = tempfile::tempdir().expect("tempdir");
        let versions = root.path().join("lib");
        for major in ["9", "15", "13"] {
            touch_tools(&versions.join(major).join("bin"));
        }
        let found = find_bin_dir_in(Some(OsStr::new("/nonexistent")), &versions).expect("found");
        assert_eq!(found, versions.join("15/bin"), "15 > 13 > 9 numerically");

        let on_path = root.path().join("path-bin");
        touch_tools(&on_path);
        let found = find_bin_dir_in(Some(on_path.as_os_str()), &versions).expect("found");
        assert_eq!(found, on_path);
    }

    #[test]
    fn long_data_dirs_get_a_short_socket_dir() {
        let short = Path::new("/tmp/x/pg");
        assert_eq!(socket_dir_for(short), short);
        let long = PathBuf::from(format!("/tmp/{}/pg", "d".repeat(120)));
        let socket = socket_dir_for(&long);
        assert_ne!(socket, long);
        assert_eq!(
            socket,
            socket_dir_for(&long),
            "every process computes the same folder"
        );
        assert!(socket.as_os_str().len() + ".s.PGSQL.5432".len() < MAX_SOCKET_PATH);
    }

    #[test]
    fn the_socket_dir_is_created_private_and_a_foreign_one_is_refused() {
        let root = tempfile::tempdir().expect("tempdir");
        let me = rustix::process::geteuid().as_raw();
        let fresh = root.path().join("fresh");
        assert!(prepare_private_dir(&fresh, me).expect("created"));
        let mode = fs::metadata(&fresh).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert!(!prepare_private_dir(&fresh, me).expect("ours, reused"));

        let open = root.path().join("open");
        fs::create_dir(&open).expect("mkdir");
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).expect("chmod");
        let refused = prepare_private_dir(&open, me).expect_err("open to others");
        assert!(
            refused.to_string().contains("other users may enter it"),
            "{refused}"
        );

        let link = root.path().join("link");
        std::os::unix::fs::symlink(&fresh, &link).expect("symlink");
        let refused = prepare_private_dir(&link, me).expect_err("a link");
        assert!(refused.to_string().contains("not a folder"), "{refused}");

        let refused = prepare_private_dir(&fresh, me + 1).expect_err("someone else's");
        assert!(refused.to_string().contains("belongs to uid"), "{refused}");
    }

    #[test]
    fn a_zombie_or_missing_process_is_not_alive() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(u32::MAX));
    }
}
