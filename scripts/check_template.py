"""Security check over template.yaml, run by `make test`.

Fails on: a "*" resource for any lambda: write action, iam:PassRole or dynamodb: action; a
DynamoDB table without encryption (checkov's own rule, CKV_AWS_119, asks for a customer key and
is skipped for a reason in template.yaml); a grant of an action IAM
authorizes on no resource type (states:SendTask*: a task token is not a resource) on anything
but "*", which matches nothing and is refused; a state machine Task whose
TimeoutSeconds does not exceed its function's Timeout (Step Functions would give up on an
attempt still running and start another beside it); a ManagedFunctionNames parameter that
defaults to, or accepts, a bare "*"; an alarm function (the revert path) whose reserved
concurrency cannot be set or can reach Lambda as 0 (which throttles every invocation), or
without an on-failure destination or a dead-letter queue on its EventBridge rule; a function
whose logs go to a group the template does not declare (Lambda's default group never expires);
a publisher of an SNS topic that the topic's KMS key does not let publish (topic_key_problems).

What checkov checks (`make template` runs it, failing on any check not skipped with a reason) is
not repeated here: SNS encryption (CKV_AWS_26), point-in-time recovery (CKV_AWS_28), a service's
Lambda permission without a source (CKV_AWS_364), a log group's retention (CKV_AWS_66).

usage: check_template.py TEMPLATE | --self-test
"""
import json
import os
import re
import sys

from cfnlint.decode import decode

LAMBDA_READ_PREFIXES = ("lambda:Get", "lambda:List")


# Actions whose row in IAM's Service Authorization Reference lists no resource type: IAM
# evaluates them against "*" only, so a statement naming an ARN never allows them.
# Step Functions: list_awsstepfunctions.html (the callback's task token is not a resource).
RESOURCELESS_ACTIONS = ("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat")


def risky(action: str) -> bool:
    action = action.strip()
    lowered = action.lower()
    if lowered in ("*", "iam:passrole", "iam:*") or lowered.startswith("dynamodb:"):
        return True
    if lowered.startswith("lambda:"):
        return not action.startswith(LAMBDA_READ_PREFIXES)
    return False


def as_list(value):
    return value if isinstance(value, list) else [value]


def statements(resource):
    props = resource.get("Properties", {}) or {}
    for policy in as_list(props.get("Policies", [])):
        if isinstance(policy, dict):
            for stmt in as_list(policy.get("Statement", [])):
                yield stmt
            doc = policy.get("PolicyDocument")
            if isinstance(doc, dict):
                yield from as_list(doc.get("Statement", []))
    doc = props.get("PolicyDocument")
    if isinstance(doc, dict):
        yield from as_list(doc.get("Statement", []))


def problems(template):
    found = []
    for name, resource in (template.get("Resources") or {}).items():
        kind = resource.get("Type", "")
        props = resource.get("Properties", {}) or {}
        for stmt in statements(resource):
            if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
                continue
            actions = [a for a in as_list(stmt.get("Action", [])) if isinstance(a, str)]
            wildcard = any(r == "*" for r in as_list(stmt.get("Resource", [])))
            bad = [a for a in actions if risky(a)]
            if wildcard and bad:
                found.append(f"{name}: Resource '*' for {', '.join(bad)}")
            unmatched = [a for a in actions if a.lower() in (r.lower() for r in RESOURCELESS_ACTIONS)]
            if unmatched and not wildcard:
                found.append(f"{name}: {', '.join(unmatched)} granted on a resource ARN, which IAM "
                             "never matches for it (it takes no resource type): grant it on '*'")
        if kind == "AWS::DynamoDB::Table":
            if not (props.get("SSESpecification") or {}).get("SSEEnabled"):
                found.append(f"{name}: table without SSESpecification.SSEEnabled")
    return found


def managed_names_problems(template):
    """ManagedFunctionNames must be asked for, and must not allow every function."""
    found = []
    param = (template.get("Parameters") or {}).get("ManagedFunctionNames")
    if param is None:
        return found
    if param.get("Default") == "*":
        found.append('ManagedFunctionNames: defaults to "*" (every function in the account)')
    pattern = param.get("AllowedPattern")
    if not pattern or re.fullmatch(pattern, "*"):
        found.append('ManagedFunctionNames: AllowedPattern accepts a bare "*"')
    elif not re.fullmatch(pattern, "orders-*"):
        found.append('ManagedFunctionNames: AllowedPattern refuses a pattern like "orders-*"')
    return found


