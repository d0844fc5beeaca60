"""Fault injection for boto3's MTurk client: API call k of a command fails one chosen way.

The fault is made at the HTTP layer (botocore's before-send event), under boto3's retries and
crowdaudit's error handling, so both run exactly as they would against MTurk. Calls are counted
once per operation (before-call), not per HTTP attempt: `persistent` faults fail call k on every
attempt boto3 makes (the command fails and is re-run), others only on its first (boto3's own retry
meets them). `after`-faults deliver the request to the endpoint first, so the platform acted and
the client never heard: the case a request token exists for.
"""

from __future__ import annotations

import json
import os
import signal
import urllib.request
from dataclasses import dataclass, field

FAULTS = ("throttling", "service_unavailable", "connection_refused", "connection_lost_after", "killed_after")


class _Raw:
    """The raw body botocore reads from an AWSResponse."""

    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def _error_response(request, status: int, code: str):
    from botocore.awsrequest import AWSResponse

    body = json.dumps({"__type": code, "Message": f"injected {code}"}).encode()
    return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.1"}, _Raw(body))


def _deliver(request) -> None:
    """Send the request to the endpoint as botocore would have, and drop the answer."""
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
    urllib.request.urlopen(urllib.request.Request(request.url, data=body, headers=headers, method="POST"),
                           timeout=30).read()


@dataclass
class CallFaults:
    """Fails call number `call` (0-based, in the order the command makes them) with `fault`."""

    call: int
    fault: str
    persistent: bool = True
    operations: list[str] = field(default_factory=list)  # every call the client made, in order
    hits: int = 0  # HTTP attempts the fault was applied to

    def attach(self, client):
        client.meta.events.register("before-call.mturk", self._count)
        client.meta.events.register("before-send.mturk", self._send)
        return client

    def _count(self, model, **_):
        self.operations.append(model.name)

    def _send(self, request, **_):
        from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

        if len(self.operations) - 1 != self.call or (self.hits and not self.persistent):
            return None
        self.hits += 1
        if self.fault == "throttling":
            return _error_response(request, 400, "ThrottlingException")
        if self.fault == "service_unavailable":
            return _error_response(request, 503, "ServiceUnavailable")
        if self.fault == "connection_refused":
            raise EndpointConnectionError(endpoint_url=request.url)
        _deliver(request)
        if self.fault == "killed_after":
            os.kill(os.getpid(), signal.SIGKILL)
        raise ConnectionClosedError(endpoint_url=request.url)


def patch_clients(monkeypatch, faults: CallFaults) -> None:
    """Every MTurk client crowdaudit makes from now on carries the faults; boto3 does not sleep
    between its retries (the retries themselves still happen)."""
    import types

    import botocore.endpoint

    from etl.crowd import mturk

    real = mturk.mturk_client
    monkeypatch.setattr(mturk, "mturk_client", lambda target: faults.attach(real(target)))
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=lambda _: None))
