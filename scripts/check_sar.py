"""Serverless Application Repository readiness of template.yaml, run by `make test`.

SAR shows and checks what the template's `Metadata: AWS::ServerlessRepo::Application` says, and
deploys only the resource types on its list; neither `sam validate` nor cfn-lint looks at
either. Fails on: a metadata property missing or outside SAR's limits (Name, Author, Labels
patterns and lengths; intrinsic functions, which SAR does not resolve); a SemanticVersion or
SpdxLicenseId other than the crate's own version and license; a LicenseUrl or ReadmeUrl file that
is missing or over 5 MB; a resource type, after SAM's transform, that SAR does not deploy
(`Custom::*` among them: SAR takes custom resources only as AWS::CloudFormation::CustomResource);
a capability the template needs that the documented deploy command (docs/src/install.md) does
not acknowledge.

usage: check_sar.py TEMPLATE INSTALL_DOC | --self-test
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# SAR's "List of Supported AWS Resources" (its developer guide, docs source as of 2021-02-08:
# awsdocs/aws-serverlessrepo-developer-guide, doc_source/list-supported-resources.md), with the
# entries the live page adds that the stored copy shows. A type missing here may be supported
# since: check the live page before adding it.
SUPPORTED = {
    "AccessAnalyzer": "Analyzer",
    "ApiGateway": "ApiKey Authorizer BasePathMapping ClientCertificate Deployment DocumentationPart DocumentationVersion DomainName GatewayResponse Method Model RequestValidator Resource RestApi Stage UsagePlan UsagePlanKey VpcLink",
    "ApiGatewayV2": "Api ApiMapping Authorizer Deployment DomainName Integration IntegrationResponse Model Route RouteResponse Stage",
    "AppSync": "ApiKey DataSource GraphQLApi GraphQLSchema Resolver",
    "ApplicationAutoScaling": "ScalableTarget ScalingPolicy",
    "Athena": "NamedQuery",
    "CertificateManager": "Certificate",
    "CloudFormation": "CustomResource Interface Macro WaitConditionHandle",
    "CloudFront": "CloudFrontOriginAccessIdentity Distribution StreamingDistribution",
    "CloudTrail": "Trail",
    "CloudWatch": "Alarm AnomalyDetector Dashboard InsightRule",
    "CodeBuild": "Project",
    "CodeCommit": "Repository",
    "CodePipeline": "CustomActionType Pipeline Webhook",
    "Cognito": "IdentityPool IdentityPoolRoleAttachment UserPool UserPoolClient UserPoolDomain UserPoolGroup UserPoolResourceServer UserPoolUser UserPoolUserToGroupAttachment",
    "Config": "AggregationAuthorization ConfigRule ConfigurationAggregator ConfigurationRecorder DeliveryChannel RemediationConfiguration",
    "DataPipeline": "Pipeline",
    "DynamoDB": "Table",
    "EC2": "SecurityGroup SecurityGroupEgress SecurityGroupIngress",
    "ECR": "Repository",
    "Elasticsearch": "Domain",
    "EventSchemas": "Discoverer Registry Schema",
    "Events": "EventBusPolicy Rule",
    "Glue": "Classifier Connection Crawler Database DevEndpoint Job Partition Table Trigger",
    "IAM": "Group InstanceProfile ManagedPolicy Policy Role",
    "IoT": "Certificate Policy PolicyPrincipalAttachment Thing ThingPrincipalAttachment TopicRule",
    "KMS": "Alias Key",
    "Kinesis": "Stream StreamConsumer Streams",
    "KinesisAnalytics": "Application ApplicationOutput",
    "KinesisFirehose": "DeliveryStream",
    "Lambda": "Alias EventInvokeConfig EventSourceMapping Function LayerVersion LayerVersionPermission Permission Version",
    "Logs": "Destination LogGroup LogStream MetricFilter SubscriptionFilter",
    "Route53": "HealthCheck HostedZone RecordSet RecordSetGroup",
    "S3": "Bucket BucketPolicy",
    "SNS": "Subscription Topic TopicPolicy",
    "SQS": "Queue QueuePolicy",
    "SSM": "Association Document MaintenanceWindowTask Parameter PatchBaseline ResourceDataSync",
    "Serverless": "Api Application Function HttpApi LayerVersion SimpleTable StateMachine",
    "StepFunctions": "Activity StateMachine",
    "AmazonMQ": "Broker Configuration ConfigurationAssociation",
}
SUPPORTED_TYPES = {f"AWS::{svc}::{name}" for svc, names in SUPPORTED.items() for name in names.split()}

# What a deployer must acknowledge, by resource type (SAR's "Application Capabilities").
CAPABILITIES = {
    "CAPABILITY_IAM": {"AWS::IAM::Group", "AWS::IAM::InstanceProfile", "AWS::IAM::Policy", "AWS::IAM::Role"},
    "CAPABILITY_RESOURCE_POLICY": {
        "AWS::Lambda::LayerVersionPermission", "AWS::Lambda::Permission", "AWS::Events::EventBusPolicy",
        "AWS::IAM::Policy", "AWS::ApplicationAutoScaling::ScalingPolicy", "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"},
    "CAPABILITY_AUTO_EXPAND": {"AWS::Serverless::Application"},
}

NAME = re.compile(r"[a-zA-Z0-9\-]{1,140}")
AUTHOR = re.compile(r"^[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?$")
LABEL = re.compile(r"^[a-zA-Z0-9+\-_:/@]{1,127}$")
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")
MAX_FILE = 5 * 1024 * 1024


def intrinsic(value):
    if isinstance(value, dict):
        return any(k == "Ref" or k.startswith("Fn::") for k in value) or any(map(intrinsic, value.values()))
    if isinstance(value, list):
        return any(map(intrinsic, value))
    return False


def metadata_problems(metadata, base, crate_version, crate_license):
    app = (metadata or {}).get("AWS::ServerlessRepo::Application")
    if not isinstance(app, dict):
        return ["Metadata: no AWS::ServerlessRepo::Application"]
    found = []
    if intrinsic(app):
        found.append("an intrinsic function in the SAR metadata, which SAR does not resolve")
    for key in ("Name", "Description", "Author", "SemanticVersion", "SpdxLicenseId", "LicenseUrl"):
        if not app.get(key):
            found.append(f"{key}: missing (SAR needs it{' to make the application public' if key in ('SemanticVersion', 'LicenseUrl') else ''})")
    name, author = str(app.get("Name", "")), str(app.get("Author", ""))
    if name and not NAME.fullmatch(name):
        found.append(f"Name {name!r}: 1 to 140 letters, digits and hyphens")
    if author and (len(author) > 127 or not AUTHOR.fullmatch(author)):
        found.append(f"Author {author!r}: lower-case letters, digits and single hyphens, at most 127")
    description = str(app.get("Description", ""))
    if len(description) > 256:
        found.append(f"Description: {len(description)} characters, over SAR's 256")
    labels = app.get("Labels") or []
    if not isinstance(labels, list):
        found.append("Labels: a list of labels, not one string")
        labels = []
    if len(labels) > 10:
        found.append(f"Labels: {len(labels)}, over SAR's 10")
    found += [f"Label {l!r}: letters, digits and +-_:/@, at most 127" for l in labels if not LABEL.fullmatch(str(l))]
    version = str(app.get("SemanticVersion", ""))
    if version and not SEMVER.match(version):
        found.append(f"SemanticVersion {version!r} is not a semantic version")
    elif version and version != crate_version:
        found.append(f"SemanticVersion {version} is not the crate's version {crate_version}")
    spdx = app.get("SpdxLicenseId")
    if spdx and spdx != crate_license:
        found.append(f"SpdxLicenseId {spdx} is not the crate's license {crate_license}")
    for key in ("LicenseUrl", "ReadmeUrl"):
        path = app.get(key)
        if not isinstance(path, str) or path.startswith("s3://"):
            continue
        local = os.path.join(base, path)
        if not os.path.isfile(local):
            found.append(f"{key}: {path} does not exist (sam package uploads it from here)")
        elif os.path.getsize(local) > MAX_FILE:
            found.append(f"{key}: {path} is over SAR's 5 MB")
    return found


def resource_problems(types):
    found = []
    for kind in sorted(set(types)):
        if kind.startswith("Custom::"):
            found.append(f"{kind}: SAR takes custom resources only as AWS::CloudFormation::CustomResource")
        elif kind not in SUPPORTED_TYPES:
            found.append(f"{kind}: not on SAR's list of supported resources")
    return found


def capabilities(types):
    return sorted(c for c, kinds in CAPABILITIES.items() if kinds & set(types))


def capability_problems(needed, readme):
    return [f"install doc: the SAR deploy command does not acknowledge {c}, which the template needs"
            for c in needed if not re.search(rf"serverlessrepo create-cloud-formation-change-set[^`]*--capabilities[^\n]*{c}", readme)]


def crate_facts(root):
    """The library crate's version and the workspace's license."""
    def field(path, name):
        text = open(os.path.join(root, path), encoding="utf-8").read()
        found = re.search(rf'^{name} = "([^"]+)"', text, re.M)
        return found.group(1) if found else None
    return field("shared/Cargo.toml", "version"), field("Cargo.toml", "license")


def self_test():
    good = {"AWS::ServerlessRepo::Application": {
        "Name": "shiftback", "Description": "d", "Author": "shiftback", "SpdxLicenseId": "Apache-2.0",
        "LicenseUrl": "s3://b/LICENSE", "ReadmeUrl": "s3://b/README.md", "Labels": ["lambda"],
        "SemanticVersion": "0.1.0"}}
    assert metadata_problems(good, ".", "0.1.0", "Apache-2.0") == [], metadata_problems(good, ".", "0.1.0", "Apache-2.0")
    cases = [
        ({"Name": "shift back"}, "Name"),
        ({"Author": "Shift--Back"}, "Author"),
        ({"Description": "x" * 257}, "over SAR's 256"),
        ({"Labels": [f"l{i}" for i in range(11)]}, "over SAR's 10"),
        ({"Labels": ["has space"]}, "Label 'has space'"),
        ({"SemanticVersion": "1.0"}, "not a semantic version"),
        ({"SemanticVersion": "0.2.0"}, "not the crate's version"),
        ({"SpdxLicenseId": "MIT"}, "not the crate's license"),
        ({"LicenseUrl": "NO-SUCH-FILE"}, "does not exist"),
        ({"Name": {"Ref": "AWS::StackName"}}, "intrinsic function"),
        ({"LicenseUrl": None}, "LicenseUrl: missing"),
        ({"Labels": "lambda"}, "not one string"),
        ({"Author": "shiftback\n"}, "Author"),
    ]
    for change, needle in cases:
        app = dict(good["AWS::ServerlessRepo::Application"], **change)
        found = metadata_problems({"AWS::ServerlessRepo::Application": app}, ".", "0.1.0", "Apache-2.0")
        assert any(needle in p for p in found), (change, found)
    assert "no AWS::ServerlessRepo::Application" in metadata_problems({}, ".", "0.1.0", "Apache-2.0")[0]
    found = resource_problems(["AWS::Lambda::Function", "Custom::ShiftbackRelease", "AWS::Pipes::Pipe"])
    assert len(found) == 2 and any("Custom::ShiftbackRelease: SAR takes" in p for p in found), found
    assert any("AWS::Pipes::Pipe: not on SAR's list" in p for p in found), found
    needed = capabilities(["AWS::IAM::Role", "AWS::SQS::QueuePolicy", "AWS::Lambda::Function"])
    assert needed == ["CAPABILITY_IAM", "CAPABILITY_RESOURCE_POLICY"], needed
    readme = "aws serverlessrepo create-cloud-formation-change-set --capabilities CAPABILITY_IAM\n"
    assert capability_problems(needed, readme) == [
        "install doc: the SAR deploy command does not acknowledge CAPABILITY_RESOURCE_POLICY, which the template needs"]
    print(f"check_sar self-test: {len(cases) + 4} passed, 0 failed")


def main(template_path, readme_path):
    from cfnlint.decode import decode
    from check_roles import translate

    template, matches = decode(template_path)
    if template is None:
        sys.exit(f"cannot read {template_path}: {matches}")
    version, license_ = crate_facts(os.path.dirname(os.path.abspath(template_path)))
    found = metadata_problems(template.get("Metadata"), os.path.dirname(os.path.abspath(template_path)),
                              version, license_)
    translated = translate(template_path, {"ManagedFunctionNames": "orders-*"})
    types = [r["Type"] for r in translated["Resources"].values()]
    found += resource_problems(types)
    needed = capabilities(types)
    found += capability_problems(needed, open(readme_path, encoding="utf-8").read())
    for p in found:
        print(f"check_sar: {p}", file=sys.stderr)
    if found:
        sys.exit(1)
    print(f"check_sar: {template_path}: {len(types)} resources of {len(set(types))} types SAR deploys; "
          f"a deployer acknowledges {', '.join(needed)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        self_test()
    elif len(sys.argv) == 3:
        main(*sys.argv[1:])
    else:
        sys.exit(__doc__)
