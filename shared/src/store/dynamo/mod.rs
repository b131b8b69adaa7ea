//! The release store over DynamoDB: one table (its layout in schema.rs), split by what it keeps:
//! releases and their logs, alias locks, alarm guards, history, and the notifier's outbox.

mod clock;
mod guards;
mod history;
mod locks;
mod members;
mod open;
mod outbox;
mod plans;
mod releases;
mod schema;

pub use crate::ports::{
    Guard, HistoryPage, LoadedRelease, LockInfo, LockTakeover, ReleaseRecords,
    LOCK_EXPIRY_MARGIN_SECS,
};
pub use clock::RecordClock;
pub use outbox::{Outbox, Watermark};
pub use schema::{HISTORY_INDEX, OPEN_INDEX};

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::{DateTime, Utc};

use crate::domain::Release;
use crate::error::{AwsError, AwsErrorKind, Error, Result};
use schema::{alarm_pk, lock_pk, release_pk};

type Item = HashMap<String, AttributeValue>;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// The table's time, on which locks are written and judged.
    clock: RecordClock,
    /// Whether what it stores is also published as shiftback's own metrics (the handlers do;
    /// the CLI, whose standard output is its answer, does not).
    publish_metrics: bool,
}

/// A DynamoDB string attribute.
fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A DynamoDB number attribute.
fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn get_s<'a>(item: &'a Item, key: &str) -> Result<&'a str> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| Error::Corrupt(format!("item lacks string attribute {key}")))
}

fn time(epoch: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(epoch, 0).unwrap_or_default()
}

fn aws<E>(operation: &'static str) -> impl Fn(SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |e| Error::Aws(AwsError::from_sdk(operation, e))
}

/// A conditional write's outcome: `true` when it was applied, `false` when its condition did
/// not hold (someone else's write came first, or there was nothing to do), an error otherwise.
fn applied<O, E>(
    operation: &'static str,
    result: std::result::Result<O, SdkError<E, HttpResponse>>,
) -> Result<bool>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = AwsError::from_sdk(operation, e);
            if err.kind == AwsErrorKind::Conflict {
                Ok(false)
            } else {
                Err(Error::Aws(err))
            }
        }
    }
}

fn built<T>(result: std::result::Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T> {
    result.map_err(|e| Error::BadRequest(e.to_string()))
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::with_caller_clock(client, table, Utc::now)
    }

    /// A store on a machine whose own clock is `local` (tests model an operator's laptop whose
    /// clock is off): what it records and judges is on the table's clock all the same.
    pub fn with_caller_clock(
        client: Client,
        table: impl Into<String>,
        local: fn() -> DateTime<Utc>,
    ) -> Self {
        let (client, clock) = RecordClock::attach(&client, local);
        DynamoStore {
            client,
            table: table.into(),
            clock,
            publish_metrics: false,
        }
    }

    /// The table's time: see [`RecordClock`].
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The notifier's outbox on this store's table, client and clock: one reading of the
    /// table's time for the records and the announcements, not one each.
    pub fn outbox(&self) -> Outbox {
        Outbox::on(self.client.clone(), self.table.clone(), self.clock.clone())
    }

    /// Publishes the metrics of every log entry it stores (embedded metric format, on
    /// standard output): for the handlers, whose output CloudWatch Logs reads.
    pub fn with_metrics(self) -> Self {
        DynamoStore {
            publish_metrics: true,
            ..self
        }
    }

    fn publish_metrics(&self, release: &Release, from: usize) {
        if self.publish_metrics {
            crate::adapters::emf::publish(release, from);
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

/// The port, over the methods each of this module's files defines for what it keeps.
impl ReleaseRecords for DynamoStore {
    fn create(
        &self,
        release: &Release,
        now: DateTime<Utc>,
        takeover: Option<LockTakeover<'_>>,
    ) -> impl Future<Output = Result<LoadedRelease>> + Send {
        DynamoStore::create(self, release, now, takeover)
    }

    fn load(&self, id: &str) -> impl Future<Output = Result<LoadedRelease>> + Send {
        DynamoStore::load(self, id)
    }

    fn load_summary(&self, id: &str) -> impl Future<Output = Result<Release>> + Send {
        DynamoStore::load_summary(self, id)
    }

    fn save(&self, tracked: &mut LoadedRelease) -> impl Future<Output = Result<()>> + Send {
        DynamoStore::save(self, tracked)
    }

    fn lock_holder(
        &self,
        function: &str,
        alias: &str,
    ) -> impl Future<Output = Result<Option<LockInfo>>> + Send {
        DynamoStore::lock_holder(self, function, alias)
    }

    fn renew_lock(
        &self,
        release: &Release,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send {
        DynamoStore::renew_lock(self, release, now)
    }

    fn history(
        &self,
        function: &str,
        limit: i32,
        page: Option<&str>,
    ) -> impl Future<Output = Result<HistoryPage>> + Send {
        DynamoStore::history(self, function, limit, page)
    }

    fn guards_for_alarm(&self, alarm: &str) -> impl Future<Output = Result<Vec<Guard>>> + Send {
        DynamoStore::guards_for_alarm(self, alarm)
    }

    fn now(&self) -> DateTime<Utc> {
        DynamoStore::now(self)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn two_hours_slow() -> DateTime<Utc> {
        Utc::now() - Duration::hours(2)
    }

    #[test]
    fn the_outbox_judges_claims_on_the_time_the_store_has_read() {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        // An operator's laptop two hours slow: the store's first response sets its clock.
        let store = DynamoStore::with_caller_clock(Client::from_conf(config), "t", two_hours_slow);
        let outbox = store.outbox();
        store.clock.read(Utc::now() - Duration::milliseconds(500));
        let off_ms = outbox.now_ms() - Utc::now().timestamp_millis();
        assert!(
            off_ms.abs() < 1_500,
            "the outbox is {off_ms} ms off the table"
        );
    }
}
