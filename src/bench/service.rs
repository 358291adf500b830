//! The service under test: this same binary, `serve`, as a child process
//! on the run's database and topics, its log in the output folder.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::phase::PhaseSpec;
use crate::cli::BenchArgs;

pub(super) struct Topics {
    pub(super) commands: String,
    pub(super) events: String,
    pub(super) dlq: String,
    pub(super) relay: String,
}

pub(super) fn start_service(
    args: &BenchArgs,
    spec: &PhaseSpec,
    database_url: &str,
    topics: &Topics,
    suffix: &str,
    http_addr: SocketAddr,
    log: &Path,
) -> anyhow::Result<Child> {
    let log = std::fs::File::create(log).context("creating the service log")?;
    Command::new(std::env::current_exe().context("locating this binary")?)
        .arg("serve")
        .env("DATABASE_URL", database_url)
        .env("KAFKA_BOOTSTRAP_SERVERS", &args.kafka.bootstrap_servers)
        .env("KAFKA_COMMANDS_TOPIC", &topics.commands)
        .env("KAFKA_EVENTS_TOPIC", &topics.events)
        .env("KAFKA_DLQ_TOPIC", &topics.dlq)
        .env("KAFKA_RELAY_TOPIC", &topics.relay)
        .env("KAFKA_GROUP_ID", format!("bench-{suffix}"))
        .env("KAFKA_CREATE_TOPICS", "false")
        .env("HTTP_ADDR", http_addr.to_string())
        .env("BATCH_SIZE", spec.batch_size.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting the service")
}

/// A loopback address with a port free right now, for the service's HTTP
/// server (the bench's readers need to know it before the service starts).
pub(super) fn free_local_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}

pub(super) fn stop(service: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = service.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = service.kill();
    let _ = service.wait();
}
