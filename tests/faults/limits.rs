//! DynamoDB refuses a transaction of more than 100 items (ValidationException) every
//! time; moto does not. The largest transaction shiftback writes is a lock takeover.
//! BatchWriteItem takes only part of a batch when throttled (UnprocessedItems, not an error);
//! moto always takes all of it.

use super::*;
use shiftback::adapters::LockTakeover;
use shiftback::domain::release::MAX_ALARMS;
use std::sync::{Arc, Mutex};

fn with_alarms(id: &str) -> Release {
    let mut r = release();
    r.id = id.into();
    r.alarms = (0..MAX_ALARMS).map(|i| format!("alarm-{i}")).collect();
    r.analysis_alarm = Some(format!("shiftback-analysis-{id}"));
    r
}

#[tokio::test]
async fn the_largest_transaction_stays_within_dynamodbs_100_items() {
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let seen = sizes.clone();
    let write = mock!(aws_sdk_dynamodb::Client::transact_write_items)
        .match_requests(move |req| {
            seen.lock().unwrap().push(req.transact_items().len());
            true
        })
        .then_http_response(|| json_response(200, "{}"));
    let store = store(&[&write]);
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    // The old release, with every alarm it may have, loses its lock to a new one with
    // as many: both are written in the one transaction that takes the lock over.
    let mut old = with_alarms("r-old");
    old.apply(Input::Begin, now, "wf").unwrap();
    let mut broken = store.create(&old, now, None).await.unwrap();
    broken
        .release
        .apply(
            Input::LockBroken {
                by: "r-new".into(),
                expired_at: now,
            },
            now,
            "wf",
        )
        .unwrap();
    let mut new = with_alarms("r-new");
    new.apply(
        Input::TakeOverLock {
            from: "r-old".into(),
            expired_at: now,
        },
        now,
        "wf",
    )
    .unwrap();
    new.apply(Input::Begin, now, "wf").unwrap();
    let takeover = LockTakeover {
        holder: "r-old",
        broken: Some(&broken),
    };
    store.create(&new, now, Some(takeover)).await.unwrap();
    let largest = *sizes.lock().unwrap().last().unwrap();
    assert!(
        largest >= 2 * (MAX_ALARMS + 1),
        "both releases' guards are in it ({largest})"
    );
    assert!(largest <= 100, "{largest} items: DynamoDB would refuse it");
}

/// A finished release to import: its item, then its log entries in batches.
fn finished() -> Release {
    let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let mut r = release();
    r.apply(Input::Promote, now, "ci").unwrap();
    r.apply(Input::Promoted, now, "ci").unwrap();
    r
}

/// BatchWriteItem that takes nothing the first `refusals` times (every request comes back as
/// UnprocessedItems, as DynamoDB answers when throttled), then everything.
fn batch_taking_after(refusals: usize, calls: Arc<Mutex<usize>>) -> Rule {
    mock!(aws_sdk_dynamodb::Client::batch_write_item).then_compute_output(move |req| {
        let mut calls = calls.lock().unwrap();
        *calls += 1;
        let unprocessed = (*calls <= refusals).then(|| req.request_items().cloned().unwrap());
        aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput::builder()
            .set_unprocessed_items(unprocessed)
            .build()
    })
}

fn put_taken() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item).then_http_response(|| json_response(200, "{}"))
}

#[tokio::test(start_paused = true)]
async fn an_imports_unprocessed_items_are_sent_again_after_growing_pauses() {
    let calls = Arc::new(Mutex::new(0));
    let (put, batch) = (put_taken(), batch_taking_after(3, calls.clone()));
    let store = store(&[&put, &batch]);
    let started = tokio::time::Instant::now();
    store.import_finished(&finished()).await.unwrap();
    assert_eq!(*calls.lock().unwrap(), 4, "three refusals, then taken");
    // 50, 100 and 200 ms at least (exponential, jitter only adds): not a tight loop.
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn an_import_dynamodb_never_takes_fails_as_throttled_instead_of_looping() {
    let calls = Arc::new(Mutex::new(0));
    let (put, batch) = (put_taken(), batch_taking_after(usize::MAX, calls.clone()));
    let store = store(&[&put, &batch]);
    let err = store.import_finished(&finished()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Aws(e) if e.kind == AwsErrorKind::Throttled && e.is_retryable()),
        "{err}"
    );
    assert_eq!(*calls.lock().unwrap(), 9, "the first send and eight more");
}
