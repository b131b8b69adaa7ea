//! Step Functions task: check health, then record and apply the next step.
use shiftback::runtime::{release_service, serve};
use shiftback::service::parse_input;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve(release_service().await?, |service, event| async move {
        service.advance(parse_input(event.payload)?).await
    })
    .await
}
