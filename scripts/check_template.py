"""Security check over template.yaml, run by `make test`.

Fails on: a "*" resource for any lambda: write action, iam:PassRole or dynamodb: action; an SNS
topic without KMS encryption; a DynamoDB table without encryption or point-in-time recovery; a
Lambda permission with neither a source account nor a source ARN; a state machine Task whose
TimeoutSeconds does not exceed its function's Timeout (Step Functions would give up on an
attempt still running and start another beside it); a ManagedFunctionNames parameter that
defaults to, or accepts, a bare "*"; an alarm function (the revert path) without reserved
concurrency, an on-failure destination, or a dead-letter queue on its EventBridge rule.

usage: check_template.py TEMPLATE | --self-test
"""
import json
import os
import re
import sys

from cfnlint.decode import decode

LAMBDA_READ_PREFIXES = ("lambda:Get", "lambda:List")


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
        if kind == "AWS::SNS::Topic" and not props.get("KmsMasterKeyId"):
            found.append(f"{name}: SNS topic without KmsMasterKeyId")
        if kind == "AWS::DynamoDB::Table":
            if not (props.get("SSESpecification") or {}).get("SSEEnabled"):
                found.append(f"{name}: table without SSESpecification.SSEEnabled")
            pitr = props.get("PointInTimeRecoverySpecification") or {}
            if pitr.get("PointInTimeRecoveryEnabled") is not True:
                found.append(f"{name}: table without point-in-time recovery")
        if kind == "AWS::Lambda::Permission":
            if not props.get("SourceAccount") and not props.get("SourceArn"):
                found.append(f"{name}: Lambda permission without SourceAccount or SourceArn")
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
    found = []
    if not props.get("ReservedConcurrentExecutions"):
        found.append("AlarmFunction: no ReservedConcurrentExecutions")
    on_failure = (((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {})
                  .get("OnFailure"))
    if not on_failure and not props.get("DeadLetterQueue"):
        found.append("AlarmFunction: no on-failure destination or dead-letter queue")
    for name, event in (props.get("Events") or {}).items():
        if event.get("Type") == "EventBridgeRule":
            if not (event.get("Properties") or {}).get("DeadLetterConfig"):
                found.append(f"AlarmFunction.{name}: EventBridge rule without DeadLetterConfig")
    return found


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


HANDLERS = ("start", "advance", "promote", "rollback", "retain", "alarm", "provider")


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


def self_test():
    bad = {"Resources": {
        "F": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [
            {"Statement": [{"Effect": "Allow", "Action": ["lambda:UpdateAlias"], "Resource": "*"}]},
            {"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]},
            {"Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}]},
            {"Statement": [{"Effect": "Allow", "Action": "lambda:GetAlias", "Resource": "*"}]}]}},
        "T": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "D": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
        "P": {"Type": "AWS::Lambda::Permission", "Properties": {"Principal": "sns.amazonaws.com"}},
    }}
    found = problems(bad)
    expected = ["lambda:UpdateAlias", "iam:PassRole", "dynamodb:PutItem", "KmsMasterKeyId",
                "SSEEnabled", "point-in-time", "SourceAccount"]
    for needle in expected:
        assert any(needle in p for p in found), f"self-test: no problem mentions {needle}: {found}"
    assert not any("lambda:GetAlias" in p for p in found), "reads on '*' are allowed"
    good = {"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Policies": [
        {"Statement": [{"Effect": "Allow", "Action": "lambda:UpdateAlias",
                        "Resource": "arn:aws:lambda:us-east-1:1:function:orders-*"}]}]}}}}
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
    fn = lambda handler: {"Type": "AWS::Serverless::Function", "Properties": {
        "Environment": {"Variables": {"SHIFTBACK_HANDLER": handler}}}}
    served = {"Resources": {h.title(): fn(h) for h in HANDLERS}}
    assert handler_problems(served) == [], handler_problems(served)
    served["Resources"]["Start"] = fn("strat")
    found = handler_problems(served)
    assert any("Start: SHIFTBACK_HANDLER is 'strat'" in p for p in found), found
    assert any("handler start: served by []" in p for p in found), found
    print(f"check_template self-test: {len(expected) + 12} passed, 0 failed")


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
    for p in found:
        print(f"check_template: {p}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"check_template: {sys.argv[1]} passes the security checks")
