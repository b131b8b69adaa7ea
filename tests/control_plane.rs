//! Lambda's control-plane rate is the account's (15 requests a second per Region, shared by
//! every caller), so no limiter inside one process can hold it when several shiftback
//! functions and the CLI run at once. Every client retries in the SDK's adaptive mode
//! (`shiftback::adapters::retries`): a throttle slows the client that met it. Here the
//! emulator enforces the rate for one scope (tests/moto/moto_rate.py; moto itself never
//! throttles), and five processes (five clients and routers built as each process builds
//! its own, sharing nothing but the account) step forty aliases at once.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use shiftback::adapters::{retries, LambdaRouter};
use shiftback::domain::{AliasRouting, Weight};
use shiftback::ports::AliasRouter as _;
use shiftback_integration_tests::{emulator, function_with_versions, unique};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Marks every request as the test's own account, for the emulator's rate.
#[derive(Clone, Debug)]
struct Account(String);

impl Intercept for Account {
    fn name(&self) -> &'static str {
        "Account"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        context
            .request_mut()
            .headers_mut()
            .insert("x-shiftback-rate-scope", self.0.clone());
        Ok(())
    }
}

/// What the emulator admitted (epoch seconds of each) and refused for `scope`.
async fn rate_report(scope: &str) -> (Vec<f64>, u64) {
    let endpoint = std::env::var("SHIFTBACK_TEST_ENDPOINT").unwrap();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET /_shiftback/rate/{scope} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    let report: serde_json::Value = serde_json::from_str(body).unwrap();
    let admitted = report["admitted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_f64())
        .collect();
    (admitted, report["throttled"].as_u64().unwrap())
}

#[tokio::test]
async fn five_processes_stepping_forty_aliases_share_the_accounts_rate_and_all_finish() {
    let env = emulator().await;
    // Eight functions of five aliases each, made outside the rate's scope.
    let mut aliases = Vec::new();
    for _ in 0..8 {
        let function = function_with_versions(&env, 2, "a0").await;
        for a in 1..5 {
            env.lambda
                .create_alias()
                .function_name(&function)
                .name(format!("a{a}"))
                .function_version("1")
                .send()
                .await
                .unwrap();
        }
        aliases.extend((0..5).map(|a| (function.clone(), format!("a{a}"))));
    }
    let scope = unique("account");
    let step = AliasRouting {
        version: "1".into(),
        extra: Some(("2".into(), Weight::from_percent(10.0).unwrap())),
    };
    let processes: Vec<_> = aliases
        .chunks(8)
        .map(|mine| {
            let config = env.config.to_builder().retry_config(retries()).build();
            let client = aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&config)
                    .interceptor(Account(scope.clone()))
                    .build(),
            );
            let router = LambdaRouter::new(client);
            let (mine, step) = (mine.to_vec(), step.clone());
            // Its eight aliases at once, as a group's step moves its members.
            tokio::spawn(async move {
                let steps = mine.iter().map(|(function, alias)| {
                    let (router, step) = (&router, &step);
                    async move {
                        // A look's read and its compare-and-swap write.
                        let seen = router.read(function, alias).await?;
                        router
                            .set(function, alias, step, seen.revision_id.as_deref())
                            .await
                    }
                });
                for result in futures::future::join_all(steps).await {
                    result?;
                }
                Ok::<_, shiftback::Error>(())
            })
        })
        .collect();
    assert_eq!(processes.len(), 5);
    for process in processes {
        process
            .await
            .unwrap()
            .expect("every step finished despite the throttles");
    }
    for (function, alias) in &aliases {
        let routing = env
            .lambda
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .unwrap();
        assert!(
            routing.routing_config().is_some(),
            "{function}:{alias} stepped"
        );
    }
    let (admitted, throttled) = rate_report(&scope).await;
    assert!(
        admitted.len() >= 80,
        "a read and a write an alias: {}",
        admitted.len()
    );
    // Five routers pacing themselves at the rate each offered five times it: the account's
    // rate was met, and the clients backed off and finished.
    assert!(throttled > 0, "the rate was reached");
    // Never more than the rate (and its burst) admitted in any second.
    let most_in_a_second = admitted
        .iter()
        .map(|t| {
            admitted
                .iter()
                .filter(|u| **u >= *t && **u < t + 1.0)
                .count()
        })
        .max()
        .unwrap();
    assert!(most_in_a_second <= 30, "{most_in_a_second} in one second");
    println!(
        "control plane: {} admitted, {throttled} throttled, at most {most_in_a_second} in a second",
        admitted.len()
    );
}