def revert_path_problems(template):
    """The alarm function must survive a bad day: its own concurrency, and nothing dropped."""
    fn = (template.get("Resources") or {}).get("AlarmFunction")
    if fn is None:
        return ["AlarmFunction: missing"]
    props = fn.get("Properties") or {}
    found = reservation_problems(template, props.get("ReservedConcurrentExecutions"))
    on_failure = (((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {})
                  .get("OnFailure"))
    if not on_failure and not props.get("DeadLetterQueue"):
        found.append("AlarmFunction: no on-failure destination or dead-letter queue")
    for name, event in (props.get("Events") or {}).items():
        if event.get("Type") == "EventBridgeRule":
            if not (event.get("Properties") or {}).get("DeadLetterConfig"):
                found.append(f"AlarmFunction.{name}: EventBridge rule without DeadLetterConfig")
    return found


def reservation_problems(template, value):
    """The alarm function's ReservedConcurrentExecutions: settable (a number, or a parameter),
    and never 0 once it reaches Lambda, where 0 throttles every invocation. A parameter that
    allows 0 for "none" must go through a condition that leaves the property out
    (!If [cond, !Ref P, !Ref AWS::NoValue], cond being !Not [!Equals [!Ref P, "0"]])."""
    params = template.get("Parameters") or {}
    conditions = template.get("Conditions") or {}

    def min_value(name):
        try:
            return float(params[name].get("MinValue", float("-inf")))
        except (TypeError, ValueError):
            return float("-inf")

    def excludes_zero(condition, name):
        inner = (conditions.get(condition) or {}).get("Fn::Not")
        equals = (inner or [{}])[0].get("Fn::Equals") if isinstance(inner, list) else None
        if not isinstance(equals, list) or len(equals) != 2:
            return False
        return ({"Ref": name} in equals
                and any(str(v) == "0" for v in equals if not isinstance(v, dict)))

    if value is None:
        return ["AlarmFunction: no ReservedConcurrentExecutions (not even a parameter to reserve it)"]
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        if str(value).strip() in ("0", "0.0"):
            return ["AlarmFunction: ReservedConcurrentExecutions 0 throttles every invocation"]
        return []
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in params:
        if min_value(value["Ref"]) < 1:
            return [f"AlarmFunction: ReservedConcurrentExecutions is {value['Ref']}, which may be 0: "
                    "Lambda would throttle every invocation (leave the property out through a "
                    "condition and AWS::NoValue instead)"]
        return []
    branches = value.get("Fn::If") if isinstance(value, dict) else None
    if isinstance(branches, list) and len(branches) == 3:
        condition, reserved, otherwise = branches
        if otherwise != {"Ref": "AWS::NoValue"}:
            return ["AlarmFunction: ReservedConcurrentExecutions' Fn::If does not leave the property out (AWS::NoValue) for none"]
        if isinstance(reserved, dict) and set(reserved) == {"Ref"} and reserved["Ref"] in params:
            name = reserved["Ref"]
            if min_value(name) < 0:
                return [f"AlarmFunction: {name} accepts negative values"]
            if min_value(name) < 1 and not excludes_zero(condition, name):
                return [f"AlarmFunction: condition {condition} does not rule out {name} = 0, which "
                        "Lambda would take as throttle every invocation"]
            return []
        return reservation_problems(template, reserved)
    return ["AlarmFunction: ReservedConcurrentExecutions is neither a number, a parameter nor "
            "a condition on one"]


def function_timeouts(template):
    """Each function's Lambda Timeout, by logical name (Globals apply where it sets none)."""
    default = ((template.get("Globals") or {}).get("Function") or {}).get("Timeout", 3)
    return {name: (r.get("Properties") or {}).get("Timeout", default)
            for name, r in (template.get("Resources") or {}).items()
            if r.get("Type") == "AWS::Serverless::Function"}


def task_timeout_problems(template, definitions):
    """Tasks of each state machine whose TimeoutSeconds is not above the function's Timeout.
    `definitions` maps a DefinitionUri to its parsed ASL."""
    found = []
    timeouts = function_timeouts(template)
    for name, r in (template.get("Resources") or {}).items():
        props = r.get("Properties") or {}
        if r.get("Type") != "AWS::Serverless::StateMachine" or "DefinitionUri" not in props:
            continue
        asl = definitions[props["DefinitionUri"]]
        substitutions = props.get("DefinitionSubstitutions") or {}
        for state, body in (asl.get("States") or {}).items():
            resource = body.get("Resource", "")
            if body.get("Type") != "Task" or not resource.startswith("${"):
                continue
            target = substitutions.get(resource[2:-1])
            function = (target or {}).get("Fn::GetAtt", [None])[0] if isinstance(target, dict) else None
            if function not in timeouts:
                continue
            limit = body.get("TimeoutSeconds")
            if limit is None or limit <= timeouts[function]:
                found.append(f"{name}.{state}: TimeoutSeconds {limit} does not exceed "
                             f"{function}'s Timeout {timeouts[function]}")
    return found


# What SNS needs from the topic's KMS key for a publish: a data key, and the key to decrypt it.
PUBLISH_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
AWS_MANAGED_SNS_KEY = "alias/aws/sns"
ALARM_ACTION_LISTS = ("AlarmActions", "OKActions", "InsufficientDataActions")
SNS_PUBLISH_POLICY_TEMPLATES = ("SNSPublishMessagePolicy", "SNSCrudPolicy")


def wildcard_match(patterns, value):
    """IAM's matching of an Action element: case-insensitive, `*` and `?` wildcards."""
    for pattern in as_list(patterns):
        if not isinstance(pattern, str):
            continue
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                        for c in pattern.lower())
        if re.fullmatch(regex, value.lower()):
            return True
    return False


