//! What IAM authorizes for each SDK call: the action and the resource ARN, as AWS evaluates
//! them against the caller's role. moto does not authorize calls at all, so the role check
//! (tests/roles.rs) derives them here from the request the SDK built.

use aws_smithy_runtime_api::client::interceptors::context::Input;

/// moto's default account and the region the tests use.
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// The request in the Region the call went to: an ARN built here from a bare name (a table,
/// a function, an alarm, a stack) is in the client's Region, not the tests' usual one.
pub fn in_region(request: IamRequest, region: Option<&str>) -> IamRequest {
    let Some(region) = region.filter(|r| *r != REGION) else {
        return request;
    };
    let mut parts: Vec<&str> = request.resource.splitn(5, ':').collect();
    if parts.len() == 5 && parts[0] == "arn" && parts[3] == REGION {
        parts[3] = region;
        return IamRequest {
            resource: parts.join(":"),
            ..request
        };
    }
    request
}

/// One authorization IAM makes for a call: `lambda:UpdateAlias` on a function ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct IamRequest {
    pub action: String,
    pub resource: String,
}

fn request(action: &str, resource: String) -> IamRequest {
    IamRequest {
        action: action.to_string(),
        resource,
    }
}

/// A function's ARN from a name or ARN the SDK was given, qualified when the call names a
/// version or alias. Lambda authorizes alias operations (GetAlias, UpdateAlias) on the
/// unqualified function ARN, and calls with a `Qualifier` on the qualified one.
fn function_arn(name_or_arn: &str, qualifier: Option<&str>) -> String {
    let base = if name_or_arn.starts_with("arn:") {
        name_or_arn.to_string()
    } else {
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name_or_arn}")
    };
    match qualifier {
        Some(q) => format!("{base}:{q}"),
        None => base,
    }
}

