//! The service as a child process, so a test can kill it for real.

use std::fs::File;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use order_service::config::{GroupProtocol, ServeSettings};

/// How long a SIGTERM'd service may take to exit: Kubernetes' default
/// grace period. The slowest case measured (every broker gone: the group
/// leave and the relay's final flush each wait out their limit) takes
/// about 7.5 s; a clean stop well under a second.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(30);

pub struct ServiceProcess {
    child: Child,
    /// Where its HTTP server is reached from the test.
    http_host: String,
    http_port: u16,
}

impl ServiceProcess {
    /// Starts `order-service serve` with `settings` as environment variables;
    /// its log goes to `target/chaos-logs/<name>.log`.
    pub fn start(settings: &ServeSettings, name: &str) -> Self {
        Self::start_binary(env!("CARGO_BIN_EXE_order-service"), settings, name)
    }

    /// As [`start`](Self::start), but another build of the service (an
    /// earlier release).
    pub fn start_binary(program: &str, settings: &ServeSettings, name: &str) -> Self {
        Self::spawn_program(program, settings, name, |command| tuned(command, settings))
    }
}

/// Every setting of `settings` (ServeSettings::env), but the HTTP address
/// the process was given, no topic creation (the test made them), and the
/// service's own defaults where the in-process tests' settings are made
/// for quick checks rather than the fault tests' loads: the housekeeper's
/// pace, the retention and the relay's rows per round.
fn tuned(command: &mut Command, settings: &ServeSettings) {
    command.envs(settings.env().into_iter().filter(|(name, _)| {
        !matches!(
            *name,
            "HTTP_ADDR"
                | "KAFKA_CREATE_TOPICS"
                | "HOUSEKEEPING_INTERVAL_MS"
                | "RETENTION_SECS"
                | "RELAY_BATCH_SIZE"
        )
    }));
}

impl ServiceProcess {
    /// As [`start`](Self::start), but with the service's default settings:
    /// only where to connect (database, broker, topics, group, HTTP port).
    pub fn start_with_defaults(settings: &ServeSettings, name: &str) -> Self {
        Self::spawn(settings, name, |_| {})
    }

    /// As [`start_with_defaults`](Self::start_with_defaults), plus `env`.
    pub fn start_with_env(settings: &ServeSettings, name: &str, env: &[(&str, String)]) -> Self {
        Self::spawn(settings, name, |command| {
            command.envs(env.iter().map(|(k, v)| (k, v)));
        })
    }

    /// Where [`start`](Self::start) writes the log of `name`.
    pub fn log_path(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/chaos-logs")
            .join(format!("{name}.log"))
    }

    fn spawn(settings: &ServeSettings, name: &str, tune: impl FnOnce(&mut Command)) -> Self {
        Self::spawn_program(env!("CARGO_BIN_EXE_order-service"), settings, name, tune)
    }

    /// As [`start`](Self::start), inside the network namespace `netns`
    /// (`ip netns exec`, which becomes the service: signals reach it), its
    /// HTTP server on `address` (an address of the namespace).
    pub fn start_in_netns(
        netns: &str,
        address: &str,
        settings: &ServeSettings,
        name: &str,
    ) -> Self {
        let mut process = Self::spawn_command(
            {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns, env!("CARGO_BIN_EXE_order-service")]);
                command
            },
            settings,
            name,
            |command| tuned(command, settings),
            address,
        );
        process.http_host = address.to_owned();
        process
    }

    fn spawn_program(
        program: &str,
        settings: &ServeSettings,
        name: &str,
        tune: impl FnOnce(&mut Command),
    ) -> Self {
        Self::spawn_command(Command::new(program), settings, name, tune, "127.0.0.1")
    }

    fn spawn_command(
        mut command: Command,
        settings: &ServeSettings,
        name: &str,
        tune: impl FnOnce(&mut Command),
        http_host: &str,
    ) -> Self {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/chaos-logs");
        std::fs::create_dir_all(&dir).expect("log dir");
        let log = File::options()
            .create(true)
            .append(true)
            .open(dir.join(format!("{name}.log")))
            .expect("log file");
        let http_port = crate::helpers::free_port();
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("DATABASE_URL", &settings.database.database_url)
            .env(
                "KAFKA_BOOTSTRAP_SERVERS",
                &settings.kafka.connection.bootstrap_servers,
            )
            .env("KAFKA_COMMANDS_TOPIC", &settings.kafka.commands_topic)
            .env("KAFKA_EVENTS_TOPIC", &settings.kafka.events_topic)
            .env("KAFKA_DLQ_TOPIC", &settings.kafka.dlq_topic)
            .env("KAFKA_RELAY_TOPIC", settings.kafka.relay_topic())
            .env("KAFKA_GROUP_ID", &settings.group.group_id)
            .env("HTTP_ADDR", format!("{http_host}:{http_port}"))
            .env("KAFKA_CREATE_TOPICS", "false");
        if let Some(instance) = &settings.group.instance_id {
            command.env("KAFKA_GROUP_INSTANCE_ID", instance);
        }
        // The group's protocol is where to connect too: a group cannot mix
        // them.
        if settings.group.protocol == GroupProtocol::Consumer {
            command.env("KAFKA_GROUP_PROTOCOL", "consumer");
        }
        tune(&mut command);
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start order-service");
        Self {
            child,
            http_host: http_host.to_owned(),
            http_port,
        }
    }

    /// The URL of `path` on the process's HTTP server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{path}", self.http_host, self.http_port)
    }

    /// Waits until this process has applied a batch (its own
    /// `batch_size` histogram counts one), up to a minute.
    pub async fn wait_until_it_applies(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let url = self.url("/metrics");
        loop {
            if let Ok(response) = reqwest::get(&url).await
                && let Ok(text) = response.text().await
                && text.lines().any(|line| {
                    line.strip_prefix("order_service_batch_size_count ")
                        .is_some_and(|count| count.trim() != "0")
                })
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the process applied nothing in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `GET /readyz`: the status code and body, `None` while nothing answers.
    pub async fn readiness(&self) -> Option<(u16, serde_json::Value)> {
        crate::helpers::readiness_at(&format!("http://{}:{}", self.http_host, self.http_port)).await
    }

    /// Sends `signal` (e.g. `STOP`, `CONT`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `within` for the process to exit by itself.
    pub async fn exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// `kill -TERM`, then waits up to `within` (normally [`SHUTDOWN_BOUND`])
    /// for the exit.
    pub async fn terminate(mut self, within: Duration) -> Option<ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        // Past `within`, dropping `self` kills it.
        self.exit(within).await
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