def referenced(value, names):
    """The names among `names` (logical ids) that `value` refers to, by Ref, Fn::GetAtt or
    Fn::Sub, at any depth (a Fn::If's branches included)."""
    found = set()
    if isinstance(value, list):
        for v in value:
            found |= referenced(v, names)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and arg in names:
                found.add(arg)
            elif key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                if target in names:
                    found.add(target)
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                if isinstance(text, str):
                    for var in re.findall(r"\$\{([^}!][^}]*)\}", text):
                        if var.split(".", 1)[0] in names:
                            found.add(var.split(".", 1)[0])
                if isinstance(arg, list) and len(arg) > 1:
                    found |= referenced(arg[1], names)
            else:
                found |= referenced(arg, names)
    return found


def topic_keys(resources):
    """Each topic's key: the logical id of an AWS::KMS::Key of the template, AWS_MANAGED_SNS_KEY,
    None (no encryption) or the raw value when the key is not one of the template's."""
    keys = {n for n, r in resources.items() if r.get("Type") == "AWS::KMS::Key"}
    aliases = {n: r for n, r in resources.items() if r.get("Type") == "AWS::KMS::Alias"}
    out = {}
    for name, r in resources.items():
        if r.get("Type") != "AWS::SNS::Topic":
            continue
        value = (r.get("Properties") or {}).get("KmsMasterKeyId")
        if value is None:
            out[name] = None
        elif isinstance(value, str) and value.endswith(AWS_MANAGED_SNS_KEY):
            out[name] = AWS_MANAGED_SNS_KEY
        elif referenced(value, keys):
            out[name] = next(iter(referenced(value, keys)))
        elif referenced(value, set(aliases)):
            alias = aliases[next(iter(referenced(value, set(aliases))))]
            target = referenced((alias.get("Properties") or {}).get("TargetKeyId"), keys)
            out[name] = next(iter(target)) if target else value
        else:
            out[name] = value
    return out


def publishers(resources, topics):
    """Who publishes to which topic: (topic, publisher, kind, who), where kind is "service"
    (who is a service principal) or "role" (who is the logical id whose own policies must
    grant the key)."""
    found = []
    for name, r in resources.items():
        kind = r.get("Type", "")
        props = r.get("Properties") or {}
        if kind in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
            for field in ALARM_ACTION_LISTS:
                for topic in sorted(referenced(props.get(field), topics)):
                    found.append((topic, f"{name}.{field}", "service", "cloudwatch.amazonaws.com"))
        elif kind == "AWS::Events::Rule":
            for target in as_list(props.get("Targets") or []):
                for topic in sorted(referenced((target or {}).get("Arn"), topics)):
                    found.append((topic, f"{name}.Targets", "service", "events.amazonaws.com"))
        elif kind == "AWS::SNS::TopicPolicy":
            for stmt in as_list((props.get("PolicyDocument") or {}).get("Statement", [])):
                if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
                    continue
                if not wildcard_match(stmt.get("Action", []), "sns:Publish"):
                    continue
                principal = stmt.get("Principal") or {}
                services = as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
                for topic in sorted(referenced(props.get("Topics"), topics)):
                    for service in services:
                        if isinstance(service, str):
                            found.append((topic, f"{name}.PolicyDocument", "service", service))
        elif kind == "AWS::S3::Bucket":
            config = props.get("NotificationConfiguration") or {}
            for topic in sorted(referenced(config.get("TopicConfigurations"), topics)):
                found.append((topic, f"{name}.NotificationConfiguration", "service", "s3.amazonaws.com"))
        if kind in ("AWS::Serverless::Function", "AWS::IAM::Role", "AWS::IAM::Policy",
                    "AWS::IAM::ManagedPolicy"):
            for topic in sorted(role_published_topics(r, topics)):
                for role in roles_of(name, r):
                    found.append((topic, f"{name} (sns:Publish)", "role", role))
        if kind == "AWS::Serverless::Function":
            # Lambda sends an SNS destination or dead letter with the function's own role.
            config = props.get("EventInvokeConfig") or {}
            sinks = [props.get("DeadLetterQueue")]
            sinks += list(((config.get("DestinationConfig") or {}).values()))
            for sink in sinks:
                if isinstance(sink, dict) and sink.get("Type") == "SNS":
                    target = sink.get("Destination", sink.get("TargetArn"))
                    for topic in sorted(referenced(target, topics)):
                        found.append((topic, f"{name} (Lambda sends to it)", "role", name))
    return found


