//! Alarm handler: revert the aliases an alarm guards, at once, then record it.
use shiftback::runtime::{account_of, alarm_responder, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    serve(alarm_responder().await?, |responder, event| async move {
        let account = account_of(&event.context.invoked_function_arn).map(str::to_string);
        responder.handle(event.payload, account.as_deref()).await
    })
    .await
}
