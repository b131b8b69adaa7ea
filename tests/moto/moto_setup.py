"""Prepares a fresh moto server: waits for it, sets its switches, creates the test IAM role."""
import json
import sys
import time
import urllib.request

import boto3

endpoint = sys.argv[1]
for _ in range(200):
    try:
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit(f"moto at {endpoint} did not answer")

config = {"lambda": {"use_docker": False}, "stepfunctions": {"execute_state_machine": True}}
request = urllib.request.Request(
    f"{endpoint}/moto-api/config", data=json.dumps(config).encode(), method="POST"
)
urllib.request.urlopen(request, timeout=5)

iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
trust = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
iam.create_role(RoleName="shiftback-test-role", AssumeRolePolicyDocument=json.dumps(trust))

# A second account, which the wave plans' tests reach through a role (moto's STS issues
# credentials that act in the role's account): the same test role there, for its functions.
credentials = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1").assume_role(
    RoleArn="arn:aws:iam::210987654321:role/shiftback-waves", RoleSessionName="moto-setup"
)["Credentials"]
boto3.client(
    "iam",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id=credentials["AccessKeyId"],
    aws_secret_access_key=credentials["SecretAccessKey"],
    aws_session_token=credentials["SessionToken"],
).create_role(RoleName="shiftback-test-role", AssumeRolePolicyDocument=json.dumps(trust))
