"""Guards: the AWS validation rules moto skips, enforced in front of moto.

``GuardMiddleware(app)`` reads each request's service, operation and parameters,
runs ``ecslab.rules`` on them (the stateful rules read moto's models through
``moto_adapter``), and answers a broken rule itself, with AWS's error code, HTTP
status and message in the service's own wire protocol, so boto3 and the AWS CLI
both see what AWS would say. Every other request reaches ``app`` with its body
intact, but for the values AWS itself rewrites on the way in (task cpu and memory
given as ``"0.25 vCPU"`` / ``"1 GB"`` are stored as units, ``"256"`` / ``"1024"``),
which ``normalise`` converts so moto stores and answers what AWS does.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from .. import rules
from . import moto_adapter

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "123456789012"  # moto.core.DEFAULT_ACCOUNT_ID

# The AWS page on task sizes, split so that each line fits in 88 columns.
DOC_TASK_SIZE = ("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/"
                 "task_definition_parameters.html#task_size")

# JSON protocols name the operation in X-Amz-Target: "<prefix>.<Operation>".
TARGET_PREFIXES = {
    "AmazonEC2ContainerServiceV20141113": "ecs",
    "Logs_20140328": "logs",
    "AmazonEC2ContainerRegistry_V20150921": "ecr",
}
# Query protocols are told apart by the signing name in the credential scope.
SCOPE_SERVICES = {"ec2": "ec2", "elasticloadbalancing": "elbv2", "iam": "iam"}
QUERY_NAMESPACES = {
    "elbv2": "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/([^/,]+)/([^/,]+)/aws4_request")


@dataclass(frozen=True)
class GuardedRequest:
    """What the rules need from one request."""

    service: str
    operation: str
    params: dict
    account: str
    region: str


class EmulatorLookup:
    """``ecslab.rules.Lookup`` over moto's models, for one account and region."""

    def __init__(self, account: str, region: str):
        self.account = account
        self.region = region

    def task_definition(self, ref):
        return moto_adapter.guard_task_definition(self.account, self.region, ref)

    def target_group(self, arn):
        return moto_adapter.guard_target_group(self.account, self.region, arn)

    def subnet_zones(self, subnet_ids):
        return moto_adapter.guard_subnet_zones(self.account, self.region, subnet_ids)

    def cluster_services(self, cluster):
        return moto_adapter.guard_cluster_services(self.account, self.region, cluster)

    def cluster_tasks(self, cluster):
        return moto_adapter.guard_cluster_tasks(self.account, self.region, cluster)

    def service_status(self, cluster, service):
        return moto_adapter.guard_service_status(self.account, self.region, cluster,
                                                 service)

    def security_group_id(self, name):
        return moto_adapter.guard_security_group_id(self.account, self.region, name)

    def security_group_referrers(self, group_id):
        return moto_adapter.guard_security_group_referrers(
            self.account, self.region, group_id)

    def security_group_interfaces(self, group_id):
        return moto_adapter.guard_security_group_interfaces(
            self.account, self.region, group_id)

    def subnet_interfaces(self, subnet_id):
        return moto_adapter.guard_subnet_interfaces(
            self.account, self.region, subnet_id)

    def role_named(self, name):
        return moto_adapter.guard_role_named(self.account, name)


def decode_query(pairs: list[tuple[str, str]]) -> dict:
    """Query-protocol form pairs as the API's nested parameters.

    ``Subnets.member.1=a`` -> ``{"Subnets": ["a"]}``; EC2's ``GroupId.1`` lists
    and ``SubnetMappings.member.1.SubnetId`` structures decode the same way.
    ``Action`` and ``Version`` are not parameters and are left out.
    """
    tree: dict = {}
    for key, value in pairs:
        if key in ("Action", "Version"):
            continue
        parts = [part for part in key.split(".") if part != "member"]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break  # a scalar and a structure under one name: keep the scalar
        else:
            node[parts[-1]] = value
    return _lists(tree)


def _lists(node):
    # A structure whose keys are all numbers is a list, in index order.
    if not isinstance(node, dict):
        return node
    if node and all(key.isdigit() for key in node):
        return [_lists(node[key]) for key in sorted(node, key=int)]
    return {key: _lists(value) for key, value in node.items()}


