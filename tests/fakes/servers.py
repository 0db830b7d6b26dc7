"""Small fake servers on 127.0.0.1 for the remote services with no local implementation: Atlantic, the
SHARP gateway, an Ethereum node (GpsFactRegistry) and a webhook sink. Starknet is a real devnet (tests/devnet.py).

Each runs in a thread of the test process; tests change their behaviour through plain attributes.
``faults`` is a list consumed one per request: an int is answered as that HTTP status, "malformed"
as broken JSON, "hang" sleeps past the client's timeout.
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import json
import re
import socket
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from proofs import integrity
from tests.fakes import atlantic_schemas

HANG_SECONDS = 2.0


def dead_url() -> str:
    """A local URL nothing listens on: connecting to it is a network failure."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class FakeServer:
    def __init__(self):
        self.lock = threading.Lock()
        self.faults: list = []
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self):
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                with server.lock:
                    server.requests.append(
                        {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": raw}
                    )
                    fault = server.faults.pop(0) if server.faults else None
                if fault == "hang":
                    time.sleep(HANG_SECONDS)
                    return self._answer(200, b"{}")
                if fault == "malformed":
                    return self._answer(200, b'{"atlanticQuery": {"status": "DO')
                if isinstance(fault, int):
                    return self._answer(fault, {"error": "injected"})
                status, body = server.route(self.command, self.path, self.headers, raw)
                self._answer(status, body)

            do_GET = do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address
        return f"http://{host}:{port}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, method, path, headers, raw):  # pragma: no cover - overridden
        return 404, {"error": "no route"}


ATLANTIC_VERIFIER_CONFIG = integrity.VerifierConfig("recursive_with_poseidon", "keccak_160_lsb", "stone6", "relaxed")


SHARP_BOOTLOADER_PROGRAM_HASH = 0x5AB580B04E3532B6B18F81CFA654A05E29DD8E2352D88DF1E765A84072DB07


@functools.lru_cache(maxsize=8)
def _pedersen_hash_chain(data: tuple[int, ...], main: int, builtins: tuple[str, ...]) -> int:
    from starkware.cairo.bootloaders.hash_program import HashFunction, compute_program_hash_chain
    from starkware.cairo.lang.cairo_constants import DEFAULT_PRIME
    from starkware.cairo.lang.compiler.program import StrippedProgram

    program = StrippedProgram(prime=DEFAULT_PRIME, data=list(data), builtins=list(builtins), main=main)
    return compute_program_hash_chain(program, HashFunction.PEDERSEN)


def task_program_hash(program) -> int:
    """cairo-lang's Pedersen program hash chain, remembered per program (it takes seconds in Python)."""
    return _pedersen_hash_chain(tuple(program.data), program.main, tuple(program.builtins))


def pie_program_hash(cairo_pie: bytes) -> int:
    """What Atlantic reports as programHash for a PIE: the task's Pedersen program hash chain."""
    from starkware.cairo.lang.vm.cairo_pie import CairoPie

    return task_program_hash(CairoPie.deserialize(cairo_pie).program)


def pie_integrity_fact(cairo_pie: bytes, bootloader_program_hash: int = SHARP_BOOTLOADER_PROGRAM_HASH) -> int:
    """What Atlantic registers for a PIE, from the PIE alone with cairo-lang: the task under the bootloader."""
    from starkware.cairo.bootloaders.generate_fact import get_program_output
    from starkware.cairo.common.poseidon_hash import poseidon_hash_many
    from starkware.cairo.lang.vm.cairo_pie import CairoPie

    output = get_program_output(CairoPie.deserialize(cairo_pie))
    bootloader_output = [1, len(output) + 2, pie_program_hash(cairo_pie), *output]
    return poseidon_hash_many([bootloader_program_hash, poseidon_hash_many(bootloader_output)])


class FakeAtlantic(FakeServer):
    """Herodotus Atlantic as its public clients see it (madara-alliance/madara
    e67432177060197bb0fb03502f2d07d1194764f5, orchestrator/crates/prover-clients/atlantic-service/src:
    client.rs, types.rs, lib.rs; docs.herodotus.cloud atlantic-api/x402-payments for 402):

    - POST /atlantic-query (multipart, ``dedupId`` optional) -> {"atlanticQueryId"}; a dedupId already
      taken by a query that has not FAILED is refused with ATLANTIC_QUERY_WITH_DEDUP_ID_ALREADY_EXISTS
      (the message public clients match; its HTTP status is not published, 409 here); 402 with an x402
      ``insufficient_credits`` payload when ``credits`` is 0;
    - GET /atlantic-query/{id} -> {"atlanticQuery", "metadataUrls"}; each poll moves one step along ``plan``;
    - GET /atlantic-query-by-dedup-id?dedupId= -> {"atlanticQuery"}, 404 when no query has that key.

    A query follows the ``plan`` set when it was made. When DONE it reports programHash and
    integrityFactHash, computed from the PIE with cairo-lang (``pie_program_hash``, ``pie_integrity_fact``)
    unless a knob makes it lie, and registers the fact on a real chain (``register``: the local fact
    registry on devnet, tests.devnet.OnChain.register_fact) under ``verifier_config`` at ``security_bits``.
    As on Atlantic, DONE means the verification is on chain: until its transaction is accepted (it is sent
    in the background, ``settle`` waits for it) the query answers IN_PROGRESS at PROOF_VERIFICATION.
    ``lose_submit_answers``: that many submissions create their query and then answer 504, as when the
    answer is lost on the way back; ``lagging_lookups``: that many lookups miss it.
    """

    def __init__(self, register):
        super().__init__()
        self.register = register
        self.plan = ["RECEIVED", "IN_PROGRESS", "DONE"]
        self.security_bits = 96  # what the "prover" registers on chain when DONE
        self.verifier_config = ATLANTIC_VERIFIER_CONFIG
        self.bootloader_program_hash = SHARP_BOOTLOADER_PROGRAM_HASH
        self.register_on_chain = True
        self.fact_override: int | None = None
        self.program_hash_override: int | None = None
        self.credits: int | None = None  # None: unlimited
        self.lose_submit_answers = 0
        self.lagging_lookups = 0  # that many lookups answer 404 though a query holds the dedupId
        self.error_reason = "Out of memory while proving"
        self.queries: dict[str, dict] = {}
        self.by_dedup: dict[str, str] = {}
        self.violations: list[str] = []  # answers its clients would not decode (tests/fakes/atlantic_schemas.py)
        self.registrations: list[threading.Thread] = []
        self.registration_errors: list[str] = []
        self._proving = threading.Lock()

    @property
    def submissions(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/atlantic-query"]

    def _form(self, headers, raw) -> dict:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"content-type: " + headers["content-type"].encode() + b"\r\n\r\n" + raw
        )
        return {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()
        }

    def _submit(self, headers, raw):
        form = self._form(headers, raw)
        required = {"declaredJobSize", "pieFile", "layout", "cairoVersion", "cairoVm", "result", "network"}
        if not required <= set(form):
            return 400, {"message": f"missing {sorted(required - set(form))}"}
        if form["declaredJobSize"] not in (b"S", b"M", b"L"):
            return 400, {"message": "declaredJobSize must be one of S, M, L"}
        dedup_id = form.get("dedupId", b"").decode()
        taken = self.queries.get(self.by_dedup.get(dedup_id, ""))
        if dedup_id and taken and self._status(taken) != "FAILED":
            return 409, {"message": "ATLANTIC_QUERY_WITH_DEDUP_ID_ALREADY_EXISTS"}
        if self.credits is not None:
            if self.credits <= 0:
                return 402, {"x402Version": 2, "error": "insufficient_credits", "accepts": []}
            self.credits -= 1
        query_id = str(uuid.uuid4())
        self.queries[query_id] = {
            "id": query_id, "form": form, "plan": list(self.plan), "fact": None, "step": 0, "registered": False,
        }  # fmt: skip
        if dedup_id:
            self.by_dedup[dedup_id] = query_id
        if self.lose_submit_answers > 0:
            self.lose_submit_answers -= 1
            return 504, {"message": "Gateway Timeout"}
        return 201, {"atlanticQueryId": query_id}

    def _status(self, query: dict) -> str:
        return query["plan"][min(query["step"], len(query["plan"]) - 1)]

    def _query_body(self, query: dict) -> dict:
        form, status = query["form"], self._status(query)
        body = {
            "id": query["id"],
            "externalId": None,
            "status": status,
            "step": "PROOF_VERIFICATION" if status == "DONE" else "TRACE_GENERATION",
            "layout": form["layout"].decode(),
            "declaredJobSize": form["declaredJobSize"].decode(),
            "jobSize": form["declaredJobSize"].decode(),
            "cairoVm": form["cairoVm"].decode(),
            "cairoVersion": form["cairoVersion"].decode(),
            "result": form["result"].decode(),
            "network": form["network"].decode(),
            "steps": ["TRACE_GENERATION", "PROOF_GENERATION", "PROOF_VERIFICATION"],
            "programHash": None,
            "integrityFactHash": None,
            "sharpFactHash": None,
            "errorReason": None,
            "submittedByClient": "obsqra-tests",
            "projectId": "project-0",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "completedAt": None,
            "isJobSizeValid": True,
        }
        if status == "DONE" and not self._verified_on_chain(query):
            body["status"], body["step"] = "IN_PROGRESS", "PROOF_VERIFICATION"
        elif status == "DONE":
            body["programHash"] = f"0x{query['program_hash']:064x}"
            body["integrityFactHash"] = f"0x{query['fact']:064x}"
            body["completedAt"] = "2026-01-01T00:09:00.000Z"
        if status == "FAILED":
            body["errorReason"] = self.error_reason
        return body

    def _verified_on_chain(self, query: dict) -> bool:
        """Proven and registered; the first call hashes the PIE and sends the verification transaction."""
        with self._proving:
            if query["fact"] is None:  # hashed when proven, so a submission is answered at once
                pie = query["form"]["pieFile"]
                query["program_hash"] = self.program_hash_override or pie_program_hash(pie)
                query["fact"] = self.fact_override or pie_integrity_fact(pie, self.bootloader_program_hash)
                if self.register_on_chain:
                    thread = threading.Thread(target=self._register, args=(query,), daemon=True)
                    self.registrations.append(thread)
                    thread.start()
                else:
                    query["registered"] = True  # nothing to wait for: the chain never hears of it
        return query["registered"]

    def _register(self, query: dict) -> None:
        try:
            self.register(query["fact"], config=self.verifier_config, security_bits=self.security_bits)
            query["registered"] = True
        except Exception as exc:  # the test sees it at stop: a query that never gets DONE would only time out
            self.registration_errors.append(f"registering {query['fact']:#x}: {type(exc).__name__}: {exc}")

    def settle(self, timeout: float = 60) -> None:
        """Waits until every verification transaction sent so far is on chain."""
        for thread in list(self.registrations):
            thread.join(timeout)

    def stop(self):
        self.settle()
        super().stop()
        assert not self.violations, "the fake Atlantic answered what its clients do not decode:\n" + "\n".join(
            self.violations
        )
        assert not self.registration_errors, "the fake Atlantic could not register:\n" + "\n".join(
            self.registration_errors
        )

    def route(self, method, path, headers, raw):
        """Every successful answer is checked against the schemas Atlantic's clients decode."""
        status, body = self._route(method, path, headers, raw)
        if 200 <= status < 300:
            url = urllib.parse.urlsplit(path).path
            kind = "submit" if method == "POST" else "lookup" if url.endswith("by-dedup-id") else "poll"
            with self.lock:
                self.violations += atlantic_schemas.problems(kind, body)
        return status, body

    def _route(self, method, path, headers, raw):
        url = urllib.parse.urlsplit(path)
        if method == "POST" and url.path == "/atlantic-query":
            return self._submit(headers, raw)
        if method == "GET" and url.path == "/atlantic-query-by-dedup-id":
            dedup_id = urllib.parse.parse_qs(url.query).get("dedupId", [""])[0]
            query = self.queries.get(self.by_dedup.get(dedup_id, ""))
            if query is not None and self.lagging_lookups > 0:
                self.lagging_lookups -= 1
                query = None
            if query is None:
                return 404, {"message": "ATLANTIC_QUERY_NOT_FOUND"}
            return 200, {"atlanticQuery": self._query_body(query)}
        match = re.fullmatch(r"/atlantic-query/([0-9a-f-]+)", url.path)
        if method == "GET" and match and match.group(1) in self.queries:
            query = self.queries[match.group(1)]
            body = self._query_body(query)
            query["step"] += 1
            return 200, {"atlanticQuery": body, "metadataUrls": []}
        return 404, {"message": "not found"}


class FakeSharpGateway(FakeServer):
    def __init__(self):
        super().__init__()
        self.plan = ["NOT_CREATED", "IN_PROGRESS", "PROCESSED", "ONCHAIN"]
        self.jobs: dict[str, int] = {}

    def route(self, method, path, headers, raw):
        body = json.loads(raw)
        if path == "/add_job" and body.get("action") == "add_job" and body["request"].get("cairo_pie"):
            key = str(uuid.uuid4())
            self.jobs[key] = 0
            return 200, {"cairo_job_key": key}
        if path == "/get_status" and body.get("action") == "get_status":
            key = body["request"]["cairo_job_key"]
            if key not in self.jobs:
                return 200, {"status": "UNKNOWN"}
            step = self.jobs[key]
            self.jobs[key] += 1
            return 200, {"status": self.plan[min(step, len(self.plan) - 1)]}
        return 400, {"error": "bad request"}


class FakeEthereumNode(FakeServer):
    """eth_blockNumber and eth_call of GpsFactRegistry.isValid(bytes32)."""

    def __init__(self):
        super().__init__()
        self.block = 21_000_000
        self.valid_facts: set[int] = set()

    def route(self, method, path, headers, raw):
        request = json.loads(raw)
        rpc_id, name, params = request.get("id"), request["method"], request.get("params") or []
        if name == "eth_blockNumber":
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "result": hex(self.block)}
        if name == "eth_call" and params[0]["data"][:10] == "0x6a938567":
            valid = int(params[0]["data"][10:], 16) in self.valid_facts
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "result": f"0x{int(valid):064x}"}
        return 200, {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": -32601, "message": "Method not found"}}


class FakeWebhookSink(FakeServer):
    def route(self, method, path, headers, raw):
        return 204, b""
