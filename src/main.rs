use std::process::ExitCode;

use order_service::cli::{Cli, CliCommand};
use order_service::config::ServeSettings;
use order_service::db::{Database, PoolUsage};
use order_service::shutdown::{Shutdown, ShutdownTrigger};
use order_service::startup::Application;
use order_service::{cli, telemetry};

fn main() -> ExitCode {
    limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime")
        .block_on(run_main())
}

/// glibc's malloc gives a thread that meets contention an arena of its
/// own, up to eight per core, and hands little of their memory back: in
/// 1,000,000-command bursts the service peaked at 111-119 MB of RSS with
/// them, 96-99 MB with two arenas, at the same throughput (0.93 and 1.05
/// of it, pair by pair). `MALLOC_ARENA_MAX`, when set, decides instead.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called before any thread is started.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

async fn run_main() -> ExitCode {
    let args = Cli::parse_args();
    if matches!(
        args.command,
        Some(
            CliCommand::Send(_)
                | CliCommand::Tail(_)
                | CliCommand::Dlq(_)
                | CliCommand::Positions(_)
        )
    ) {
        restore_sigpipe();
    }
    let command = args
        .command
        .unwrap_or_else(|| CliCommand::Serve(Box::new(ServeSettings::from_env())));
    let otlp_endpoint = match &command {
        CliCommand::Serve(settings) => settings.http.otlp_endpoint.clone(),
        _ => None,
    };
    let _telemetry = telemetry::init(args.log_format, otlp_endpoint.as_deref());
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        // `send --wait` printed the rejections; the status says there were some.
        Err(e) if e.is::<cli::Rejected>() => ExitCode::from(2),
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, error.message = %e, "order-service failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: CliCommand) -> anyhow::Result<()> {
    match command {
        CliCommand::Serve(settings) => {
            let app = Application::build(*settings).await?;
            app.run_until_stopped(on_signal()).await
        }
        CliCommand::Migrate(settings) => {
            let applied = Database::new(&settings, PoolUsage::default())
                .migrate()
                .await?;
            tracing::info!(?applied, "database is migrated");
            Ok(())
        }
        CliCommand::Send(args) => cli::send(args).await,
        CliCommand::Tail(args) => cli::tail(args, on_signal()).await,
        CliCommand::Dlq(args) => cli::dlq(args).await,
        CliCommand::Positions(args) => cli::positions(*args).await,
        #[cfg(feature = "bench")]
        CliCommand::Bench(args) => order_service::bench::run(args).await,
    }
}

/// Rust ignores SIGPIPE, so `order-service tail | head -1` would panic on
/// the closed pipe; a command-line tool should just end, as `cat` does.
/// (Not for `serve`, whose sockets must never end the process.)
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called before the verb starts any client thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A [`Shutdown`] that fires on SIGINT or SIGTERM.
fn on_signal() -> Shutdown {
    let (trigger, shutdown) = ShutdownTrigger::new();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received");
        trigger.fire();
    });
    shutdown
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
