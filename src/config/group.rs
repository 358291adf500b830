//! The consumer group the instances share: its id, this instance's static
//! membership, and how the group assigns partitions.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct GroupSettings {
    /// Consumer group of the service's instances.
    #[arg(long, env = "KAFKA_GROUP_ID", default_value = "order-service")]
    pub group_id: String,

    /// This instance's static member id (`group.instance.id`): a restarted
    /// instance with the same id gets its partitions back at once, without
    /// a rebalance. Give each instance its own, stable across restarts (a
    /// StatefulSet's pod name, a systemd instance name); two running
    /// instances with one id fence each other. A static member sends no
    /// LeaveGroup when it stops: its partitions wait for its session
    /// timeout unless it comes back. Unset: a dynamic member.
    #[arg(long, env = "KAFKA_GROUP_INSTANCE_ID", value_parser = parse_instance_id)]
    pub instance_id: Option<String>,

    /// How partitions are assigned: `cooperative-sticky` moves only the
    /// partitions that must move when a member joins or leaves. Releases
    /// before it used librdkafka's eager `range,roundrobin`, and a group
    /// cannot mix the two: upgrade by stopping every instance first, or
    /// roll out with `range,roundrobin` and switch in a later full stop.
    #[arg(
        long,
        env = "KAFKA_PARTITION_ASSIGNMENT_STRATEGY",
        default_value = "cooperative-sticky"
    )]
    pub assignment_strategy: String,

    /// How long the group waits for a silent instance before handing its
    /// partitions to the others, in ms. Shorter than librdkafka's 45 s
    /// default: a crashed instance's partitions should not stall for long.
    #[arg(long, env = "KAFKA_SESSION_TIMEOUT_MS", default_value_t = 10_000)]
    pub session_timeout_ms: u32,
}

impl GroupSettings {
    /// The consumer's group properties. Partitions are assigned
    /// cooperatively (`cooperative-sticky`): a member that joins or leaves
    /// moves only the partitions that must move, and every other partition
    /// keeps flowing through the rebalance. A cooperative rebalance takes
    /// two rounds (revoke, then assign), and members learn of a round from
    /// their heartbeat: one a second (at most a third of the session)
    /// instead of librdkafka's 3 s shortens the pause of a moved partition.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let heartbeat = (self.session_timeout_ms / 3).min(1_000);
        let mut properties = vec![
            ("group.id", self.group_id.clone()),
            (
                "partition.assignment.strategy",
                self.assignment_strategy.clone(),
            ),
            ("session.timeout.ms", self.session_timeout_ms.to_string()),
            ("heartbeat.interval.ms", heartbeat.to_string()),
        ];
        if let Some(instance) = &self.instance_id {
            properties.push(("group.instance.id", instance.clone()));
        }
        properties
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
mod tests {
    use super::*;

    fn settings(instance_id: Option<&str>) -> GroupSettings {
        GroupSettings {
            group_id: "g".into(),
            instance_id: instance_id.map(str::to_owned),
            assignment_strategy: "cooperative-sticky".into(),
            session_timeout_ms: 10_000,
        }
    }

    #[test]
    fn a_static_member_sets_its_instance_id_and_every_member_is_cooperative() {
        let dynamic = settings(None).properties();
        assert!(dynamic.iter().all(|(name, _)| *name != "group.instance.id"));
        assert!(dynamic.contains(&("partition.assignment.strategy", "cooperative-sticky".into())));
        let fixed = settings(Some("order-service-0")).properties();
        assert!(fixed.contains(&("group.instance.id", "order-service-0".into())));
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
