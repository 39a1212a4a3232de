//! A service running as a real process: started from the workspace's built
//! binary, its output kept in a log file, stopped with SIGTERM or killed
//! with SIGKILL.

use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use shared_kernel::testing::test_keys;
use tokio::process::{Child, Command};

use crate::PATIENCE;

/// A started service process.
#[derive(Debug)]
pub struct ServiceProcess {
    name: String,
    child: Child,
    /// Its `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// Its management listener's `http://127.0.0.1:<port>` (`/metrics`).
    pub management_url: String,
    /// Where its output goes.
    pub log: PathBuf,
}

/// The path of a workspace binary built next to this test's executable
/// (`target/<profile>/<name>`); `make test` builds them first.
pub fn binary(name: &str) -> PathBuf {
    let path = binary_dir().join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` (make test does)",
        path.display()
    );
    path
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|e| panic!("free port: {e}"))
}

/// The variables naming the management port of line-provider and bet-maker.
const ADMIN_PORT_VARIABLES: [&str; 2] = ["LINE_PROVIDER_ADMIN_PORT", "BET_MAKER_ADMIN_PORT"];

impl ServiceProcess {
    /// Starts `binary serve` with exactly `env` (plus PATH, the test keys to
    /// sign and verify line messages with, the test secret of bettors'
    /// tokens and the one the payment provider signs its webhooks with,
    /// unless `env` names others), listening on `port` and, unless `env`
    /// names one, on a free management port, and waits until
    /// `/health/ready` answers 200.
    pub async fn start(name: &str, binary: &PathBuf, port: u16, env: &[(String, String)]) -> Self {
        let log = log_path(name);
        let file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let errors = file
            .try_clone()
            .unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let keys = test_keys();
        // Each binary reads its own variable; replicas side by side need
        // a management port each.
        let admin_port = env
            .iter()
            .find(|(name, _)| ADMIN_PORT_VARIABLES.contains(&name.as_str()))
            .map_or_else(|| free_port().to_string(), |(_, port)| port.clone());
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn")
            .envs(ADMIN_PORT_VARIABLES.map(|name| (name, admin_port.as_str())))
            .env("LINE_EVENTS_SIGNING_KEY_FILE", &keys.signing_key_file)
            .env("LINE_EVENTS_VERIFY_KEY_FILES", &keys.verify_key_file)
            .env("BET_MAKER_JWT_SECRET", crate::bet_maker_support::JWT_SECRET)
            // The provider's webhook (bet-maker's default), as in-process
            // tests run it: a test posts the signed notices itself.
            .env(
                "BET_MAKER_PAYMENTS_WEBHOOK_SECRETS",
                crate::bet_maker_support::WEBHOOK_SECRET,
            )
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // The services read .env from their working directory: give
            // them one with nothing in it.
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(errors))
            .kill_on_drop(true);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let process = Self {
            name: name.to_owned(),
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            management_url: format!("http://127.0.0.1:{admin_port}"),
            log,
        };
        process.wait_until_ready().await;
        process
    }

    /// Waits until `/health/ready` answers 200.
    pub async fn wait_until_ready(&self) {
        let client = reqwest::Client::new();
        let url = format!("{}/health/ready", self.base_url);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} not ready within {PATIENCE:?}; its log: {}",
                self.name,
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Resident memory (VmRSS) in KiB, from `/proc`.
    pub fn resident_kib(&self) -> Option<u64> {
        resident_kib_of(self.child.id()?)
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL: no shutdown, no clean-up, as a crash or an OOM kill.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM, then waits for the process to exit; returns how it exited.
    pub async fn terminate(&mut self) -> ExitStatus {
        let pid = self
            .child
            .id()
            .unwrap_or_else(|| panic!("{} has already exited", self.name));
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .unwrap_or_else(|e| panic!("kill -TERM {pid}: {e}"));
        assert!(sent.success(), "kill -TERM {pid} failed");
        match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(e)) => panic!("waiting for {}: {e}", self.name),
            Err(_) => panic!(
                "{} did not exit within {PATIENCE:?} of SIGTERM; log: {}",
                self.name,
                self.log.display()
            ),
        }
    }
}

impl Drop for ServiceProcess {
    /// The log of a test that passed is of no interest; a failing test's
    /// stays for reading (its path is in the failure message).
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// `target/<profile>/system-test-logs/<name>-<uuid>.log`, next to the binaries' target dir.
fn log_path(name: &str) -> PathBuf {
    let dir = binary_dir().join("system-test-logs");
    let _ = std::fs::create_dir_all(&dir);
    dir.join(format!("{name}-{}.log", uuid::Uuid::new_v4().simple()))
}

/// `target/<profile>`: where this executable is (a binary), or the folder
/// above it (a test, in `target/<profile>/deps`).
fn binary_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current exe: {e}"));
    let dir = exe
        .parent()
        .unwrap_or_else(|| panic!("no folder above {}", exe.display()));
    if dir.file_name().is_some_and(|name| name == "deps") {
        dir.parent()
            .map_or_else(|| dir.to_path_buf(), PathBuf::from)
    } else {
        dir.to_path_buf()
    }
}

/// Resident memory (VmRSS) of process `pid` in KiB, from `/proc`.
pub fn resident_kib_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
