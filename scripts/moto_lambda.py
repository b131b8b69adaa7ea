"""Lambda behaviour moto does not have, modelled on AWS's documented answers.

Retention (`shiftback prune`) reads calls moto has no route for and relies on one refusal
moto does not make. Each is answered here as AWS answers it, within what moto can hold:

- DeleteFunction of a version an alias routes to is refused with ResourceConflictException
  (409), as Lambda refuses it; moto deletes it.
- ListFunctionUrlConfigs lists the function's URL (moto keeps only an unqualified one).
- ListProvisionedConcurrencyConfigs answers an empty list: moto cannot configure provisioned
  concurrency, so none exists (the reason it gives is covered with aws-smithy-mocks).
- GetAccountSettings reports the region's code storage (the sum of every version's code
  size) against the default 75 GB quota.
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


def install():
    LambdaBackend.delete_function = delete_function
    api = r"{0}/(?P<api_version>[^/]+)"
    urls.url_paths[api + r"/functions/(?P<function_name>[\w_:%-]+)/urls/?$"] = list_function_url_configs
    urls.url_paths[
        api + r"/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
    ] = list_provisioned_concurrency_configs
    urls.url_paths[api + r"/account-settings/?$"] = get_account_settings
