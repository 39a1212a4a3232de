//! One replica of a service as a process, behind its own proxies to
//! PostgreSQL and RabbitMQ.

use std::path::PathBuf;

use shared_kernel::testing::{amqp_url, database_server_url};

use crate::process::{ServiceProcess, binary, free_port};
use crate::proxy::TcpProxy;

/// One replica of a service: its process (absent while killed or stopped)
/// and its two proxies.
#[derive(Debug)]
pub struct Node {
    pub(super) name: String,
    binary: PathBuf,
    port: u16,
    env: Vec<(String, String)>,
    /// The running process, if any.
    pub process: Option<ServiceProcess>,
    /// Between this replica and RabbitMQ.
    pub amqp: TcpProxy,
    /// Between this replica and PostgreSQL.
    pub database: TcpProxy,
}

impl Node {
    pub(super) async fn new(
        name: &str,
        binary_name: &str,
        database_url: &str,
        env: Vec<(String, String)>,
        port_variable: &str,
    ) -> Self {
        let amqp = TcpProxy::start(&host_port(&amqp_url())).await;
        let database = TcpProxy::start(&host_port(&database_server_url())).await;
        let port = free_port();
        let mut env = env;
        env.push((port_variable.to_owned(), port.to_string()));
        let broker = env
            .iter()
            .find(|(name, _)| name == "AMQP_URL")
            .map_or_else(amqp_url, |(_, url)| url.clone());
        env.retain(|(name, _)| name != "AMQP_URL");
        env.push(("AMQP_URL".to_owned(), via(&broker, &amqp)));
        let database_variable = if binary_name == "line-provider" {
            "LINE_PROVIDER_DATABASE_URL"
        } else {
            "BET_MAKER_DATABASE_URL"
        };
        env.push((database_variable.to_owned(), via(database_url, &database)));
        let mut node = Self {
            name: name.to_owned(),
            binary: binary(binary_name),
            port,
            env,
            process: None,
            amqp,
            database,
        };
        node.start().await;
        node
    }

    /// Starts the process (again), and waits until it is ready.
    pub async fn start(&mut self) {
        self.process =
            Some(ServiceProcess::start(&self.name, &self.binary, self.port, &self.env).await);
    }

    /// SIGKILL.
    pub async fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill().await;
        }
    }

    /// SIGTERM; returns whether it exited with status 0.
    pub async fn terminate(&mut self) -> bool {
        match self.process.take() {
            Some(mut process) => process.terminate().await.success(),
            None => panic!("{} is not running", self.name),
        }
    }

    /// Sets an environment variable for the next start (a new key file, say).
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(existing, _)| existing != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// SIGTERM, asserting a clean exit, then starts again with the current
    /// environment: one step of a rolling restart.
    pub async fn restart(&mut self) {
        let log = self.log();
        assert!(
            self.terminate().await,
            "{} did not exit with 0 on SIGTERM; log: {log}",
            self.name
        );
        self.start().await;
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>` of its current process's management
    /// listener (`/metrics`); fails the test if it is not running.
    pub fn management_url(&self) -> String {
        self.process
            .as_ref()
            .map(|process| process.management_url.clone())
            .unwrap_or_else(|| panic!("{} is not running", self.name))
    }

    /// Where its current process logs.
    pub fn log(&self) -> String {
        self.process
            .as_ref()
            .map(|p| p.log.display().to_string())
            .unwrap_or_default()
    }
}

/// `host:port` of a URL.
fn host_port(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    format!(
        "{}:{}",
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port_or_known_default().unwrap_or_default()
    )
}

/// The same URL, through the proxy.
fn via(url: &str, proxy: &TcpProxy) -> String {
    let mut parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let _ = parsed.set_host(Some("127.0.0.1"));
    let _ = parsed.set_port(Some(proxy.address().port()));
    parsed.to_string()
}
