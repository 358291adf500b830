//! The consumer group the instances share: its id, the group protocol,
//! this instance's static membership, and how the group assigns
//! partitions.

use clap::{Args, ValueEnum};

use super::env::Env;

/// Which group protocol the consumer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum GroupProtocol {
    /// The classic protocol (every broker since Kafka 2.4): the members
    /// assign the partitions (`KAFKA_PARTITION_ASSIGNMENT_STRATEGY`) and
    /// the session is the client's (`KAFKA_SESSION_TIMEOUT_MS`).
    #[default]
    Classic,
    /// Kafka 4's consumer protocol (KIP-848): the broker assigns, and the
    /// session and heartbeat are the broker's settings
    /// (`group.consumer.session.timeout.ms`,
    /// `group.consumer.heartbeat.interval.ms`).
    Consumer,
}

#[derive(Debug, Clone, Args)]
pub struct GroupSettings {
    /// Consumer group of the service's instances.
    #[arg(long, env = "KAFKA_GROUP_ID", default_value = "order-service")]
    pub group_id: String,

    /// The group protocol: `classic`, or `consumer` (Kafka 4's KIP-848;
    /// brokers from 4.0). Every instance of a group should speak the same
    /// one.
    #[arg(long, env = "KAFKA_GROUP_PROTOCOL", value_enum, default_value_t)]
    pub protocol: GroupProtocol,

    /// This instance's static member id (`group.instance.id`): a restarted
    /// instance with the same id gets its partitions back at once, without
    /// a rebalance. Give each instance its own, stable across restarts (a
    /// StatefulSet's pod name, a systemd instance name); two running
    /// instances with one id fence each other. A static member sends no
    /// LeaveGroup when it stops: its partitions wait for its session
    /// timeout unless it comes back. Unset: a dynamic member.
    #[arg(long, env = "KAFKA_GROUP_INSTANCE_ID", value_parser = parse_instance_id)]
    pub instance_id: Option<String>,

    /// Classic protocol only: how partitions are assigned [default:
    /// cooperative-sticky], which moves only the partitions that must move
    /// when a member joins or leaves. Releases before it used librdkafka's
    /// eager `range,roundrobin`, and a group cannot mix the two: upgrade by
    /// stopping every instance first, or roll out with `range,roundrobin`
    /// and switch in a later full stop.
    #[arg(long, env = "KAFKA_PARTITION_ASSIGNMENT_STRATEGY")]
    pub assignment_strategy: Option<String>,

    /// Classic protocol only: how long the group waits for a silent
    /// instance before handing its partitions to the others, in ms
    /// [default: 10000]. Shorter than librdkafka's 45 s default: a crashed
    /// instance's partitions should not stall for long.
    #[arg(long, env = "KAFKA_SESSION_TIMEOUT_MS")]
    pub session_timeout_ms: Option<u32>,
}

/// The classic protocol's defaults.
pub(crate) const ASSIGNMENT_STRATEGY: &str = "cooperative-sticky";
const SESSION_TIMEOUT_MS: u32 = 10_000;

impl GroupSettings {
    /// The classic protocol's session timeout, in ms.
    pub fn session_timeout_ms(&self) -> u32 {
        self.session_timeout_ms.unwrap_or(SESSION_TIMEOUT_MS)
    }

    /// Refuses what the group protocol cannot use: under `consumer` the
    /// broker owns the session, the heartbeat and the assignment.
    pub fn check(&self) -> Result<(), String> {
        match self.protocol {
            GroupProtocol::Classic if self.session_timeout_ms() < 1_000 => Err(format!(
                "KAFKA_SESSION_TIMEOUT_MS ({}) must be at least 1000",
                self.session_timeout_ms()
            )),
            GroupProtocol::Classic => Ok(()),
            GroupProtocol::Consumer if self.session_timeout_ms.is_some() => Err(
                "KAFKA_SESSION_TIMEOUT_MS does not apply to KAFKA_GROUP_PROTOCOL=consumer: \
                 the broker sets the session (group.consumer.session.timeout.ms, or the \
                 group's consumer.session.timeout.ms); unset it"
                    .into(),
            ),
            GroupProtocol::Consumer if self.assignment_strategy.is_some() => {
                Err("KAFKA_PARTITION_ASSIGNMENT_STRATEGY does not apply to \
                 KAFKA_GROUP_PROTOCOL=consumer: the broker assigns the partitions \
                 (group.consumer.assignors); unset it"
                    .into())
            }
            GroupProtocol::Consumer => Ok(()),
        }
    }

    pub fn write_env(&self, env: &mut Env) {
        env.set("KAFKA_GROUP_ID", &self.group_id);
        env.set_choice("KAFKA_GROUP_PROTOCOL", Some(&self.protocol));
        env.set_some("KAFKA_GROUP_INSTANCE_ID", self.instance_id.as_ref());
        env.set_some(
            "KAFKA_PARTITION_ASSIGNMENT_STRATEGY",
            self.assignment_strategy.as_ref(),
        );
        env.set_some("KAFKA_SESSION_TIMEOUT_MS", self.session_timeout_ms);
    }
}

/// Kafka's rule for member ids: 1-249 characters of `[a-zA-Z0-9._-]`.
fn parse_instance_id(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && value.len() <= 249
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(value.to_owned())
    } else {
        Err("1 to 249 characters of letters, digits, '.', '_' and '-'".into())
    }
}

#[cfg(test)]
impl GroupSettings {
    /// A classic group `g`, static under `instance_id` (the unit tests').
    pub(crate) fn classic(instance_id: Option<&str>) -> Self {
        Self {
            group_id: "g".into(),
            protocol: GroupProtocol::Classic,
            instance_id: instance_id.map(str::to_owned),
            assignment_strategy: None,
            session_timeout_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_protocol_refuses_the_brokers_settings() {
        let mut consumer = GroupSettings::classic(Some("order-service-0"));
        consumer.protocol = GroupProtocol::Consumer;
        assert!(consumer.check().is_ok());
        let mut timed = consumer.clone();
        timed.session_timeout_ms = Some(10_000);
        assert!(
            timed
                .check()
                .unwrap_err()
                .contains("KAFKA_SESSION_TIMEOUT_MS")
        );
        let mut assigned = consumer;
        assigned.assignment_strategy = Some("range".into());
        assert!(
            assigned
                .check()
                .unwrap_err()
                .contains("KAFKA_PARTITION_ASSIGNMENT_STRATEGY")
        );
    }

    #[test]
    fn instance_ids_follow_kafkas_rule() {
        assert!(parse_instance_id("order-service-0").is_ok());
        assert!(parse_instance_id("host.example_1").is_ok());
        assert!(parse_instance_id("").is_err());
        assert!(parse_instance_id("a b").is_err());
        assert!(parse_instance_id(&"x".repeat(250)).is_err());
    }
}
