//! SDK clients pointed at the moto server that `scripts/with-moto` started.

pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/shiftback-test-role";

pub struct Emulator {
    pub config: aws_config::SdkConfig,
    /// The account the clients act in (moto's default, or one assumed into).
    pub account: String,
    pub lambda: aws_sdk_lambda::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

/// Clients for the emulator. Fails loudly when the tests were not started through
/// `scripts/with-moto` (as `make test` does), rather than reaching for a real account.
pub async fn emulator() -> Emulator {
    emulator_in("us-east-1").await
}

/// Clients for one Region of the emulator. moto keeps each Region's resources apart, so a test
/// that needs fixed names (the documentation's `orders`) takes a Region of its own.
pub async fn emulator_in(region: &str) -> Emulator {
    let endpoint = std::env::var("SHIFTBACK_TEST_ENDPOINT").expect(
        "SHIFTBACK_TEST_ENDPOINT is not set: run the integration tests with `make test` \
         (or scripts/with-moto cargo test), which starts the local emulator",
    );
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(shiftback::adapters::http_client())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new(region.to_string()))
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    Emulator {
        lambda: aws_sdk_lambda::Client::new(&config),
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        account: "123456789012".into(),
        config,
    }
}

/// Clients for one Region of another account of the emulator: through `role_arn`, assumed as
/// the wave coordinator assumes it (moto keeps each account's resources apart, by the
/// account the credentials were issued for).
pub async fn emulator_as(region: &str, role_arn: &str) -> Emulator {
    let home = emulator_in(region).await;
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name("shiftback-tests")
        .region(aws_config::Region::new(region.to_string()))
        .configure(&home.config)
        .build()
        .await;
    let config = home
        .config
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build();
    Emulator {
        lambda: aws_sdk_lambda::Client::new(&config),
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
        account: role_arn.split(':').nth(4).unwrap_or_default().to_string(),
        config,
    }
}

/// A name no other test uses, so tests share one emulator without seeing each other.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// The clients shiftback's handlers use, as the handlers build them.
pub use shiftback::runtime::HandlerClients as Clients;

impl Emulator {
    /// Clients that pass every call through `interceptor` (a [`CallLog`], a [`Crash`]).
    pub fn clients_with<I>(&self, interceptor: &I) -> Clients
    where
        I: aws_smithy_runtime_api::client::interceptors::Intercept + Clone + 'static,
    {
        clients_on(&self.config, interceptor)
    }
}

/// The handlers' clients on `config`, every call passed through `interceptor`.
pub fn clients_on<I>(config: &aws_config::SdkConfig, interceptor: &I) -> Clients
where
    I: aws_smithy_runtime_api::client::interceptors::Intercept + Clone + 'static,
{
    Clients {
        lambda: aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        cloudwatch: aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        sns: aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        sfn: aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(config)
                .interceptor(interceptor.clone())
                .build(),
        ),
        cloudformation: aws_sdk_cloudformation::Client::from_conf(
            aws_sdk_cloudformation::config::Builder::from(config)
                .interceptor(interceptor.clone())
                .build(),
        ),
    }
}
