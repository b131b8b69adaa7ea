"""Checks that each function's role, as `sam deploy` would create it, allows every AWS call
the function was seen to make: the stand-in for a deploy into a real account.

The template is translated offline with the SAM translator (the same code CloudFormation's
Serverless transform runs), its intrinsic functions resolved against the names of the
resources the tests created, and each recorded call's IAM action and resource ARN evaluated
against the function's own role with IAM's rules: an explicit Deny wins; otherwise some Allow
must match the action (case-insensitive, `*` and `?` wildcards) and the resource (case-
sensitive wildcards), honouring NotAction and NotResource. A statement with a Condition is
never counted as allowing (it could not be evaluated here). AWS managed policies attached by
ARN are not known offline; SAM attaches only AWSLambdaBasicExecutionRole, which grants logs.

    check_roles.py TEMPLATE --calls CALLS.json [--parameter NAME=VALUE]...
                   [--physical LOGICAL_ID=NAME_OR_ARN]... [--without FUNCTION=ACTION]...

CALLS.json maps a function's logical id to the calls it made:
    {"StartFunction": [{"operation": "UpdateAlias", "action": "lambda:UpdateAlias",
                        "resource": "arn:aws:lambda:..."}]}
`--physical` gives what `Ref` returns for a resource (a table's name, a topic's ARN).
`--without` drops an action from a function's role before checking: the check's own test.
Exits 1 and names the function, operation, action and ARN of every call not allowed.
"""

import argparse
import copy
import json
import os
import re
import sys
from fnmatch import fnmatchcase

REGION = "us-east-1"
ACCOUNT = "123456789012"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackName": "shiftback",
    "AWS::URLSuffix": "amazonaws.com",
}
NO_VALUE = object()


class Unresolvable(Exception):
    pass


def translate(path, parameters):
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # Code locations are what `sam package` rewrites; the translator wants them as S3 URIs.
    places = [r.get("Properties", {}) for r in template.get("Resources", {}).values()]
    places += template.get("Globals", {}).values()
    for props in places:
        for key in ("CodeUri", "DefinitionUri"):
            if key in props and isinstance(props[key], str):
                props[key] = f"s3://shiftback-artifacts/{key}"
    return Translator({}, Parser()).translate(
        template, parameters, get_managed_policy_map=lambda: {}
    )