def roles_of(name, resource):
    """The identities whose policies a policy resource lands in: a SAM function or role itself,
    the Roles an AWS::IAM::Policy or ManagedPolicy is attached to."""
    if resource.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        roles = (resource.get("Properties") or {}).get("Roles") or []
        return [r["Ref"] for r in as_list(roles) if isinstance(r, dict) and "Ref" in r]
    return [name]


def role_published_topics(resource, topics):
    """The topics a function's or role's own policies let it publish to."""
    found = set()
    for policy in as_list((resource.get("Properties") or {}).get("Policies", [])):
        if isinstance(policy, dict):
            for template in SNS_PUBLISH_POLICY_TEMPLATES:
                if template in policy:
                    found |= referenced(policy[template], topics)
    for stmt in statements(resource):
        if (isinstance(stmt, dict) and stmt.get("Effect") == "Allow"
                and wildcard_match(stmt.get("Action", []), "sns:Publish")):
            found |= referenced(stmt.get("Resource"), topics)
    return found


def identity_statements(resources, identity):
    """Every statement of `identity`'s own policies, those attached from elsewhere included."""
    out = list(statements(resources[identity]))
    for r in resources.values():
        if r.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if identity in roles_of("", r):
                out += list(statements(r))
    return out


def grants_key_use(stmts, key):
    """Whether Allow statements grant every PUBLISH_KEY_ACTIONS on `key` (or on "*")."""
    def covers(stmt, action):
        if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
            return False
        if not wildcard_match(stmt.get("Action", []), action):
            return False
        resource = stmt.get("Resource", [])
        return "*" in as_list(resource) or key in referenced(resource, {key})
    return all(any(covers(s, a) for s in stmts) for a in PUBLISH_KEY_ACTIONS)


def key_statements(key_resource):
    return [s for s in as_list(((key_resource.get("Properties") or {}).get("KeyPolicy") or {})
                               .get("Statement", [])) if isinstance(s, dict)]


def key_allows_service(key_resource, service):
    """The key policy's answer for `service` asking every PUBLISH_KEY_ACTIONS: the problem,
    or None when it is allowed (for this account only: an aws:SourceAccount condition)."""
    def names(stmt):
        principal = stmt.get("Principal") or {}
        if principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS", []))):
            return True
        return isinstance(principal, dict) and service in as_list(principal.get("Service", []))
    stmts = [s for s in key_statements(key_resource) if names(s)]
    for action in PUBLISH_KEY_ACTIONS:
        if any(s.get("Effect") == "Deny" and wildcard_match(s.get("Action", []), action) for s in stmts):
            return f"denies {service} {action}"
        allowing = [s for s in stmts
                    if s.get("Effect") == "Allow" and wildcard_match(s.get("Action", []), action)]
        if not allowing:
            return f"does not grant {service} {action}"
        if not any("aws:SourceAccount" in json.dumps(s.get("Condition") or {}) for s in allowing):
            return f"grants {service} {action} without an aws:SourceAccount condition (any account's alarms or rules could use it)"
    return None


def key_delegates_to_iam(key_resource):
    """Whether the key policy lets the account's IAM policies grant the key's use: an Allow for
    the account root covering PUBLISH_KEY_ACTIONS."""
    for action in PUBLISH_KEY_ACTIONS:
        ok = False
        for s in key_statements(key_resource):
            principal = s.get("Principal") or {}
            aws = as_list(principal.get("AWS", [])) if isinstance(principal, dict) else []
            root = any(json.dumps(a).find(":root") >= 0 or a == {"Ref": "AWS::AccountId"} for a in aws)
            if s.get("Effect") == "Allow" and root and wildcard_match(s.get("Action", []), action):
                ok = True
        if not ok:
            return False
    return True


