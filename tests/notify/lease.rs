//! A publish slower than the claim's lease is still announced once: the holder renews it.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_slower_than_the_claim_lease_is_announced_once() {
    // Two announcers of one release (a step and the alarm handler, say). The first one's
    // publish takes longer than the claim's lease: the second must not take its claim over
    // and send the same message again.
    let env = emulator().await;
    let (release_topic, _, queues) = topics_and_queues(&env).await;
    let function = function_with_versions(&env, 2, "live").await;
    let guard = alarm(&env).await;
    let store = release_store(&env).await;
    // A lease of a second, renewed every third of it: a renewal may take up to 2/3 s before the
    // claim lapses, room for moto answering every integration test at once. The publish takes
    // well over two leases.
    let lease = Duration::from_millis(1000);
    let slow_sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&env.config)
            .endpoint_url(slow_proxy(Duration::from_millis(2500)).await)
            .build(),
    );
    let announcer = |sns: aws_sdk_sns::Client| {
        SnsNotifier::new(
            sns,
            env.dynamodb.clone(),
            store.table(),
            &release_topic,
            None,
        )
        .with_claim_lease(lease)
    };
    let (slow, fast) = (
        announcer(slow_sns),
        announcer(aws_sdk_sns::Client::new(&env.config)),
    );
    // Record a release without announcing anything yet.
    let service = ReleaseService::new(
        LambdaRouter::new(env.lambda.clone()),
        store.clone(),
        CloudWatchHealth::new(env.cloudwatch.clone()),
    );
    let started = service
        .start(request(&function, &guard, "2", "canary:10:10m"))
        .await
        .unwrap();
    let release = store.load(&started.release_id).await.unwrap().release;

    let first = {
        let release = release.clone();
        tokio::spawn(async move { slow.announce(&release).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Waits on the slow claim, and may give up waiting (that is an error, not a duplicate).
    let _ = fast.announce(&release).await;
    first.await.unwrap().expect("the slow announcer finishes");
    assert_eq!(fast.announce(&release).await.unwrap(), 0, "all sent");
    let mut sent = event_types(&queues.drain("raw").await);
    sent.sort();
    assert_eq!(sent, ["started", "step_applied"]);
}
