//! PostgreSQL and Redis servers of a test's own, started by the same shell functions as
//! `scripts/test`, so that a test can stop them under load and start them again.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use crate::workspace_root;

/// A TCP port on 127.0.0.1 that nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs `scripts/lib/common.sh`'s `function` with `args`; panics with its output on failure.
fn common(function: &str, args: &[&str]) {
    let script = format!(". scripts/lib/common.sh && {function} \"$@\"");
    let out = Command::new("bash")
        .current_dir(workspace_root())
        .arg("-c")
        .arg(script)
        .arg("bash")
        .args(args)
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{function} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A directory under the system's temporary directory that the PostgreSQL user may enter.
fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "schoolplein-{what}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("permissions");
    }
    dir
}

/// A PostgreSQL server of this test's own; stopped and removed on drop.
#[derive(Debug)]
pub struct OwnPostgres {
    dir: PathBuf,
    port: u16,
}

impl OwnPostgres {
    pub fn start() -> Self {
        let server = Self {
            dir: scratch_dir("postgres"),
            port: free_port(),
        };
        server.resume();
        server
    }

    /// The URL of its `postgres` database.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops it as an operator would (`pg_ctl stop -m fast`): connections are ended.
    pub fn stop(&self) {
        common("stop_postgres", &[self.dir.to_str().expect("a UTF-8 path")]);
    }

    /// Starts it again on the same port with the same data.
    pub fn resume(&self) {
        common(
            "start_postgres",
            &[
                self.dir.to_str().expect("a UTF-8 path"),
                &self.port.to_string(),
                "fsync=off",
            ],
        );
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis server of this test's own, writing its data to disk as production does (an
/// append-only file), so that a stop and start keeps what it held; removed on drop.
#[derive(Debug)]
pub struct OwnRedis {
    dir: PathBuf,
    port: u16,
}

impl OwnRedis {
    pub fn start() -> Self {
        let server = Self {
            dir: scratch_dir("redis"),
            port: free_port(),
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops it as an operator would (`SHUTDOWN`, which writes what it holds to disk).
    pub fn stop(&self) {
        let _ = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "shutdown"])
            .output();
        // SHUTDOWN returns once the server is gone; make sure of it.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("Redis on port {} did not stop", self.port);
    }

    /// Starts it again on the same port with the same data.
    pub fn resume(&self) {
        let out = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&self.dir)
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--save",
                "",
            ])
            .args(["--daemonize", "yes", "--logfile"])
            .arg(self.dir.join("redis.log"))
            .output()
            .expect("redis-server");
        assert!(out.status.success(), "redis-server did not start");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("Redis on port {} did not start", self.port);
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "shutdown", "nosave"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
