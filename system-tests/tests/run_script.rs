//! `make run`'s own steps, run as a newcomer runs them: `scripts/run.sh`
//! starts both services and shows its banner only once each answers for
//! itself (a service that cannot start is named, the other stopped, the
//! exit status not 0, no banner, nothing left running), and
//! `scripts/preflight.sh` says which broker it could not reach, set where.
//!
//! The services run on databases, an exchange, queues and ports of the
//! test's own: every setting `.env` gives is set here (the environment
//! wins), so a `make run` on the same machine is never in the way.

use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use shared_kernel::testing::{
    PATIENCE, TestBroker, TestDatabase, alerts_exchange, amqp_url, database_server_url, test_keys,
};
use system_tests::process::{binary, free_port};
use system_tests::{JWT_SECRET, OPERATOR_TOKEN};

/// The banner's lines that say the services are up.
const BANNER: [&str; 2] = ["Ctrl-C stops both", "bettor app"];

/// The repository: where `make run` runs the scripts from.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What `scripts/run.sh` runs on: two migrated databases, an exchange and
/// queues (all removed when dropped), and free ports.
struct Stage {
    line_provider_db: TestDatabase,
    bet_maker_db: TestDatabase,
    broker: TestBroker,
    queue: String,
    line_provider_port: u16,
    bet_maker_port: u16,
}

impl Stage {
    async fn new(label: &str) -> Self {
        let line_provider_db = TestDatabase::create::<
            line_provider::infrastructure::persistence::migrations::Migrator,
        >(
            "run_line_provider",
            line_provider::infrastructure::persistence::migrations::schema_fingerprint(),
        )
        .await
        .unwrap_or_else(|e| panic!("line-provider database: {e}"));
        let bet_maker_db =
            TestDatabase::create::<bet_maker::infrastructure::persistence::migrations::Migrator>(
                "run_bet_maker",
                bet_maker::infrastructure::persistence::migrations::schema_fingerprint(),
            )
            .await
            .unwrap_or_else(|e| panic!("bet-maker database: {e}"));
        let mut broker = TestBroker::new(label)
            .await
            .unwrap_or_else(|e| panic!("broker: {e}"));
        let (queue, _) = broker.own_consumer_queues("bet-maker");
        Self {
            line_provider_db,
            bet_maker_db,
            broker,
            queue,
            line_provider_port: free_port(),
            bet_maker_port: free_port(),
        }
    }

    /// Every variable `.env` sets, and the ports it leaves to defaults
    /// (the management and gRPC ports), the test's own.
    fn env(&self) -> Vec<(&'static str, String)> {
        let keys = test_keys();
        let bin_dir = binary("bet-maker")
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        vec![
            ("PATH", std::env::var("PATH").unwrap_or_default()),
            ("RUN_BIN_DIR", bin_dir.display().to_string()),
            (
                "LINE_PROVIDER_DATABASE_URL",
                self.line_provider_db.url.clone(),
            ),
            ("BET_MAKER_DATABASE_URL", self.bet_maker_db.url.clone()),
            ("LINE_PROVIDER_DB_POOL_SIZE", "2".to_owned()),
            ("BET_MAKER_DB_POOL_SIZE", "2".to_owned()),
            ("LINE_PROVIDER_PORT", self.line_provider_port.to_string()),
            ("LINE_PROVIDER_GRPC_PORT", free_port().to_string()),
            ("LINE_PROVIDER_ADMIN_PORT", free_port().to_string()),
            ("BET_MAKER_PORT", self.bet_maker_port.to_string()),
            ("BET_MAKER_ADMIN_PORT", free_port().to_string()),
            ("LINE_PROVIDER_GRPC_URL", "http://127.0.0.1:1".to_owned()),
            ("LINE_PROVIDER_ADMIN_TOKEN", OPERATOR_TOKEN.to_owned()),
            (
                "LINE_EVENTS_SIGNING_KEY_FILE",
                keys.signing_key_file.display().to_string(),
            ),
            (
                "LINE_EVENTS_VERIFY_KEY_FILES",
                keys.verify_key_file.display().to_string(),
            ),
            ("BET_MAKER_JWT_SECRET", JWT_SECRET.to_owned()),
            ("AMQP_URL", amqp_url()),
            ("LINE_EVENTS_EXCHANGE", self.broker.exchange.clone()),
            ("BET_MAKER_QUEUE", self.queue.clone()),
            (
                "OPS_ALERTS_EXCHANGE",
                alerts_exchange(&self.broker.exchange),
            ),
            ("RUST_LOG", "info,sqlx=warn,sea_orm=warn".to_owned()),
            ("LOG_FORMAT", "pretty".to_owned()),
            ("RUN_START_SECS", PATIENCE.as_secs().to_string()),
        ]
    }

