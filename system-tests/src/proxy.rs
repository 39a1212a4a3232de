//! A TCP proxy the test owns, between a service and PostgreSQL or RabbitMQ,
//! so a test can cut a service's connections without touching the shared
//! servers everyone else on the machine uses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Forwards `127.0.0.1:<port>` to an upstream address until cut.
#[derive(Debug)]
pub struct TcpProxy {
    address: SocketAddr,
    refusing: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
    accepting: JoinHandle<()>,
}

impl TcpProxy {
    /// Starts forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("proxy listener: {e}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy address: {e}"));
        let refusing = Arc::new(AtomicBool::new(false));
        let (cuts, _) = watch::channel(0u64);
        let accepting = tokio::spawn(accept(
            listener,
            upstream.to_owned(),
            refusing.clone(),
            cuts.clone(),
        ));
        Self {
            address,
            refusing,
            cuts,
            accepting,
        }
    }

    /// `127.0.0.1:<port>`: where the service should connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Closes every connection through the proxy and refuses new ones, as a
    /// network cut or a crashed server would look to the service.
    pub fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        self.cuts.send_modify(|generation| *generation += 1);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cuts.send_modify(|generation| *generation += 1);
    }
}

async fn accept(
    listener: TcpListener,
    upstream: String,
    refusing: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if refusing.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let upstream = upstream.clone();
        let mut cut = cuts.subscribe();
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(&upstream).await else {
                return;
            };
            let mut client = client;
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cut.changed() => {}
            }
            // Both sockets drop here: the service sees its connection die.
        });
    }
}
