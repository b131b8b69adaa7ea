"""The demo's stand-ins for what an account already has: a function with two versions and an
alias, an alarm, topics with a subscribed queue. Talks to the local emulator only."""
import io
import json
import sys
import zipfile

import boto3

endpoint, command = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1")
lam, cw, sns, sqs = (boto3.client(s, **kw) for s in ("lambda", "cloudwatch", "sns", "sqs"))
ROLE = "arn:aws:iam::123456789012:role/shiftback-test-role"

if command == "setup":
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n")
    lam.create_function(FunctionName="orders", Runtime="provided.al2023", Role=ROLE,
                        Handler="bootstrap", Code={"ZipFile": buf.getvalue()})
    for v in (1, 2):
        lam.update_function_configuration(FunctionName="orders", Description=f"build {v}")
        lam.publish_version(FunctionName="orders")
    lam.create_alias(FunctionName="orders", Name="live", FunctionVersion="1")
    cw.put_metric_alarm(AlarmName="orders-errors", Namespace="AWS/Lambda", MetricName="Errors",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                        ComparisonOperator="GreaterThanOrEqualToThreshold",
                        Dimensions=[{"Name": "FunctionName", "Value": "orders"}])
    cw.set_alarm_state(AlarmName="orders-errors", StateValue="OK", StateReason="all good")
    releases = sns.create_topic(Name="shiftback-releases")["TopicArn"]
    incidents = sns.create_topic(Name="shiftback-incidents")["TopicArn"]
    queue = sqs.create_queue(QueueName="team-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for topic in (releases, incidents):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                      Attributes={"RawMessageDelivery": "true"})
    print(json.dumps({"releases": releases, "incidents": incidents, "queue": queue}))
elif command == "fire":
    cw.set_alarm_state(AlarmName="orders-errors", StateValue="ALARM",
                       StateReason="Threshold Crossed: 1 datapoint [12.0] was >= 5.0")
    alarm = cw.describe_alarms(AlarmNames=["orders-errors"])["MetricAlarms"][0]
    # moto emits no EventBridge event for SetAlarmState: this is the one AWS would deliver.
    print(json.dumps({
        "version": "0", "id": "demo-1", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "region": "us-east-1",
        "time": alarm["StateUpdatedTimestamp"].isoformat(), "resources": [alarm["AlarmArn"]],
        "detail": {"alarmName": "orders-errors", "state": {
            "value": "ALARM", "reason": alarm["StateReason"],
            "timestamp": alarm["StateUpdatedTimestamp"].isoformat()}}}))
elif command == "traffic":
    # What Lambda publishes for an alias with weighted routing: each version's invocations and
    # errors under FunctionName, Resource (function:alias) and ExecutedVersion.
    for version, invocations, errors in (("2", 120, 9), ("1", 1080, 1)):
        dims = [{"Name": "FunctionName", "Value": "orders"},
                {"Name": "Resource", "Value": "orders:live"},
                {"Name": "ExecutedVersion", "Value": version}]
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
            {"MetricName": "Invocations", "Dimensions": dims, "Value": invocations},
            {"MetricName": "Errors", "Dimensions": dims, "Value": errors}])
        print(f"   version {version}: {invocations} invocations, {errors} failed")
elif command == "builds":
    # Four more builds published over the weeks, and a second alias on one of them.
    for v in (3, 4, 5, 6):
        lam.update_function_configuration(FunctionName="orders", Description=f"build {v}")
        lam.publish_version(FunctionName="orders")
    lam.create_alias(FunctionName="orders", Name="beta", FunctionVersion="3")
    print("   versions 3 to 6 published; alias beta on version 3")
elif command == "reverted":
    for outcome in json.load(sys.stdin):
        for r in outcome["reverted"]:
            print(f"   >>> alarm function reverted {r['function']}:{r['alias']} to version "
                  f"{r['version']} at {r['reverted_at']} (release {r['release_id']})")
elif command == "alias":
    a = lam.get_alias(FunctionName="orders", Name="live")
    weights = (a.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or "none"
    print(f"   orders:live -> version {a['FunctionVersion']}, weighted routing: {weights}")
elif command == "workflow":
    r = json.load(open(sys.argv[3]))
    print(f"   workflow execution: {r['status']} {r.get('error', '')}, states: {' -> '.join(r['states'])}")
elif command == "inbox":
    queue = sys.argv[3]
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for m in messages:
            body = json.loads(m["Body"])
            if "content" in body:
                print(f"  [release topic]  {body['content']['title']}")
            else:
                print(f"  [incident topic] {body['NewStateValue']}: {body['AlarmName']} - {body['NewStateReason'][:90]}")
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
elif command == "cfn-setup":
    # What `sam deploy` of the team's app stands on: a stack that created `orders` (CloudFormation
    # tags it with the stack's id), two new builds, and the release workflow's state machine
    # (moto keeps its executions and runs nothing: the provider has already recorded the release
    # and applied its first step when it answers).
    cfn, sfn = boto3.client("cloudformation", **kw), boto3.client("stepfunctions", **kw)
    cw.set_alarm_state(AlarmName="orders-errors", StateValue="OK", StateReason="the team fixed it")
    stack_id = cfn.create_stack(StackName="orders-app", TemplateBody=json.dumps(
        {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))["StackId"]
    arn = lam.get_function(FunctionName="orders")["Configuration"]["FunctionArn"]
    lam.tag_resource(Resource=arn, Tags={"aws:cloudformation:stack-id": stack_id})
    machine = sfn.create_state_machine(
        name="shiftback-demo-release", roleArn=ROLE,
        definition=json.dumps({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}}))
    versions = []
    for build in ("fix-1", "fix-2"):
        lam.update_function_configuration(FunctionName="orders", Description=f"build {build}")
        versions.append(lam.publish_version(FunctionName="orders")["Version"])
    live = lam.get_alias(FunctionName="orders", Name="live")["FunctionVersion"]
    print(json.dumps({"stack_id": stack_id, "machine": machine["stateMachineArn"],
                      "versions": versions, "live": live}))
elif command == "cfn-update":
    # The Update CloudFormation sends the release resource, every property a string.
    stack_id, url, version, old = sys.argv[3:7]
    props = lambda v: {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:shiftback-provider",
                       "FunctionName": "orders", "Alias": "live", "Version": v,
                       "Strategy": "Linear10PercentEvery1Minute", "Alarms": ["orders-errors"],
                       "Analysis": "false", "Wait": "false"}
    import uuid
    print(json.dumps({"RequestType": "Update", "RequestId": str(uuid.uuid4()), "ResponseURL": url,
                      "StackId": stack_id, "ResourceType": "Custom::ShiftbackRelease",
                      "LogicalResourceId": "OrdersRelease", "PhysicalResourceId": "orders:live",
                      "ResourceProperties": props(version), "OldResourceProperties": props(old)}))
elif command == "cfn-answers":
    # The answers the provider PUT to the ResponseURL, as CloudFormation reads them.
    for line in open(sys.argv[3]):
        a = json.loads(line)
        data = a.get("Data") or {}
        print(f"   CloudFormation reads: {a['Status']} {data.get('Outcome', '')}"
              f" (release {data.get('ReleaseId', '-')})" + (f": {a['Reason']}" if a.get("Reason") else ""))
