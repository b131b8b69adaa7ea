//! The `Custom::ShiftbackRelease` provider's function: a stack's request to start (or update,
//! or delete) a release, or the end of the release's workflow that a stack waits for.
use shiftback::runtime::{release_provider, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve(release_provider().await?, |provider, event| async move {
        provider.serve(event.payload, event.context.deadline).await
    })
    .await
}