fn table_arn(table: &str) -> String {
    format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

/// The authorizations a call needs; empty for an operation this mapping does not know, which
/// the role check reports as unmapped rather than passing it.
pub fn iam_requests(service: &str, operation: &str, input: &Input) -> Vec<IamRequest> {
    match service {
        "Lambda" => lambda(operation, input),
        "DynamoDB" => dynamodb(operation, input),
        "CloudWatch" => cloudwatch(operation, input),
        "SNS" => sns(operation, input),
        "SFN" => sfn(operation, input),
        "CloudFormation" => cloudformation(operation, input),
        _ => Vec::new(),
    }
}

fn lambda(operation: &str, input: &Input) -> Vec<IamRequest> {
    use aws_sdk_lambda::operation::{
        create_alias::CreateAliasInput, delete_function::DeleteFunctionInput,
        get_alias::GetAliasInput, get_function::GetFunctionInput,
        get_function_configuration::GetFunctionConfigurationInput, get_policy::GetPolicyInput,
        invoke::InvokeInput, list_aliases::ListAliasesInput,
        list_durable_executions_by_function::ListDurableExecutionsByFunctionInput,
        list_function_url_configs::ListFunctionUrlConfigsInput,
        list_provisioned_concurrency_configs::ListProvisionedConcurrencyConfigsInput,
        list_versions_by_function::ListVersionsByFunctionInput,
        publish_version::PublishVersionInput, update_alias::UpdateAliasInput,
    };
    // The one Lambda operation whose IAM action has another name.
    let action = match operation {
        "Invoke" => "lambda:InvokeFunction".to_string(),
        _ => format!("lambda:{operation}"),
    };
    // Neither takes a resource ARN: IAM authorizes them on "*".
    if matches!(operation, "ListEventSourceMappings" | "GetAccountSettings") {
        return vec![request(&action, "*".to_string())];
    }
    let arn = if let Some(i) = input.downcast_ref::<GetAliasInput>() {
        function_arn(i.function_name().unwrap_or_default(), None)
    } else if let Some(i) = input.downcast_ref::<UpdateAliasInput>() {
        function_arn(i.function_name().unwrap_or_default(), None)
    } else if let Some(i) = input.downcast_ref::<CreateAliasInput>() {
        function_arn(i.function_name().unwrap_or_default(), None)
    } else if let Some(i) = input.downcast_ref::<GetFunctionInput>() {
        // Its answer carries the function's tags only if ListTags is allowed too (else a
        // TagsError): the provider reads them, so both are needed.
        let arn = function_arn(i.function_name().unwrap_or_default(), i.qualifier());
        let unqualified = function_arn(i.function_name().unwrap_or_default(), None);
        return vec![
            request(&action, arn),
            request("lambda:ListTags", unqualified),
        ];
    } else if let Some(i) = input.downcast_ref::<GetFunctionConfigurationInput>() {
        function_arn(i.function_name().unwrap_or_default(), i.qualifier())
    } else if let Some(i) = input.downcast_ref::<PublishVersionInput>() {
        function_arn(i.function_name().unwrap_or_default(), None)
    } else if let Some(i) = input.downcast_ref::<ListVersionsByFunctionInput>() {
        function_arn(i.function_name().unwrap_or_default(), None)
    } else if let Some(i) = input.downcast_ref::<ListAliasesInput>() {
        function_arn(i.function_name().unwrap_or_default(), None)
    } else if let Some(i) = input.downcast_ref::<ListProvisionedConcurrencyConfigsInput>() {
        function_arn(i.function_name().unwrap_or_default(), None)
    } else if let Some(i) = input.downcast_ref::<ListFunctionUrlConfigsInput>() {
        function_arn(i.function_name().unwrap_or_default(), None)
    } else if let Some(i) = input.downcast_ref::<GetPolicyInput>() {
        function_arn(i.function_name().unwrap_or_default(), i.qualifier())
    } else if let Some(i) = input.downcast_ref::<ListDurableExecutionsByFunctionInput>() {
        function_arn(i.function_name().unwrap_or_default(), i.qualifier())
    } else if let Some(i) = input.downcast_ref::<InvokeInput>() {
        function_arn(i.function_name().unwrap_or_default(), i.qualifier())
    } else if let Some(i) = input.downcast_ref::<DeleteFunctionInput>() {
        // A version's delete is authorized on the version's ARN.
        function_arn(i.function_name().unwrap_or_default(), i.qualifier())
    } else {
        return Vec::new();
    };
    vec![request(&action, arn)]
}

fn dynamodb(operation: &str, input: &Input) -> Vec<IamRequest> {
    use aws_sdk_dynamodb::operation::{
        batch_write_item::BatchWriteItemInput, delete_item::DeleteItemInput,
        get_item::GetItemInput, put_item::PutItemInput, query::QueryInput,
        transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
    };
    let action = format!("dynamodb:{operation}");
    let table = if let Some(i) = input.downcast_ref::<GetItemInput>() {
        i.table_name()
    } else if let Some(i) = input.downcast_ref::<PutItemInput>() {
        i.table_name()
    } else if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
        i.table_name()
    } else if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
        i.table_name()
    } else if let Some(i) = input.downcast_ref::<QueryInput>() {
        let table = table_arn(i.table_name().unwrap_or_default());
        let arn = match i.index_name() {
            Some(index) => format!("{table}/index/{index}"),
            None => table,
        };
        return vec![request(&action, arn)];
    } else if let Some(b) = input.downcast_ref::<BatchWriteItemInput>() {
        return b
            .request_items()
            .into_iter()
            .flat_map(|items| items.keys())
            .map(|table| request(&action, table_arn(table)))
            .collect();
    } else if let Some(t) = input.downcast_ref::<TransactWriteItemsInput>() {
        // IAM has no TransactWriteItems action: each item is authorized as the write it is.
        return t
            .transact_items()
            .iter()
            .filter_map(|w| {
                if let Some(put) = w.put() {
                    Some(request("dynamodb:PutItem", table_arn(put.table_name())))
                } else if let Some(update) = w.update() {
                    Some(request(
                        "dynamodb:UpdateItem",
                        table_arn(update.table_name()),
                    ))
                } else if let Some(delete) = w.delete() {
                    Some(request(
                        "dynamodb:DeleteItem",
                        table_arn(delete.table_name()),
                    ))
                } else {
                    w.condition_check().map(|check| {
                        request("dynamodb:ConditionCheckItem", table_arn(check.table_name()))
                    })
                }
            })
            .collect();
    } else {
        return Vec::new();
    };
    vec![request(&action, table_arn(table.unwrap_or_default()))]
}

