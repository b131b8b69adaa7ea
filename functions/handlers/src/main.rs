//! Every shiftback function's handler. `SHIFTBACK_HANDLER` chooses the one this process serves:
//! - `start`: validate a release request, record it, apply its first weight;
//! - `advance`: check health, then record and apply the next step;
//! - `promote`: move the alias wholly to the target and record success;
//! - `rollback`: revert the alias to the stable version and record why;
//! - `retain`: after success and the bake window, prune the function's old versions;
//! - `alarm`: revert the aliases an alarm guards, at once, then record it;
//! - `waves`: look at a wave plan across Regions, or stop it and bring every Region back.
//!
//! The `Custom::ShiftbackRelease` provider is a binary of its own (`src/provider.rs`).
use shiftback::runtime::{
    account_of, alarm_responder, release_service, retention_service, serve, wave_coordinator,
    with_default_retention,
};
use shiftback::service::{parse_input, parse_start};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let handler = std::env::var("SHIFTBACK_HANDLER").unwrap_or_default();
    match handler.as_str() {
        "start" => {
            serve(release_service().await?, |service, event| async move {
                service
                    .start(with_default_retention(parse_start(event.payload)?))
                    .await
            })
            .await
        }
        "advance" => {
            serve(release_service().await?, |service, event| async move {
                service.advance(parse_input(event.payload)?).await
            })
            .await
        }
        "promote" => {
            serve(release_service().await?, |service, event| async move {
                service.promote(parse_input(event.payload)?).await
            })
            .await
        }
        "rollback" => {
            serve(release_service().await?, |service, event| async move {
                service.rollback(parse_input(event.payload)?).await
            })
            .await
        }
        "retain" => {
            serve(retention_service().await?, |(service, catalog), event| async move {
                service.retain(&catalog, parse_input(event.payload)?).await
            })
            .await
        }
        "alarm" => {
            serve(alarm_responder().await?, |responder, event| async move {
                let account = account_of(&event.context.invoked_function_arn).map(str::to_string);
                responder.handle(event.payload, account.as_deref()).await
            })
            .await
        }
        "waves" => {
            serve(wave_coordinator().await?, |waves, event| async move {
                let now = shiftback::waves::epoch_now();
                waves.handle(parse_input(event.payload)?, now).await
            })
            .await
        }
        other => Err(format!(
            "SHIFTBACK_HANDLER is {other:?}: expected start, advance, promote, rollback, retain, alarm or waves (the provider is the shiftback-provider binary)"
        )
        .into()),
    }
}
