"""Lambda behaviour moto does not have, modelled on AWS's documented answers.

Retention (`shiftback prune`) reads calls moto has no route for and relies on one refusal
moto does not make. Each is answered here as AWS answers it, within what moto can hold:

- DeleteFunction of a version an alias routes to is refused with ResourceConflictException
  (409), as Lambda refuses it; moto deletes it.
- ListFunctionUrlConfigs lists the function's URL (moto keeps only an unqualified one).
- ListProvisionedConcurrencyConfigs answers an empty list: moto cannot configure provisioned
  concurrency, so none exists (the reason it gives is covered with aws-smithy-mocks).
- ListDurableExecutionsByFunction lists none: moto has no durable functions.
- GetAccountSettings reports the region's code storage (the sum of every version's code
  size) against the default 75 GB quota.

And one stand-in for running code, which moto does in Docker (absent here): a function whose
environment has MOTO_ANSWERS (a JSON list) answers its Nth Invoke with the Nth item (the last
one from then on), as its code would. An item {"raise": MESSAGE} is an unhandled error
(X-Amz-Function-Error, Lambda's errorMessage body); {"echo": true} answers
{"ok": false, "reason": THE_PAYLOAD_RECEIVED}, so a test can read what a hook was sent.
"""
import json
import re

from moto.awslambda import urls
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend
from moto.awslambda.utils import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

CODE_STORAGE_LIMIT = 75 * 1024**3


def _backend(headers) -> LambdaBackend:
    auth = headers.get("Authorization", "")
    match = re.search(r"Credential=[^/]+/\d+/([^/]+)/", auth)
    # moto's own choice of backend (the Docker-free one once the switch is off).
    return get_backend(DEFAULT_ACCOUNT_ID, match.group(1) if match else "us-east-1")


def _json(body):
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def list_function_url_configs(request, full_url, headers):
    name = full_url.split("/functions/")[1].split("/")[0]
    function = _backend(headers).get_function(name)
    configs = [function.url_config.to_dict()] if function.url_config else []
    return _json({"FunctionUrlConfigs": configs})


def list_provisioned_concurrency_configs(request, full_url, headers):
    name = full_url.split("/functions/")[1].split("/")[0]
    _backend(headers).get_function(name)  # ResourceNotFound for an unknown function
    return _json({"ProvisionedConcurrencyConfigs": []})


def list_durable_executions(request, full_url, headers):
    name = full_url.split("/functions/")[1].split("/")[0]
    _backend(headers).get_function(name)  # ResourceNotFound for an unknown function
    # moto has no durable functions, so no durable execution runs anywhere (their listing,
    # paging and counts are covered with aws-smithy-mocks).
    return _json({"DurableExecutions": []})


def get_account_settings(request, full_url, headers):
    used = sum(f.code_size for f in _backend(headers).list_functions("ALL"))
    return _json(
        {
            "AccountLimit": {
                "TotalCodeSize": CODE_STORAGE_LIMIT,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "ConcurrentExecutions": 1000,
                "UnreservedConcurrentExecutions": 1000,
            },
            "AccountUsage": {"TotalCodeSize": used, "FunctionCount": 0},
        }
    )


_delete_function = LambdaBackend.delete_function


def delete_function(self, function_name, qualifier=None):
    if qualifier and qualifier.isdigit():
        aliases = self._lambdas._get_function_aliases(function_name).values()
        using = sorted(
            a.name
            for a in aliases
            if a.function_version == qualifier
            or qualifier in ((a.routing_config or {}).get("AdditionalVersionWeights") or {})
        )
        if using:
            raise LambdaClientError(
                "ResourceConflictException",
                "Unable to delete version because the following aliases reference it: "
                + json.dumps(using),
            )
    return _delete_function(self, function_name, qualifier)


_invocations = {}


def _scripted(original):
    def invoke(self, function_name, qualifier, body, headers, response_headers):
        fn = self.get_function(function_name, qualifier)  # ResourceNotFound, as Lambda's
        script = (fn.environment_vars or {}).get("MOTO_ANSWERS")
        if script is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        answers = json.loads(script)
        count = _invocations[fn.function_arn] = _invocations.get(fn.function_arn, 0) + 1
        answer = answers[min(count, len(answers)) - 1]
        if isinstance(answer, dict) and "raise" in answer:
            response_headers["x-amz-function-error"] = "Unhandled"
            answer = {"errorMessage": answer["raise"], "errorType": "Error"}
        elif isinstance(answer, dict) and answer.get("echo"):
            received = body.decode() if isinstance(body, bytes) else str(body)
            answer = {"ok": False, "reason": received}
        payload = json.dumps(answer).encode()
        response_headers["Content-Length"] = str(len(payload))
        return payload

    return invoke


def install():
    from moto.awslambda_simple.models import LambdaSimpleBackend

    LambdaBackend.delete_function = delete_function
    LambdaBackend.invoke = _scripted(LambdaBackend.invoke)
    LambdaSimpleBackend.invoke = _scripted(LambdaSimpleBackend.invoke)
    api = r"{0}/(?P<api_version>[^/]+)"
    urls.url_paths[api + r"/functions/(?P<function_name>[\w_:%-]+)/urls/?$"] = list_function_url_configs
    urls.url_paths[
        api + r"/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
    ] = list_provisioned_concurrency_configs
    urls.url_paths[api + r"/account-settings/?$"] = get_account_settings
    urls.url_paths[
        api + r"/functions/(?P<function_name>[\w_:%-]+)/durable-executions/?$"
    ] = list_durable_executions
