//! The apply stage alone: a scratch database and the command processor,
//! no broker. Commands go in as the consumer would hand them over
//! (decoded from their wire form), events come out of the outbox.

use diesel::prelude::*;
use order_service::config::ServeSettings;
use order_service::db::schema::outbox;
use order_service::db::{Database, PoolUsage, ScratchDatabase};
use order_service::domain::Command;
use order_service::handover;
use order_service::processor::{
    BatchOutcome, CommandOutcomes, CommandProcessor, OffsetStore, PartitionId,
};
use order_service::proto::{OrderCommand, OrderEvent};
use prost::Message as _;

use super::app::env_or;

pub struct ApplyStage {
    pub processor: CommandProcessor,
    db: Database,
    database: ScratchDatabase,
}

impl ApplyStage {
    /// A fresh migrated database on TEST_DATABASE_URL and a processor over
    /// it.
    pub fn new() -> Self {
        let admin_url = env_or(
            "TEST_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        );
        let database = ScratchDatabase::migrated(&admin_url, "order_service_test")
            .expect("a scratch database on TEST_DATABASE_URL");
        let settings = ServeSettings::for_tests(database.url(), "", "apply");
        let db = Database::new(&settings.database, PoolUsage::default());
        let offsets = OffsetStore::new(db.clone(), "apply-stage");
        // Nobody publishes here: the handed-over rows are dropped.
        let (handover, _) = handover::channel();
        let processor =
            CommandProcessor::new(db.clone(), offsets, CommandOutcomes::default(), handover);
        Self {
            processor,
            db,
            database,
        }
    }

    /// The same database seen by another instance: a processor with a
    /// cache of its own (see [`apply_as`](Self::apply_as)).
    pub fn another_instance(&self) -> CommandProcessor {
        let (handover, _) = handover::channel();
        let offsets = OffsetStore::new(self.db.clone(), "apply-stage");
        CommandProcessor::new(
            self.db.clone(),
            offsets,
            CommandOutcomes::default(),
            handover,
        )
    }

    pub fn db(&self) -> PgConnection {
        PgConnection::establish(self.database.url()).expect("connect to the scratch database")
    }

    /// Runs `sql` on the scratch database (a fault the test sets up).
    pub fn execute(&self, sql: &str) {
        diesel::sql_query(sql)
            .execute(&mut self.db())
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Applies `commands` as one batch (no positions).
    pub async fn apply(&self, commands: &[OrderCommand]) -> BatchOutcome {
        self.apply_as(&self.processor, commands).await
    }

    /// Applies `commands` as one batch by `processor` (no positions).
    pub async fn apply_as(
        &self,
        processor: &CommandProcessor,
        commands: &[OrderCommand],
    ) -> BatchOutcome {
        let decoded: Vec<Command> = commands
            .iter()
            .map(|c| Command::try_from(c.clone()).expect("a decodable command"))
            .collect();
        let partitions = vec![partition_zero(); decoded.len()];
        processor
            .apply_batch(decoded, partitions, Vec::new())
            .await
            .expect("the batch commits")
    }

    /// The events in the outbox, in the order they were written.
    pub fn events(&self) -> Vec<OrderEvent> {
        let payloads: Vec<Vec<u8>> = outbox::table
            .order(outbox::id)
            .select(outbox::payload)
            .load(&mut self.db())
            .expect("read the outbox");
        payloads
            .iter()
            .map(|p| OrderEvent::decode(p.as_slice()).expect("an OrderEvent"))
            .collect()
    }
}

/// The partition the apply stage's commands are said to come from.
pub fn partition_zero() -> PartitionId {
    PartitionId {
        topic: "apply-stage".into(),
        partition: 0,
    }
}
