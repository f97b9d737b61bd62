"""Record the AWS calls a lab run makes, and replay them against another endpoint.

Recording hooks botocore's events on the session's clients: the API parameters
before each call, the parsed answer (or error code) after it. Replaying issues the
same calls in the same order with no client-side work in between, translating
the ids the first endpoint handed out (vpc-..., ARNs) into the ones the second
hands out, found by comparing the two answers field by field.
"""

from __future__ import annotations

import copy
import time

from botocore.exceptions import ClientError

SERVICES = ("iam", "ec2", "ecs", "logs", "elbv2", "ecr", "sts")


class Recorder:
    """Every call made through ``session``'s clients, in order.

    The session may hand out more than one client per service (the lab's steps
    use clients with a preflight check); every client it makes is hooked.
    """

    def __init__(self, session):
        self.calls: list[dict] = []
        self._hooked: set[int] = set()
        make = session.client

        def client(*args, **kwargs):
            made = make(*args, **kwargs)
            if id(made) not in self._hooked:
                self._hooked.add(id(made))
                made.meta.events.register("before-parameter-build", self._before)
                made.meta.events.register("after-call", self._after)
            return made

        session.client = client

    def _before(self, params, model, context, **kwargs):
        call = {"service": model.service_model.service_name,
                "operation": model.name, "params": copy.deepcopy(params),
                "answer": None, "error": None}
        self.calls.append(call)
        # The request's context travels to after-call: the answer finds its call
        # even when another call was made in between.
        context["bench_call"] = call

    def _after(self, http_response, parsed, model, context, **kwargs):
        call = context.get("bench_call")
        if call is None:
            return
        if http_response.status_code >= 300:
            call["error"] = parsed.get("Error", {}).get("Code", "error")
        else:
            call["answer"] = parsed

    def clear(self) -> None:
        self.calls.clear()


def replay(calls: list[dict], session) -> dict:
    """Issue ``calls`` through ``session``; seconds taken and how answers differed."""
    ids: dict[str, str] = {}
    expected_errors = unexpected_errors = 0
    surprises: list[str] = []
    clients = {name: session.client(name) for name in SERVICES}

    began = time.perf_counter()
    for call in calls:
        client = clients[_client_name(call["service"])]
        method = getattr(client, _snake(client, call["operation"]))
        try:
            answer = method(**_translate(call["params"], ids))
        except ClientError as error:
            if call["error"]:
                expected_errors += 1
            else:
                unexpected_errors += 1
                surprises.append(f"{call['operation']}: "
                                 f"{error.response['Error'].get('Code')}")
            continue
        if call["answer"] is not None:
            _learn_ids(call["answer"], answer, ids)
    seconds = time.perf_counter() - began
    return {"seconds": seconds, "calls": len(calls),
            "errors_as_recorded": expected_errors,
            "errors_not_recorded": unexpected_errors, "surprises": surprises[:10]}


def _client_name(service: str) -> str:
    return {"elasticloadbalancing": "elbv2", "elasticloadbalancingv2": "elbv2",
            "cloudwatch-logs": "logs"}.get(service, service)


def _snake(client, operation: str) -> str:
    for method, api in client.meta.method_to_api_mapping.items():
        if api == operation:
            return method
    raise LookupError(f"no method for {operation}")


def _translate(value, ids: dict[str, str]):
    if isinstance(value, str):
        if value in ids:
            return ids[value]
        for old, new in ids.items():
            if len(old) > 8 and old in value:
                value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _translate(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_translate(v, ids) for v in value]
    return value


def _learn_ids(recorded, fresh, ids: dict[str, str]) -> None:
    if isinstance(recorded, dict) and isinstance(fresh, dict):
        for key, value in recorded.items():
            if key != "ResponseMetadata" and key in fresh:
                _learn_ids(value, fresh[key], ids)
    elif isinstance(recorded, list) and isinstance(fresh, list):
        for old, new in zip(recorded, fresh):
            _learn_ids(old, new, ids)
    elif isinstance(recorded, str) and isinstance(fresh, str) and recorded != fresh:
        if _looks_like_id(recorded):
            ids[recorded] = fresh
            # A task's id (the ARN's last part) also names its log stream.
            old, new = recorded.rsplit("/", 1)[-1], fresh.rsplit("/", 1)[-1]
            if recorded.startswith("arn:") and len(old) >= 16 and old != new:
                ids[old] = new


def _looks_like_id(value: str) -> bool:
    # Ids and ARNs, not free text or timestamps that merely differ.
    return value.startswith("arn:") or (
        "-" in value and " " not in value and len(value) <= 64
        and value.split("-", 1)[0] in {"vpc", "subnet", "igw", "rtb", "rtbassoc",
                                       "sg", "eni", "acl", "sgr"})
