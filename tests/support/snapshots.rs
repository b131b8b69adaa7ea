//! What a refused input could have changed, captured to compare before and after.

use crate::Emulator;
use shiftback::ports::AliasRouter as _;

/// Everything a refused input could have changed: the table's items, the alias, and how many
/// messages wait in `queue`. Compare two of them to prove nothing moved.
pub async fn snapshot(
    env: &Emulator,
    table: &str,
    function: &str,
    queue: Option<&str>,
) -> (std::collections::BTreeSet<String>, String, usize) {
    let items = env
        .dynamodb
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan")
        .items()
        .iter()
        .map(|item| {
            let sorted: std::collections::BTreeMap<_, _> = item
                .iter()
                .map(|(k, v)| (k.clone(), format!("{v:?}")))
                .collect();
            format!("{sorted:?}")
        })
        .collect();
    let alias = shiftback::adapters::LambdaRouter::new(env.lambda.clone())
        .read(function, "live")
        .await
        .expect("read alias")
        .routing
        .to_string();
    let waiting = match queue {
        None => 0,
        Some(queue) => aws_sdk_sqs::Client::new(&env.config)
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive")
            .messages()
            .len(),
    };
    (items, alias, waiting)
}
