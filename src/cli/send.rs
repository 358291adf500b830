//! `order-service send`: publishes commands — given as JSON (protobuf JSON
//! mapping), a file of JSON lines, or flags — to the command topic as
//! protobuf, key = order_id. Prints one `{"command_id", "order_id"}` line
//! per command; with `--wait`, also the event the command caused.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use prost::Message as _;
use rdkafka::Message as _;
use serde_json::json;

use super::SendArgs;
use super::progress::Progress;
use super::reader::{Start, TopicReader};
use crate::commands::{self, CommandPublisher, complete};
use crate::proto::{self, OrderCommand, OrderEvent};

/// Commands in flight at once when sending many without `--wait`.
const WINDOW: usize = 1_000;

/// `send --wait` saw at least one command rejected (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0} command(s) rejected")]
pub struct Rejected(pub usize);

pub async fn send(args: SendArgs) -> anyhow::Result<()> {
    let commands = commands(&args)?;
    let publisher = CommandPublisher::new(&args.kafka.connection, &args.kafka.commands_topic)
        .context("creating the producer")?;
    if args.wait {
        send_and_wait(&args, &publisher, commands).await
    } else {
        send_all(&publisher, commands).await
    }
}

/// Every command to send, parsed and completed before anything is sent: a
/// bad line stops the run with nothing half-sent.
fn commands(args: &SendArgs) -> anyhow::Result<Vec<OrderCommand>> {
    if let Some(command) = &args.command {
        let command = command.clone().into_parts()?.into_command();
        return Ok(vec![complete(command).context("invalid command")?.0]);
    }
    let lines: Vec<String> = match &args.file {
        Some(path) if path.as_os_str() != "-" => std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        )
        .lines()
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", path.display()))?,
        _ if args.json.is_empty() || args.json == ["-"] => std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .context("reading stdin")?,
        _ => args.json.clone(),
    };
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| prepare_command(line).with_context(|| format!("line {}", number + 1)))
        .collect()
}

/// Parses one JSON command and fills in what a person typing it may leave
/// out (see [`complete`]).
pub fn prepare_command(json: &str) -> anyhow::Result<OrderCommand> {
    let command: OrderCommand =
        serde_json::from_str(json).context("not an OrderCommand in the protobuf JSON mapping")?;
    if command.command.is_none() {
        let names: Vec<&str> = commands::routes().iter().map(|r| r.name).collect();
        bail!("no command given: set one of {}", names.join(", "));
    }
    Ok(complete(command)?.0)
}

fn print_sent(command: &OrderCommand) {
    println!(
        "{}",
        json!({"command_id": command.command_id, "order_id": command.order_id})
    );
}

/// Publishes with up to [`WINDOW`] commands in flight (the idempotent
/// producer keeps them in order per partition), printing each once the
/// broker acknowledged it, and progress on stderr.
async fn send_all(publisher: &CommandPublisher, commands: Vec<OrderCommand>) -> anyhow::Result<()> {
    let total = commands.len();
    let mut progress = Progress::new("sent", Some(total));
    let mut in_flight = FuturesOrdered::new();
    let mut queue = commands.into_iter();
    loop {
        while in_flight.len() < WINDOW {
            let Some(command) = queue.next() else { break };
            in_flight.push_back(async move {
                let result = publisher.publish(&command).await;
                (command, result)
            });
        }
        let Some((command, result)) = in_flight.next().await else {
            break;
        };
        result.with_context(|| format!("publishing command {}", command.command_id))?;
        print_sent(&command);
        progress.tick();
    }
    progress.finish();
    Ok(())
}

/// Publishes one command at a time and waits for the event it caused.
async fn send_and_wait(
    args: &SendArgs,
    publisher: &CommandPublisher,
    commands: Vec<OrderCommand>,
) -> anyhow::Result<()> {
    // Opened before the first publish: no event can be missed.
    let mut events =
        TopicReader::open(&args.kafka.connection, &args.kafka.events_topic, Start::End).await?;
    let timeout = Duration::from_secs(args.wait_timeout_secs);
    let mut rejected = 0;
    for command in commands {
        publisher
            .publish(&command)
            .await
            .with_context(|| format!("publishing command {}", command.command_id))?;
        let event = tokio::time::timeout(timeout, outcome(&mut events, &command.command_id))
            .await
            .with_context(|| {
                format!(
                    "no event for command {} within {} s (a command_id that was processed before causes none)",
                    command.command_id, args.wait_timeout_secs
                )
            })??;
        let is_rejection = matches!(
            event.event,
            Some(proto::order_event::Event::CommandRejected(_))
        );
        rejected += usize::from(is_rejection);
        println!(
            "{}",
            json!({
                "command_id": command.command_id,
                "order_id": command.order_id,
                "outcome": if is_rejection { "rejected" } else { "applied" },
                "event": serde_json::to_value(&event).context("encoding JSON")?,
            })
        );
    }
    if rejected > 0 {
        return Err(Rejected(rejected).into());
    }
    Ok(())
}

/// The first event caused by `command_id`.
async fn outcome(events: &mut TopicReader, command_id: &str) -> anyhow::Result<OrderEvent> {
    loop {
        let Some(message) = events.next(false).await? else {
            continue;
        };
        if let Ok(event) = OrderEvent::decode(message.payload().unwrap_or_default())
            && event.command_id == command_id
        {
            return Ok(event);
        }
    }
}