def topic_key_problems(template):
    """Every publisher of every topic must be able to use the topic's key: CloudWatch alarm
    actions (cloudwatch.amazonaws.com), EventBridge targets (events.amazonaws.com), services a
    topic policy lets publish, each by the key policy; a role that publishes, by its own
    policies (kms:GenerateDataKey and kms:Decrypt on the key) and a key policy that lets IAM
    grant it. A topic a service publishes to must not use alias/aws/sns, whose policy lets only
    this account's principals, through SNS, use it."""
    resources = template.get("Resources") or {}
    keys = topic_keys(resources)
    found = []
    for topic, source, kind, who in publishers(resources, set(keys)):
        key = keys[topic]
        if key is None:
            continue  # no encryption: checkov (CKV_AWS_26) reports the topic
        if key == AWS_MANAGED_SNS_KEY:
            if kind == "service":
                found.append(f"{source}: {who} publishes to {topic}, encrypted with the "
                             f"AWS-managed key {AWS_MANAGED_SNS_KEY}, which only this account's "
                             "principals can use: the message is lost")
            continue
        if not isinstance(key, str) or key not in resources:
            found.append(f"{source}: publishes to {topic}, whose key {json.dumps(key)} is not "
                         "declared in this template: its policy cannot be checked")
            continue
        if kind == "service":
            refusal = key_allows_service(resources[key], who)
            if refusal:
                found.append(f"{source}: {who} publishes to {topic}, but the policy of its key "
                             f"{key} {refusal}")
        else:
            if not grants_key_use(identity_statements(resources, who), key):
                found.append(f"{source}: {who} publishes to {topic} without "
                             f"{' and '.join(PUBLISH_KEY_ACTIONS)} on its key {key} in its own policies")
            if not key_delegates_to_iam(resources[key]):
                found.append(f"{source}: {who} publishes to {topic}, but the policy of its key "
                             f"{key} does not let the account's IAM policies grant its use")
    return found


def log_retention_problems(template):
    """Every function logs to a group the template declares (checkov's CKV_AWS_66 sees that
    each declares RetentionInDays): through LoggingConfig.LogGroup, or by a group named
    /aws/lambda/<the function>."""
    resources = template.get("Resources") or {}
    groups = {n: r for n, r in resources.items() if r.get("Type") == "AWS::Logs::LogGroup"}
    found = []
    default = (((template.get("Globals") or {}).get("Function") or {}).get("LoggingConfig") or {})
    for name, r in resources.items():
        if r.get("Type") not in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            continue
        config = dict(default if r["Type"] == "AWS::Serverless::Function" else {})
        config.update((r.get("Properties") or {}).get("LoggingConfig") or {})
        target = config.get("LogGroup")
        if target is not None:
            if not referenced(target, set(groups)):
                found.append(f"{name}: LoggingConfig.LogGroup is not a log group this template declares")
            continue
        named = [g for g, r in groups.items()
                 if {name} == referenced((r.get("Properties") or {}).get("LogGroupName"), {name})]
        if not named:
            found.append(f"{name}: no log group declared for it (LoggingConfig.LogGroup, or "
                         f"/aws/lambda/${{{name}}}): Lambda's default group never expires")
    return found


HANDLERS = ("start", "advance", "promote", "rollback", "retain", "alarm", "waves", "provider")


def handler_problems(template):
    """Every function runs the one handlers binary: each must name its handler, and each
    handler must be served by exactly one function."""
    found, served = [], {}
    for name, r in (template.get("Resources") or {}).items():
        if r.get("Type") != "AWS::Serverless::Function":
            continue
        variables = (((r.get("Properties") or {}).get("Environment") or {})
                     .get("Variables") or {})
        handler = variables.get("SHIFTBACK_HANDLER")
        if handler not in HANDLERS:
            found.append(f"{name}: SHIFTBACK_HANDLER is {handler!r}, not one of {', '.join(HANDLERS)}")
        else:
            served.setdefault(handler, []).append(name)
    for handler in HANDLERS:
        if len(served.get(handler, [])) != 1:
            found.append(f"handler {handler}: served by {served.get(handler, [])}, not by one function")
    return found


def wait_answer_problems(template):
    """`Wait: true` is answered when the release's workflow ends: the provider must be invoked
    on every terminal status of the release state machine's executions, or a waiting stack
    would wait out its ServiceTimeout and roll back a release that succeeded."""
    resources = template.get("Resources") or {}
    machines = [n for n, r in resources.items() if r.get("Type") == "AWS::Serverless::StateMachine"]
    for name, r in resources.items():
        props = r.get("Properties") or {}
        if ((props.get("Environment") or {}).get("Variables") or {}).get("SHIFTBACK_HANDLER") != "provider":
            continue
        for event in (props.get("Events") or {}).values():
            pattern = (event.get("Properties") or {}).get("Pattern") or {}
            detail = pattern.get("detail") or {}
            if (event.get("Type") == "EventBridgeRule"
                    and "aws.states" in as_list(pattern.get("source"))
                    and "Step Functions Execution Status Change" in as_list(pattern.get("detail-type"))
                    and referenced(detail.get("stateMachineArn"), machines)
                    and set(TERMINAL_STATUSES) <= set(as_list(detail.get("status")))):
                return []
        return [f"{name}: not invoked on every end ({', '.join(TERMINAL_STATUSES)}) of the release "
                "workflow's executions: a stack with Wait: true would never be answered"]
    return ["no function serves the provider handler"]