def _read_body(environ) -> bytes:
    # Read the body once and hand moto a fresh stream of the same bytes.
    length = environ.get("CONTENT_LENGTH") or ""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length.isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        return b""

    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def identify(environ) -> GuardedRequest | None:
    """The guarded service, operation and parameters of a request, or None.

    Reads the body only for operations with rules or a normaliser, and always
    leaves an unread copy of it in ``wsgi.input``.
    """
    scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    region = scope.group(1) if scope else "us-east-1"
    account = environ.get("HTTP_X_MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID
    target = environ.get("HTTP_X_AMZ_TARGET", "")

    if target:
        prefix, _, operation = target.partition(".")
        service = TARGET_PREFIXES.get(prefix)
        if service is None or not (rules.rules_for(service, operation)
                                   or (service, operation) in NORMALISERS):
            return None
        body = _read_body(environ)
        params = json.loads(body or b"{}")
        if not isinstance(params, dict):
            return None
        return GuardedRequest(service, operation, params, account, region)

    service = SCOPE_SERVICES.get(scope.group(2)) if scope else None
    if service is None:
        return None
    body = _read_body(environ)
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    pairs += parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    operation = dict(pairs).get("Action", "")
    if not rules.rules_for(service, operation):
        return None
    return GuardedRequest(service, operation, decode_query(pairs), account, region)


def _task_size_in_units(params: dict) -> dict:
    # "String values are converted to an integer indicating the CPU units [the
    # MiB] when the task definition is registered": DescribeTaskDefinition then
    # answers "256", never "0.25 vCPU" (DOC_TASK_SIZE).
    changed = {}
    for key, parse in (("cpu", rules.parse_cpu), ("memory", rules.parse_memory)):
        value = params.get(key)
        units = parse(value) if value is not None else None
        if units is not None and value != str(units):
            changed[key] = str(units)
    return changed


# (service, operation) -> the parameters AWS rewrites when it accepts a request.
NORMALISERS = {("ecs", "RegisterTaskDefinition"): _task_size_in_units}


def normalise(request: GuardedRequest, environ) -> None:
    """Rewrite an accepted JSON request's body with the values AWS would store.

    Only JSON protocols have normalisers; the body left in ``wsgi.input`` is the
    rewritten one, so moto records and later answers the converted values.
    """
    convert = NORMALISERS.get((request.service, request.operation))
    if convert is None:
        return
    changed = convert(request.params)
    if not changed:
        return
    body = json.dumps({**request.params, **changed}).encode()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    log.debug("normalised %s.%s: %s", request.service, request.operation, changed)


def error_response(service: str, code: str, status: int,
                   message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """``(status line, headers, body)`` of an AWS error in the service's protocol.

    ECS, Logs and ECR speak JSON 1.1 (``__type`` and ``message``, with the code
    in ``x-amzn-ErrorType``); EC2 its own XML; ELBv2 and IAM the query XML.
    """
    request_id = str(uuid.uuid4())
    if service in TARGET_PREFIXES.values():
        content_type = "application/x-amz-json-1.1"
        body = json.dumps({"__type": code, "message": message}).encode()
        extra = [("x-amzn-ErrorType", code)]
    elif service == "ec2":
        content_type = "text/xml;charset=UTF-8"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
        extra = []
    else:
        content_type = "text/xml"
        body = (
            f'<ErrorResponse xmlns="{QUERY_NAMESPACES.get(service, "")}">'
            f"<Error><Type>Sender</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        extra = []

    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
               ("x-amzn-RequestId", request_id), *extra]
    return f"{status} {HTTPStatus(status).phrase}", headers, body


class GuardMiddleware:
    """WSGI layer answering requests AWS would refuse; the rest go to ``app``."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        violation, request = None, None
        try:
            request = identify(environ)
            if request is not None:
                lookup = EmulatorLookup(request.account, request.region)
                found = rules.violations(request.service, request.operation,
                                         request.params, lookup)
                violation = found[0] if found else None
        except Exception:
            # A fault in a guard must not take the emulator down: moto answers.
            log.exception("guard check failed; passing the request to moto")
            violation = None

        if violation is None:
            if request is not None:
                try:
                    normalise(request, environ)
                except Exception:
                    log.exception("normalising %s.%s failed; moto gets it as sent",
                                  request.service, request.operation)
            return self.app(environ, start_response)

        log.info("guard %s refused %s.%s: %s", violation.rule.id, request.service,
                 request.operation, violation.message)
        status, headers, body = error_response(
            request.service, violation.code, violation.status, violation.message)
        start_response(status, headers)
        return [body]
