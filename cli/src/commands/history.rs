//! `shiftback history`: a function's releases, newest first, a page at a time.

use shiftback::domain::check_function_name;

use crate::args::Cli;
use crate::resources::Resources;
use crate::{output, usage, Failure};

pub async fn run(
    cli: &Cli,
    resources: &Resources,
    function: &str,
    limit: i32,
    page: Option<&str>,
) -> Result<u8, Failure> {
    check_function_name(function).map_err(|e| usage(e.to_string()))?;
    let service = resources.service().await?;
    let function = &service.canonical(function)?;
    let history = service.store.history(function, limit, page).await?;
    output::history(cli.json, function, &history);
    Ok(0)
}
