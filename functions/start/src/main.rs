//! Step Functions task: validate a release request, record it, apply its first weight.
use shiftback::runtime::{release_service, serve};
use shiftback::service::parse_start;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve(release_service().await?, |service, event| async move {
        service.start(parse_start(event.payload)?).await
    })
    .await
}
