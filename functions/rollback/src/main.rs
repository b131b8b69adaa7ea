//! Step Functions task: revert the alias to the stable version and record why.
use shiftback::runtime::{release_service, serve};
use shiftback::service::parse_input;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve(release_service().await?, |service, event| async move {
        service.rollback(parse_input(event.payload)?).await
    })
    .await
}