TERMINAL_STATUSES = ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]


def self_test():
    bad = {"Resources": {
        "F": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [
            {"Statement": [{"Effect": "Allow", "Action": ["lambda:UpdateAlias"], "Resource": "*"}]},
            {"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]},
            {"Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}]},
            {"Statement": [{"Effect": "Allow", "Action": "lambda:GetAlias", "Resource": "*"}]},
            {"Statement": [{"Effect": "Allow", "Action": "states:SendTaskSuccess",
                            "Resource": {"Ref": "StateMachine"}}]}]}},
        "D": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
    }}
    found = problems(bad)
    expected = ["lambda:UpdateAlias", "iam:PassRole", "dynamodb:PutItem", "SSEEnabled",
                "states:SendTaskSuccess granted on a resource ARN"]
    for needle in expected:
        assert any(needle in p for p in found), f"self-test: no problem mentions {needle}: {found}"
    assert not any("lambda:GetAlias" in p for p in found), "reads on '*' are allowed"
    good = {"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [
        {"Statement": [{"Effect": "Allow", "Action": "lambda:UpdateAlias",
                        "Resource": "arn:aws:lambda:us-east-1:1:function:orders-*"}]},
        {"Statement": [{"Effect": "Allow", "Action": "states:SendTaskSuccess", "Resource": "*"}]}]}}}}
    assert problems(good) == [], problems(good)
    machine = {"Globals": {"Function": {"Timeout": 90}}, "Resources": {
        "F": {"Type": "AWS::Serverless::Function", "Properties": {}},
        "G": {"Type": "AWS::Serverless::Function", "Properties": {"Timeout": 10}},
        "M": {"Type": "AWS::Serverless::StateMachine", "Properties": {
            "DefinitionUri": "m.json",
            "DefinitionSubstitutions": {"FArn": {"Fn::GetAtt": ["F", "Arn"]},
                                        "GArn": {"Fn::GetAtt": ["G", "Arn"]}}}}}}
    asl = {"States": {"A": {"Type": "Task", "Resource": "${FArn}", "TimeoutSeconds": 60},
                      "B": {"Type": "Task", "Resource": "${GArn}", "TimeoutSeconds": 60},
                      "C": {"Type": "Task", "Resource": "${GArn}"}}}
    found = task_timeout_problems(machine, {"m.json": asl})
    assert [p.split(":")[0] for p in found] == ["M.A", "M.C"], found
    for param, problem in [({"Default": "*", "AllowedPattern": "^(?!\\*$)[a-z*-]{1,64}$"}, "defaults"),
                           ({"AllowedPattern": "^[a-zA-Z0-9_*-]{1,64}$"}, "accepts a bare"),
                           ({"AllowedPattern": "^[a-z]+$"}, "refuses a pattern")]:
        found = managed_names_problems({"Parameters": {"ManagedFunctionNames": param}})
        assert any(problem in p for p in found), (param, found)
    assert managed_names_problems({"Parameters": {"ManagedFunctionNames": {
        "AllowedPattern": "^(?!\\*$)[a-zA-Z0-9_*-]{1,64}$"}}}) == []
    provider = {"Resources": {
        "M": {"Type": "AWS::Serverless::StateMachine", "Properties": {}},
        "P": {"Type": "AWS::Serverless::Function", "Properties": {
            "Environment": {"Variables": {"SHIFTBACK_HANDLER": "provider"}},
            "Events": {"E": {"Type": "EventBridgeRule", "Properties": {"Pattern": {
                "source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"stateMachineArn": [{"Ref": "M"}],
                           "status": ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]}}}}}}}}}
    assert wait_answer_problems(provider) == [], wait_answer_problems(provider)
    provider["Resources"]["P"]["Properties"]["Events"]["E"]["Properties"]["Pattern"]["detail"][
        "status"] = ["SUCCEEDED", "FAILED"]
    assert "Wait: true" in wait_answer_problems(provider)[0]
    bare = {"Resources": {"AlarmFunction": {"Properties": {"Events": {
        "E": {"Type": "EventBridgeRule", "Properties": {}}}}}}}
    found = revert_path_problems(bare)
    for needle in ["ReservedConcurrentExecutions", "on-failure", "DeadLetterConfig"]:
        assert any(needle in p for p in found), (needle, found)
    sound = {"Resources": {"AlarmFunction": {"Properties": {
        "ReservedConcurrentExecutions": 10,
        "EventInvokeConfig": {"DestinationConfig": {"OnFailure": {"Type": "SQS"}}},
        "Events": {"E": {"Type": "EventBridgeRule", "Properties": {"DeadLetterConfig": {"Arn": "q"}}}}}}}}
    assert revert_path_problems(sound) == [], revert_path_problems(sound)
    # A "none" setting: 0 must never reach Lambda, where it throttles every revert.
    none = lambda minimum, value, condition: {
        "Parameters": {"C": {"Type": "Number", "MinValue": minimum}},
        "Conditions": {"Reserves": condition},
        "Resources": {"AlarmFunction": {"Properties": {
            "ReservedConcurrentExecutions": value,
            "EventInvokeConfig": {"DestinationConfig": {"OnFailure": {"Type": "SQS"}}}}}}}
    conditional = {"Fn::If": ["Reserves", {"Ref": "C"}, {"Ref": "AWS::NoValue"}]}
    not_zero = {"Fn::Not": [{"Fn::Equals": [{"Ref": "C"}, "0"]}]}
    for template, needle in [
            (none(0, {"Ref": "C"}, not_zero), "which may be 0"),
            (none(0, conditional, {"Fn::Not": [{"Fn::Equals": [{"Ref": "C"}, "1"]}]}), "does not rule out C = 0"),
            (none(0, {"Fn::If": ["Reserves", {"Ref": "C"}, 0]}, not_zero), "does not leave the property out"),
            (none(1, 0, not_zero), "0 throttles every invocation")]:
        found = revert_path_problems(template)
        assert any(needle in p for p in found), (needle, found)
    for template in [none(0, conditional, not_zero), none(1, {"Ref": "C"}, not_zero), none(1, 10, not_zero)]:
        assert revert_path_problems(template) == [], revert_path_problems(template)
    fn = lambda handler: {"Type": "AWS::Serverless::Function", "Properties": {
        "Environment": {"Variables": {"SHIFTBACK_HANDLER": handler}}}}
    served = {"Resources": {h.title(): fn(h) for h in HANDLERS}}
    assert handler_problems(served) == [], handler_problems(served)
    served["Resources"]["Start"] = fn("strat")
    found = handler_problems(served)
    assert any("Start: SHIFTBACK_HANDLER is 'strat'" in p for p in found), found
    assert any("handler start: served by []" in p for p in found), found
    logs = lambda group, fn: {"Resources": {
        "G": {"Type": "AWS::Logs::LogGroup", "Properties": group},
        "F": {"Type": "AWS::Serverless::Function", "Properties": fn}}}
    retained = {"RetentionInDays": 30}
    for template, needle in [
            (logs(retained, {}), "F: no log group declared for it"),
            (logs(retained, {"LoggingConfig": {"LogGroup": "/aws/lambda/elsewhere"}}), "not a log group this template declares")]:
        found = log_retention_problems(template)
        assert any(needle in p for p in found), (needle, found)
    for template in [logs(retained, {"LoggingConfig": {"LogGroup": {"Ref": "G"}}}),
                     logs(dict(retained, LogGroupName={"Fn::Sub": "/aws/lambda/${F}"}), {})]:
        assert log_retention_problems(template) == [], log_retention_problems(template)
    topic_cases = topic_key_self_test()
    print(f"check_template self-test: {len(expected) + 23 + topic_cases} passed, 0 failed")


