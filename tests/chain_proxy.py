"""A small HTTP proxy in front of starknet-devnet, for the network trouble a real node cannot be asked for.

Every request body goes to devnet unchanged and devnet's answer comes back unchanged, unless a planned
fault matches it; then the proxy answers what a node, a load balancer or the network in between does:

- ``status(503)``, ``status(429, retry_after=2)``: an HTTP error (5xx, or a rate limit with Retry-After),
  with a plain-text body, as hosted RPC providers answer;
- ``HANG``: no answer until the client gives up (the connection is held ``hang_seconds``, then closed);
- ``DROP``: the connection is closed once the request is read, with no answer at all;
- ``rpc_error("CONTRACT_NOT_FOUND")``: a JSON-RPC error object for the request's id. Only errors the spec
  lets that method answer are accepted (starkware-libs/starknet-specs v0.10.2, each method's ``errors``
  in api/starknet_api_openrpc.json, transcribed in tests/fakes/rpc_schemas.py), or JSON-RPC 2.0's own.

Faults are planned with ``proxy.fail(fault, method=..., times=...)``: each request takes the first planned
fault whose method (None: any) is its JSON-RPC method, ``times`` times (None: every such request). A fault
planned and never met fails the test at teardown, so a failover test cannot pass without its fault.
A pytest plugin (tests/conftest.py loads it): ``chain_proxy`` is one proxy in front of the test's devnet,
``chain_proxies()`` makes more.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.fakes import rpc_schemas


@dataclasses.dataclass(frozen=True)
class Fault:
    kind: str  # "status", "hang", "drop" or "rpc_error"
    status: int = 0
    retry_after: int | None = None
    error: tuple[int, str] | None = None


HANG = Fault("hang")
DROP = Fault("drop")


def status(code: int, *, retry_after: int | None = None) -> Fault:
    if not (code == 429 or 500 <= code <= 599 or code == 404):
        raise ValueError(f"HTTP {code}: the proxy plays a failing node (5xx, 429, 404), not a refusal")
    return Fault("status", status=code, retry_after=retry_after)


def rpc_error(name: str) -> Fault:
    """A spec error by its name in starknet-specs (CONTRACT_NOT_FOUND, BLOCK_NOT_FOUND...)."""
    return Fault("rpc_error", error=rpc_schemas.ERRORS[name])


INTERNAL_ERROR = Fault("rpc_error", error=(-32603, "Internal error"))  # JSON-RPC 2.0, any method


@dataclasses.dataclass
class _Plan:
    fault: Fault
    method: str | None
    times: int | None  # None: every matching request
    hits: int = 0

    def matches(self, method: str | None) -> bool:
        return self.method is None or self.method == method


class ChainProxy:
    def __init__(self, upstream: str, *, hang_seconds: float = 10.0):
        self.upstream = upstream
        self.hang_seconds = hang_seconds
        self.plans: list[_Plan] = []
        self.requests: list[str | None] = []  # the JSON-RPC method of every request, in order
        self.faulted: list[tuple[str | None, Fault]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._upstream = httpx.Client(timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    request = json.loads(raw)
                except ValueError:
                    request = None
                single = isinstance(request, dict)
                method = request.get("method") if single else None
                fault = proxy._take(method)
                if fault is None:
                    answer = proxy._upstream.post(
                        proxy.upstream, content=raw, headers={"content-type": "application/json"}
                    )
                    return self._send(answer.status_code, answer.content, answer.headers.get("content-type"))
                if fault.kind == "drop":
                    self.close_connection = True
                    return None
                if fault.kind == "hang":
                    proxy._stopping.wait(proxy.hang_seconds)
                    self.close_connection = True
                    return None
                if fault.kind == "status":
                    extra = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
                    return self._send(fault.status, f"HTTP {fault.status}".encode(), "text/plain", extra)
                code, message = fault.error
                body = {"jsonrpc": "2.0", "id": request.get("id") if single else None,
                        "error": {"code": code, "message": message}}  # fmt: skip
                return self._send(200, json.dumps(body).encode(), "application/json")

            def _send(self, code: int, body: bytes, content_type: str | None, headers: dict | None = None):
                self.send_response(code)
                self.send_header("content-type", content_type or "application/json")
                self.send_header("content-length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address
        return f"http://{host}:{port}"

    def fail(self, fault: Fault, *, method: str | None = None, times: int | None = 1) -> ChainProxy:
        """Plans ``fault`` for the next ``times`` requests of ``method`` (None: any method; times None: all)."""
        if fault.kind == "rpc_error":
            if method is None:
                raise ValueError("a JSON-RPC error answers one method: name it")
            body = {"jsonrpc": "2.0", "id": 0, "error": {"code": fault.error[0], "message": fault.error[1]}}
            if problems := rpc_schemas.problems(method, body):
                raise ValueError(f"not an answer starknet-specs v0.10.2 allows: {problems}")
        with self._lock:
            self.plans.append(_Plan(fault, method, times))
        return self

    def _take(self, method: str | None) -> Fault | None:
        with self._lock:
            self.requests.append(method)
            for plan in self.plans:
                if plan.matches(method) and (plan.times is None or plan.hits < plan.times):
                    plan.hits += 1
                    self.faulted.append((method, plan.fault))
                    return plan.fault
        return None

    def unmet(self) -> list[str]:
        """Planned faults that did not happen as often as planned."""
        with self._lock:
            return [
                f"{p.fault} for {p.method or 'any method'}: met {p.hits} of {p.times or 'at least 1'}"
                for p in self.plans
                if p.hits < (p.times or 1)
            ]

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._upstream.close()


@pytest.fixture
def chain_proxies(devnet):
    """``chain_proxies()``: a new proxy in front of the test's devnet; all are checked and stopped at teardown."""
    made: list[ChainProxy] = []

    def make(**options) -> ChainProxy:
        proxy = ChainProxy(devnet.url, **options)
        made.append(proxy)
        return proxy

    yield make
    unmet = [problem for proxy in made for problem in proxy.unmet()]
    for proxy in made:
        proxy.stop()
    assert not unmet, "planned faults the test never met:\n" + "\n".join(unmet)


@pytest.fixture
def chain_proxy(chain_proxies) -> ChainProxy:
    """One proxy in front of the test's devnet: ``chain_proxy.url`` in place of ``devnet.url``."""
    return chain_proxies()