    /// The processes still running with this stage's exchange in their
    /// environment: the services it started, if anything is left.
    fn left_running(&self) -> Vec<u32> {
        let needle = format!("LINE_EVENTS_EXCHANGE={}", self.broker.exchange);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| *pid != std::process::id())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                    environ
                        .split(|byte| *byte == 0)
                        .any(|variable| variable == needle.as_bytes())
                })
            })
            .collect()
    }
}

/// `scripts/run.sh`, started in a process group of its own (so that a test
/// that fails kills the services with it), its output kept in files.
struct RunScript {
    child: std::process::Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl RunScript {
    fn start(env: &[(&'static str, String)]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("run-script-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let stdout = dir.join("stdout");
        let stderr = dir.join("stderr");
        let file = |path: &Path| {
            std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let child = Command::new(repository().join("scripts/run.sh"))
            .env_clear()
            .envs(env.iter().map(|(name, value)| (*name, value.as_str())))
            .stdin(Stdio::null())
            .stdout(file(&stdout))
            .stderr(file(&stderr))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting scripts/run.sh: {e}"));
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// What it wrote so far: stdout, then stderr.
    fn output(&self) -> (String, String) {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        (read(&self.stdout), read(&self.stderr))
    }

    /// Its exit status, if it exits within `within`.
    fn exit_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Ok(None) => return None,
                Err(e) => panic!("waiting for scripts/run.sh: {e}"),
            }
        }
    }

    /// Waits until stdout says `text`, or the script exits, or `within`.
    fn wait_for_output(&mut self, text: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.output().0.contains(text) {
                return true;
            }
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return self.output().0.contains(text);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Sends `signal` to the script alone (as `kill -INT <pid>` would).
    fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("kill -{signal}: {e}"));
        assert!(sent.success(), "kill -{signal} {}", self.child.id());
    }
}

impl Drop for RunScript {
    /// Whatever happened, nothing of the script's group outlives the test.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        if !std::thread::panicking()
            && let Some(dir) = self.stdout.parent()
        {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// A program that took `port` first and answers every request with 200,
/// as another `make run`'s bet-maker would: its answer is not bet-maker's.
fn occupy(port: u16) -> TcpListener {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("occupying port {port}: {e}"));
    let accepting = listener
        .try_clone()
        .unwrap_or_else(|e| panic!("the listener on {port}: {e}"));
    std::thread::spawn(move || {
        for stream in accepting.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                use std::io::{Read as _, Write as _};
                let mut request = [0_u8; 1024];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                );
            });
        }
    });
    listener
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_cannot_start_is_named_the_other_stopped_and_no_banner_shown() {
    let stage = Stage::new("run-taken-port").await;
    let _taken = occupy(stage.bet_maker_port);
    let env = stage.env();

    let mut script = tokio::task::block_in_place(|| RunScript::start(&env));
    let status = tokio::task::block_in_place(|| script.exit_within(PATIENCE * 2));

    let (stdout, stderr) = script.output();
    let status = status.unwrap_or_else(|| {
        panic!(
            "scripts/run.sh still runs after {:?}:\n{stdout}\n{stderr}",
            PATIENCE * 2
        )
    });
    assert!(
        !status.success(),
        "a failed start exits non-zero: {status}\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("bet-maker stopped") && stderr.contains("its log lines above say why"),
        "the message names bet-maker:\n{stderr}"
    );
    assert!(
        stderr.contains("BET_MAKER_PORT"),
        "bet-maker's own line says which port:\n{stderr}"
    );
    assert!(
        !stderr.contains("line-provider stopped") && !stderr.contains("line-provider did not"),
        "line-provider started; only bet-maker failed:\n{stderr}"
    );
    for line in BANNER {
        assert!(
            !stdout.contains(line) && !stderr.contains(line),
            "no banner ({line}):\n{stdout}"
        );
    }
    assert_eq!(
        stage.left_running(),
        Vec::<u32>::new(),
        "nothing is left running"
    );
    TcpListener::bind(("127.0.0.1", stage.line_provider_port))
        .unwrap_or_else(|e| panic!("line-provider's port is still taken: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_services_up_show_the_banner_and_ctrl_c_stops_both() {
    let stage = Stage::new("run-both-up").await;
    let env = stage.env();

    let mut script = tokio::task::block_in_place(|| RunScript::start(&env));
    let banner = tokio::task::block_in_place(|| script.wait_for_output(BANNER[0], PATIENCE * 2));
    let (stdout, stderr) = script.output();
    assert!(banner, "no banner:\n{stdout}\n{stderr}");
    let live = reqwest::get(format!(
        "http://127.0.0.1:{}/health/live",
        stage.bet_maker_port
    ))
    .await
    .map(|response| response.status());
    assert!(
        live.as_ref().is_ok_and(|status| status.is_success()),
        "bet-maker answers once the banner is shown: {live:?}"
    );

    script.signal("INT");
    let status = tokio::task::block_in_place(|| script.exit_within(PATIENCE));

    let (stdout, stderr) = script.output();
    assert!(
        status.is_some_and(|status| status.success()),
        "Ctrl-C stops both and exits 0: {status:?}\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stage.left_running(),
        Vec::<u32>::new(),
        "nothing is left running"
    );
}

/// `scripts/preflight.sh` with the databases of this machine's server and
/// `amqp_url`: its exit status and stderr.
fn preflight(amqp_url: &str) -> (ExitStatus, String) {
    let server = database_server_url();
    let output = Command::new(repository().join("scripts/preflight.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LINE_PROVIDER_DATABASE_URL", &server)
        .env("BET_MAKER_DATABASE_URL", &server)
        .env("AMQP_URL", amqp_url)
        .output()
        .unwrap_or_else(|e| panic!("running scripts/preflight.sh: {e}"));
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unreachable_broker_is_named_with_its_variable_and_where_it_was_set() {
    let (status, elsewhere) = preflight("amqp://guest:a-password@rabbit.invalid:5672/%2f");
    assert!(!status.success(), "{elsewhere}");
    assert!(
        elsewhere.contains(
            "RabbitMQ is not reachable at rabbit.invalid:5672 (AMQP_URL, from the environment)"
        ),
        "{elsewhere}"
    );
    assert!(
        !elsewhere.contains("a-password"),
        "never the password: {elsewhere}"
    );
    assert!(
        !elsewhere.contains("rabbitmq-server"),
        "nothing to start on this machine for a broker elsewhere: {elsewhere}"
    );

    let port = free_port();
    let (status, here) = preflight(&format!("amqp://guest:guest@127.0.0.1:{port}/%2f"));
    assert!(!status.success(), "{here}");
    assert!(
        here.contains(&format!(
            "RabbitMQ is not reachable at 127.0.0.1:{port} (AMQP_URL, from the environment)"
        )),
        "{here}"
    );
    assert!(!here.contains("not this machine"), "{here}");
}