fn cloudwatch(operation: &str, input: &Input) -> Vec<IamRequest> {
    use aws_sdk_cloudwatch::operation::delete_alarms::DeleteAlarmsInput;
    use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsInput;
    use aws_sdk_cloudwatch::operation::put_dashboard::PutDashboardInput;
    use aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmInput;
    let action = format!("cloudwatch:{operation}");
    let alarm = |name: &str| format!("arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}");
    if let Some(i) = input.downcast_ref::<PutMetricAlarmInput>() {
        return vec![request(&action, alarm(i.alarm_name().unwrap_or_default()))];
    }
    if let Some(i) = input.downcast_ref::<PutDashboardInput>() {
        // Dashboards are global: their ARNs have no region.
        let name = i.dashboard_name().unwrap_or_default();
        return vec![request(
            &action,
            format!("arn:aws:cloudwatch::{ACCOUNT}:dashboard/{name}"),
        )];
    }
    if let Some(i) = input.downcast_ref::<DeleteAlarmsInput>() {
        return i
            .alarm_names()
            .iter()
            .map(|name| request(&action, alarm(name)))
            .collect();
    }
    let Some(i) = input.downcast_ref::<DescribeAlarmsInput>() else {
        // Every other call (GetMetricData, ...) checked as IAM authorizes one with no
        // resource-level permissions: on "*". A role must then allow it on "*".
        return vec![request(&action, "*".to_string())];
    };
    if i.alarm_names().is_empty() {
        // Listing by prefix or all alarms is authorized on every alarm.
        return vec![request(&action, alarm("*"))];
    }
    i.alarm_names()
        .iter()
        .map(|name| request(&action, alarm(name)))
        .collect()
}

fn sns(operation: &str, input: &Input) -> Vec<IamRequest> {
    use aws_sdk_sns::operation::publish::PublishInput;
    input
        .downcast_ref::<PublishInput>()
        .and_then(|i| i.topic_arn())
        .map(|topic| vec![request(&format!("sns:{operation}"), topic.to_string())])
        .unwrap_or_default()
}

fn sfn(operation: &str, input: &Input) -> Vec<IamRequest> {
    use aws_sdk_sfn::operation::{
        describe_execution::DescribeExecutionInput, start_execution::StartExecutionInput,
        stop_execution::StopExecutionInput,
    };
    let action = format!("states:{operation}");
    if let Some(i) = input.downcast_ref::<StopExecutionInput>() {
        return vec![request(
            &action,
            i.execution_arn().unwrap_or_default().into(),
        )];
    }
    if let Some(i) = input.downcast_ref::<DescribeExecutionInput>() {
        return vec![request(
            &action,
            i.execution_arn().unwrap_or_default().into(),
        )];
    }
    if let Some(i) = input.downcast_ref::<StartExecutionInput>() {
        return vec![request(
            &action,
            i.state_machine_arn().unwrap_or_default().into(),
        )];
    }
    // A task token names no resource IAM can match: the Service Authorization Reference lists
    // no resource type for these, so only a grant on "*" allows them.
    if matches!(
        operation,
        "SendTaskSuccess" | "SendTaskFailure" | "SendTaskHeartbeat"
    ) {
        return vec![request(&action, "*".into())];
    }
    Vec::new()
}

fn cloudformation(operation: &str, input: &Input) -> Vec<IamRequest> {
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksInput;
    let action = format!("cloudformation:{operation}");
    let Some(i) = input.downcast_ref::<DescribeStacksInput>() else {
        return Vec::new();
    };
    // A stack's id is its ARN; a bare name is authorized on any stack of that name.
    let stack = match i.stack_name() {
        Some(id) if id.starts_with("arn:") => id.to_string(),
        Some(name) => format!("arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/*"),
        None => "*".into(),
    };
    vec![request(&action, stack)]
}
