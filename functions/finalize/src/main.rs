//! Step Functions task: promote the alias wholly to the target and record success.
use shiftback::runtime::{release_service, serve};
use shiftback::service::parse_input;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve(release_service().await?, |service, event| async move {
        service.finalize(parse_input(event.payload)?).await
    })
    .await
}
