//! The records' clock: DynamoDB's own time, read off the `Date` header of every response the
//! store receives. Lock expiry is written and judged on it, so the handlers, the provider and
//! an operator's laptop (whose clock may be minutes or hours off) agree on when a lock
//! expired: none of them judges by its own clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::date_time::Format;
use chrono::{DateTime, Duration, Utc};

/// No response read yet.
const UNSEEN: i64 = i64::MIN;

/// How far a caller's clock may be from the `Date` read and still count as the same time: the
/// header's half-second of rounding and a second for the response's way back.
const IN_STEP_MS: i64 = 1_500;

/// The table's time as the caller's clock plus the offset last read off a response. Until a
/// response arrives it is the caller's clock; every path that judges a lock has read the lock
/// (one GetItem) before it judges.
#[derive(Clone, Debug)]
pub struct RecordClock {
    offset_ms: Arc<AtomicI64>,
    local: fn() -> DateTime<Utc>,
}

impl RecordClock {
    /// A clock over `local`, the machine's own (tests pass one that is off).
    pub fn over(local: fn() -> DateTime<Utc>) -> Self {
        RecordClock {
            offset_ms: Arc::new(AtomicI64::new(UNSEEN)),
            local,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let local = (self.local)();
        match self.offset_ms.load(Ordering::Relaxed) {
            UNSEEN => local,
            offset => local + Duration::milliseconds(offset),
        }
    }

    /// Whether the table's time has been read yet.
    pub fn has_read(&self) -> bool {
        self.offset_ms.load(Ordering::Relaxed) != UNSEEN
    }

    /// Takes the table's time at a response. `Date` is truncated to the second, so the middle
    /// of that second is the best estimate (off by half a second, plus the response's way
    /// back). A caller whose clock agrees with it to that resolution (a Lambda function's,
    /// synchronised with the table's) keeps its own finer, steadier clock.
    pub(super) fn read(&self, date: DateTime<Utc>) {
        let server = date + Duration::milliseconds(500);
        let mut offset = (server - (self.local)()).num_milliseconds();
        if offset.abs() <= IN_STEP_MS {
            offset = 0;
        }
        self.offset_ms.store(offset, Ordering::Relaxed);
    }

    /// `client` rebuilt to read the time off each response (its HTTP connections,
    /// credentials, retries and interceptors kept), with the clock it sets.
    pub(super) fn attach(client: &Client, local: fn() -> DateTime<Utc>) -> (Client, Self) {
        let clock = RecordClock::over(local);
        let reader = DateReader(clock.clone());
        let client = Client::from_conf(client.config().to_builder().interceptor(reader).build());
        (client, clock)
    }
}

#[derive(Debug)]
pub(super) struct DateReader(RecordClock);

impl Intercept for DateReader {
    fn name(&self) -> &'static str {
        "RecordClock"
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // A response without a readable date (a proxy's, say) leaves the last reading.
        if let Some(date) = context.response().headers().get("date").and_then(http_date) {
            self.0.read(date);
        }
        Ok(())
    }
}

fn http_date(value: &str) -> Option<DateTime<Utc>> {
    let at = aws_smithy_types::DateTime::from_str(value, Format::HttpDate).ok()?;
    DateTime::from_timestamp(at.secs(), at.subsec_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_hours_slow() -> DateTime<Utc> {
        Utc::now() - Duration::hours(2)
    }

    #[test]
    fn before_any_response_it_is_the_callers_clock() {
        let clock = RecordClock::over(two_hours_slow);
        assert!(!clock.has_read());
        assert!((Utc::now() - clock.now()).num_minutes() >= 119);
    }

    #[test]
    fn after_a_response_it_is_the_tables_clock_whatever_the_callers() {
        let clock = RecordClock::over(two_hours_slow);
        let date = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        clock.read(http_date(&date).unwrap());
        assert!(clock.has_read());
        let off = (clock.now() - Utc::now()).num_milliseconds().abs();
        assert!(off < 1_500, "{off} ms from the table's time");
    }

    #[test]
    fn a_caller_in_step_with_the_table_keeps_its_own_clock() {
        let clock = RecordClock::over(Utc::now);
        let date = Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        clock.read(http_date(&date).unwrap());
        assert!(clock.has_read());
        assert_eq!(clock.offset_ms.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn reads_the_http_date_format_and_nothing_else() {
        let at = http_date("Wed, 02 Dec 2026 19:27:05 GMT").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-02T19:27:05+00:00");
        assert_eq!(http_date("yesterday"), None);
    }
}