class Resolver:
    """CloudFormation's intrinsic functions, for the values a deploy of the tests' stack
    would give them."""

    def __init__(self, template, parameters, physical):
        self.resources = template["Resources"]
        self.values = dict(PSEUDO)
        for name, spec in template.get("Parameters", {}).items():
            if name in parameters:
                self.values[name] = parameters[name]
            elif "Default" in spec:
                self.values[name] = spec["Default"]
        self.physical = physical
        self.conditions = template.get("Conditions", {})

    def ref(self, name):
        if name in self.values:
            return self.values[name]
        if name in self.physical:
            return self.physical[name]
        # No handler calls KMS itself (SNS does, with the publisher's role, for the topics'
        # key), so no recorded call names the key: a stand-in key id serves.
        if self.resources.get(name, {}).get("Type") == "AWS::KMS::Key":
            return f"00000000-0000-0000-0000-{name.lower()[:12]:0>12}"
        raise Unresolvable(f"no value for Ref {name}: pass --physical {name}=...")

    def get_att(self, name, attribute):
        kind = self.resources.get(name, {}).get("Type")
        ref = self.ref(name)
        last = ref.rsplit(":", 1)[-1]
        attributes = {
            "AWS::DynamoDB::Table": {"Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{ref}"},
            "AWS::SNS::Topic": {"TopicArn": ref, "TopicName": last},
            "AWS::StepFunctions::StateMachine": {"Arn": ref, "Name": last},
            "AWS::Lambda::Function": {"Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{ref}"},
            "AWS::KMS::Key": {"Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{ref}", "KeyId": ref},
            "AWS::SQS::Queue": {
                "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{ref.rsplit('/', 1)[-1]}",
                "QueueName": ref.rsplit("/", 1)[-1],
            },
        }.get(kind, {})
        if attribute not in attributes:
            raise Unresolvable(f"cannot resolve Fn::GetAtt {name}.{attribute} ({kind})")
        return attributes[attribute]

    def condition(self, name):
        return bool(self.resolve(self.conditions[name]))

    def sub(self, text, variables):
        def replace(match):
            inner = match.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(self.resolve(variables[inner]))
            if "." in inner:
                return str(self.get_att(*inner.split(".", 1)))
            return str(self.ref(inner))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resolve(self, value):
        if isinstance(value, list):
            items = [self.resolve(v) for v in value]
            return [v for v in items if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self.ref(arg)
            if key == "Fn::GetAtt":
                name, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(name, attribute)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self.sub(text, variables)
            if key == "Fn::Join":
                return arg[0].join(str(v) for v in self.resolve(arg[1]))
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::Equals":
                return self.resolve(arg[0]) == self.resolve(arg[1])
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                raise Unresolvable(f"{key} is not supported here")
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def as_list(value):
    return value if isinstance(value, list) else [value]


def role_statements(template, function, resolver):
    """The statements of the inline policies of `function`'s role, resolved."""
    role = template["Resources"][function]["Properties"].get("Role")
    if not (isinstance(role, dict) and "Fn::GetAtt" in role):
        raise Unresolvable(f"{function}'s role is not one the template creates")
    role_id = as_list(role["Fn::GetAtt"])[0].split(".")[0]
    props = template["Resources"][role_id]["Properties"]
    for arn in props.get("ManagedPolicyArns", []):
        if not (isinstance(arn, str) and arn.startswith("arn:aws:iam::aws:policy/")):
            raise Unresolvable(f"{role_id} attaches {arn}, which this check cannot read")
    statements = []
    for policy in resolver.resolve(props.get("Policies", [])):
        statements.extend(as_list(policy["PolicyDocument"]["Statement"]))
    return role_id, statements


def matches(patterns, value, case_sensitive):
    if not case_sensitive:
        value = value.lower()
    for pattern in as_list(patterns):
        pattern = pattern if case_sensitive else pattern.lower()
        # IAM's wildcards: `*` any run of characters (`:` and `/` included), `?` one.
        regex = "".join(
            ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
        )
        if re.fullmatch(regex, value, flags=re.DOTALL):
            return True
    return False


def applies(statement, action, resource):
    if "Action" in statement:
        if not matches(statement["Action"], action, case_sensitive=False):
            return False
    elif matches(statement.get("NotAction", []), action, case_sensitive=False):
        return False
    if "Resource" in statement:
        return matches(statement["Resource"], resource, case_sensitive=True)
    return not matches(statement.get("NotResource", []), resource, case_sensitive=True)


def allowed(statements, action, resource):
    relevant = [s for s in statements if applies(s, action, resource)]
    if any(s["Effect"] == "Deny" for s in relevant):
        return False
    return any(s["Effect"] == "Allow" and "Condition" not in s for s in relevant)


def without(statements, action):
    """The statements with `action` taken out of every Allow."""
    out = []
    for statement in copy.deepcopy(statements):
        if statement["Effect"] == "Allow" and "Action" in statement:
            kept = [a for a in as_list(statement["Action"]) if a.lower() != action.lower()]
            if not kept:
                continue
            statement["Action"] = kept
        out.append(statement)
    return out


def pairs(values, flag):
    out = {}
    for value in values:
        if "=" not in value:
            sys.exit(f"{flag} takes NAME=VALUE, not {value!r}")
        key, _, rest = value.partition("=")
        out.setdefault(key, []).append(rest)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("template")
    parser.add_argument("--calls", required=True)
    parser.add_argument("--parameter", action="append", default=[])
    parser.add_argument("--physical", action="append", default=[])
    parser.add_argument("--without", action="append", default=[])
    args = parser.parse_args()
    parameters = {k: v[-1] for k, v in pairs(args.parameter, "--parameter").items()}
    physical = {k: v[-1] for k, v in pairs(args.physical, "--physical").items()}
    dropped = pairs(args.without, "--without")
    with open(args.calls, encoding="utf-8") as f:
        calls = json.load(f)

    template = translate(args.template, parameters)
    resolver = Resolver(template, parameters, physical)
    failures, checked = [], 0
    for function, made in sorted(calls.items()):
        if template["Resources"].get(function, {}).get("Type") != "AWS::Lambda::Function":
            failures.append(f"{function}: no such function in the template")
            continue
        try:
            role_id, statements = role_statements(template, function, resolver)
        except Unresolvable as e:
            failures.append(f"{function}: {e}")
            continue
        for action in dropped.get(function, []):
            statements = without(statements, action)
        for call in made:
            checked += 1
            if not call.get("action"):
                failures.append(
                    f"{function}: {call['operation']} has no IAM mapping "
                    "(add it to tests/support/iam.rs)"
                )
            elif not allowed(statements, call["action"], call["resource"]):
                failures.append(
                    f"{function}: {call['operation']} needs {call['action']} on "
                    f"{call['resource']}, which its role {role_id} does not allow"
                )
    # One line per distinct call not allowed, however often it was made.
    for failure in dict.fromkeys(failures):
        print(failure)
    print(f"{checked} calls by {len(calls)} functions checked, {len(failures)} not allowed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
