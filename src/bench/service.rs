//! The service under test: this same binary, `serve`, as a child process
//! on the run's database and topics, its log in the output folder.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::phase::PhaseSpec;
use crate::cli::BenchArgs;
use crate::config::{DatabaseSettings, ServeSettings};

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
    // The service's settings as this environment gives them, pointed at the
    // run's database, broker, topics and group.
    let mut settings =
        ServeSettings::try_from_env().context("the service's settings in this environment")?;
    settings.database = DatabaseSettings {
        database_url: database_url.to_owned(),
        ..args.database.clone()
    };
    settings.kafka.connection = args.kafka.clone();
    settings.kafka.commands_topic = topics.commands.clone();
    settings.kafka.events_topic = topics.events.clone();
    settings.kafka.dlq_topic = topics.dlq.clone();
    settings.kafka.relay_topic = Some(topics.relay.clone());
    settings.group.group_id = format!("bench-{suffix}");
    settings.topics.create_topics = false;
    settings.http.http_addr = http_addr;
    settings.intake.batch_size = spec.batch_size;
    Command::new(std::env::current_exe().context("locating this binary")?)
        .arg("serve")
        .envs(settings.env())
        // Names its sessions for PostgreSQL's log: `scripts/pg-ceiling`
        // replays what they sent, and not the bench's own reads.
        .env("PGAPPNAME", "order-service")
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
