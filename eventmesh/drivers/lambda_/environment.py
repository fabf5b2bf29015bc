"""The environment of a function's process: what Lambda gives a function, and nothing of the daemon's.

A worker or runtime process starts with exactly these variables, before the function's code is
loaded, so module-level code (``os.environ["TABLE"]``, SDK clients built at import) sees them as
it does on Lambda: the function's own variables, then the reserved ones Lambda sets (Region,
``AWS_LAMBDA_*``, ``_HANDLER``, ``LAMBDA_TASK_ROOT``, ``AWS_EXECUTION_ENV``), credentials of the
function and, so that an unchanged handler's SDK talks to the daemon, ``AWS_ENDPOINT_URL`` (a
function variable of the same name wins). A function with layers gets their directories on
``PATH``, ``LD_LIBRARY_PATH`` and (Node.js) ``NODE_PATH``, where Lambda points them at ``/opt``.
The credentials' access key is the function's account id, so the daemon scopes the handler's
calls to the function's account; when the daemon checks access keys (``security.access_keys``)
it mints a key per account for its functions.
``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` point at the null device so that a
handler's SDK never reads the operator's own AWS profile (and never signs with its keys).
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import msgspec

from eventmesh.effects import InvocationJob
from eventmesh.services.sts.sessions import session_token

__all__ = ["Credentials", "CredentialSource", "default_credentials", "function_environment",
           "LAMBDA_TZ", "LAMBDA_LANG", "SYSTEM_PATH"]

LAMBDA_TZ = ":UTC"                 # Lambda runs every function in UTC
LAMBDA_LANG = "en_US.UTF-8"
SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")   # after the runtime's own bin directory
FUNCTION_SECRET_ACCESS_KEY = "eventmesh-function-secret"
FUNCTION_SESSION_TOKEN = "eventmesh-function-session"


class Credentials(msgspec.Struct, frozen=True):
    """The temporary credentials Lambda gives a function (from its execution role)."""

    access_key_id: str
    secret_access_key: str
    session_token: str


CredentialSource = Callable[[InvocationJob], Credentials]   # the function's credentials


def default_credentials(job: InvocationJob, access_key_id: str | None = None) -> Credentials:
    """The function's account id as access key (the daemon then acts in that account, see
    ``wire/router.py``) and a session token naming its role and function (what STS
    GetCallerIdentity answers: ``assumed-role/<role>/<function>``)."""
    token = session_token(job.role, job.function_name) if job.role else FUNCTION_SESSION_TOKEN
    return Credentials(access_key_id or job.account_id, FUNCTION_SECRET_ACCESS_KEY, token)


def function_environment(job: InvocationJob, *, task_root: str, endpoint_url: str = "",
                         credentials: Credentials | None = None, runtime_api: str = "",
                         runtime_bin: str | None = None) -> dict[str, str]:
    """The variables of one execution environment of ``job``'s function version."""
    creds = credentials or default_credentials(job)
    env = {
        "PATH": os.pathsep.join((runtime_bin or os.path.dirname(sys.executable), *SYSTEM_PATH)),
        "LANG": LAMBDA_LANG,
        "TZ": LAMBDA_TZ,
        "AWS_REGION": job.region,
        "AWS_DEFAULT_REGION": job.region,
        "AWS_LAMBDA_FUNCTION_NAME": job.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": job.function_version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(job.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": job.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": job.log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "_HANDLER": job.handler or job.target,
        "LAMBDA_TASK_ROOT": task_root,
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_SESSION_TOKEN": creds.session_token,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    if job.runtime:
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{job.runtime}"
    if job.log_format:   # LoggingConfig JSON: what runtimes read to format and filter their logs
        env["AWS_LAMBDA_LOG_FORMAT"] = job.log_format
        env["AWS_LAMBDA_LOG_LEVEL"] = job.log_level
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    if runtime_api:
        env["AWS_LAMBDA_RUNTIME_API"] = runtime_api
    if job.layer_dirs:
        _add_layers(env, job)
    env.update(job.environment)
    return env


def _add_layers(env: dict[str, str], job: InvocationJob) -> None:
    """Where the runtimes look in Lambda's ``/opt`` for what layers bring: ``bin`` on PATH,
    ``lib`` on LD_LIBRARY_PATH, and for Node.js ``nodejs/node_modules`` (and the runtime's
    ``nodejs/nodeNN/node_modules``) on NODE_PATH; a later layer first (it overwrites in /opt)."""
    layers = list(reversed(job.layer_dirs))
    paths = {"PATH": [env["PATH"], *(os.path.join(d, "bin") for d in layers)],
             "LD_LIBRARY_PATH": [os.path.join(d, "lib") for d in layers]}
    if job.runtime.startswith("nodejs"):
        major = job.runtime.removeprefix("nodejs").split(".")[0]
        paths["NODE_PATH"] = [p for d in layers
                              for p in (os.path.join(d, "nodejs", f"node{major}", "node_modules"),
                                        os.path.join(d, "nodejs", "node_modules"))]
    for name, entries in paths.items():
        env[name] = os.pathsep.join(e for e in entries if e)