def topic_key_self_test():
    """topic_key_problems on a sound template, then on each way a publisher can be left out.
    Returns the number of cases."""

    def sound():
        key_policy = {"Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Principal": {
                "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}},
            {"Effect": "Allow", "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
             "Action": ["kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]}
        return {"Resources": {
            "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}},
            "T": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
            "A": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmActions": [{"Ref": "T"}]}},
            "R": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [{"Id": "t", "Arn": {"Ref": "T"}}]}},
            "F": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [
                {"SNSPublishMessagePolicy": {"TopicName": {"Fn::GetAtt": ["T", "TopicName"]}}},
                {"Statement": [{"Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                                "Resource": {"Fn::GetAtt": ["Key", "Arn"]}}]}]}}}}

    assert topic_key_problems(sound()) == [], topic_key_problems(sound())
    resources = lambda t: t["Resources"]
    cases = [
        # Today's template before the fix: the alarm's page under the AWS-managed key.
        (lambda t: resources(t)["T"]["Properties"].update(KmsMasterKeyId="alias/aws/sns"),
         ["A.AlarmActions: cloudwatch.amazonaws.com publishes to T, encrypted with the AWS-managed key",
          "R.Targets: events.amazonaws.com publishes to T, encrypted with the AWS-managed key"]),
        # A key that names no service: neither the alarm nor the rule may publish.
        (lambda t: resources(t)["Key"]["Properties"]["KeyPolicy"]["Statement"].pop(1),
         ["A.AlarmActions: cloudwatch.amazonaws.com publishes to T, but the policy of its key Key does not grant",
          "R.Targets: events.amazonaws.com publishes to T, but the policy of its key Key does not grant"]),
        # The EventBridge grant alone forgotten, on an OKActions alarm.
        (lambda t: (resources(t)["Key"]["Properties"]["KeyPolicy"]["Statement"][1]["Principal"]
                    .update(Service="cloudwatch.amazonaws.com"),
                    resources(t)["A"]["Properties"].update(AlarmActions=[], OKActions=[{"Ref": "T"}])),
         ["R.Targets: events.amazonaws.com publishes to T, but the policy of its key Key does not grant events.amazonaws.com"]),
        # Decrypt left out for the services.
        (lambda t: resources(t)["Key"]["Properties"]["KeyPolicy"]["Statement"][1].update(
            Action="kms:GenerateDataKey*"),
         ["does not grant cloudwatch.amazonaws.com kms:Decrypt"]),
        # No aws:SourceAccount: a confused deputy.
        (lambda t: resources(t)["Key"]["Properties"]["KeyPolicy"]["Statement"][1].pop("Condition"),
         ["without an aws:SourceAccount condition"]),
        # A function that publishes with no key statement in its role.
        (lambda t: resources(t)["F"]["Properties"]["Policies"].pop(1),
         ["F (sns:Publish): F publishes to T without kms:GenerateDataKey and kms:Decrypt on its key Key"]),
        # ... or with GenerateDataKey only, through an inline sns:Publish statement.
        (lambda t: resources(t)["F"]["Properties"].update(Policies=[{"Statement": [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "T"}},
            {"Effect": "Allow", "Action": "kms:GenerateDataKey*", "Resource": {"Fn::GetAtt": ["Key", "Arn"]}}]}]),
         ["F publishes to T without kms:GenerateDataKey and kms:Decrypt"]),
        # A key policy without the account statement: IAM policies cannot grant its use.
        (lambda t: resources(t)["Key"]["Properties"]["KeyPolicy"]["Statement"].pop(0),
         ["F (sns:Publish): F publishes to T, but the policy of its key Key does not let the account's IAM policies"]),
        # Another service let in by the topic policy, through the key's alias.
        (lambda t: resources(t).update(
            Alias={"Type": "AWS::KMS::Alias", "Properties": {"TargetKeyId": {"Ref": "Key"}}},
            P={"Type": "AWS::SNS::TopicPolicy", "Properties": {"Topics": [{"Ref": "T"}], "PolicyDocument": {
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                               "Action": "sns:Publish", "Resource": {"Ref": "T"}}]}}})
         or resources(t)["T"]["Properties"].update(KmsMasterKeyId={"Ref": "Alias"}),
         ["P.PolicyDocument: s3.amazonaws.com publishes to T, but the policy of its key Key does not grant"]),
        # A key from outside the template cannot be checked.
        (lambda t: resources(t)["T"]["Properties"].update(KmsMasterKeyId={"Ref": "KeyArnParameter"}),
         ["whose key {\"Ref\": \"KeyArnParameter\"} is not declared in this template"]),
    ]
    for mutate, needles in cases:
        t = sound()
        mutate(t)
        found = topic_key_problems(t)
        for needle in needles:
            assert any(needle in p for p in found), (needle, found)
        assert len(found) >= len(needles)
    # The AWS-managed key is fine for a role that publishes: SNS lets the account's principals.
    t = sound()
    resources(t)["T"]["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"
    del resources(t)["A"], resources(t)["R"]
    assert topic_key_problems(t) == [], topic_key_problems(t)
    return len(cases) + 2


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        sys.exit(0)
    template, matches = decode(sys.argv[1])
    if template is None:
        sys.exit(f"cannot read {sys.argv[1]}: {matches}")
    found = problems(template)
    base = os.path.dirname(os.path.abspath(sys.argv[1]))
    definitions = {}
    for r in (template.get("Resources") or {}).values():
        uri = (r.get("Properties") or {}).get("DefinitionUri")
        if r.get("Type") == "AWS::Serverless::StateMachine" and isinstance(uri, str):
            with open(os.path.join(base, uri)) as f:
                definitions[uri] = json.load(f)
    found += task_timeout_problems(template, definitions)
    found += managed_names_problems(template)
    found += revert_path_problems(template)
    found += handler_problems(template)
    found += topic_key_problems(template)
    found += log_retention_problems(template)
    found += wait_answer_problems(template)
    for p in found:
        print(f"check_template: {p}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"check_template: {sys.argv[1]} passes the security checks")
