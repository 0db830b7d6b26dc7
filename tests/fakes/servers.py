"""Small fake servers on 127.0.0.1 speaking the real wire formats: Atlantic, SHARP, a Starknet node, a webhook sink.

Each runs in a thread of the test process; tests change their behaviour through plain attributes.
``faults`` is a list consumed one per request: an int is answered as that HTTP status, "malformed"
as broken JSON, "hang" sleeps past the client's timeout.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from proofs import cairo_statement, integrity

HANG_SECONDS = 2.0


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


class FakeStarknetNode(FakeServer):
    """JSON-RPC: specVersion, chainId, blockNumber, and starknet_call of the Integrity FactRegistry."""

    def __init__(self, registry: int = integrity.SEPOLIA_FACT_REGISTRY):
        super().__init__()
        self.registry = registry
        self.block = 812_345
        self.facts: dict[int, list[tuple[int, int, integrity.VerifierConfig]]] = {}

    def register(self, fact_hash: int, security_bits: int = 96, config=None, verification_hash: int | None = None):
        config = config or integrity.VerifierConfig("recursive_with_poseidon", "keccak_160_lsb", "stone6", "strict")
        if verification_hash is None:
            verification_hash = integrity.verification_hash(fact_hash, config, security_bits)
        with self.lock:
            self.facts.setdefault(fact_hash, []).append((verification_hash, security_bits, config))
            self.block += 1

    def route(self, method, path, headers, raw):
        request = json.loads(raw)
        rpc_id, name, params = request.get("id"), request["method"], request.get("params") or {}

        def result(value):
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "result": value}

        if name == "starknet_specVersion":
            return result("0.10.2")
        if name == "starknet_chainId":
            return result("0x534e5f5345504f4c4941")  # SN_SEPOLIA
        if name == "starknet_blockNumber":
            return result(self.block)
        if name == "starknet_call":
            call = params["request"]
            selector = int(call["entry_point_selector"], 16)
            if int(call["contract_address"], 16) != self.registry:
                return 200, {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": 20, "message": "Contract not found"}}
            if selector != integrity.GET_ALL_VERIFICATIONS or len(call["calldata"]) != 1:
                return 200, {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": 40, "message": "Contract error"}}
            found = self.facts.get(int(call["calldata"][0], 16), [])
            felts = [len(found)]
            for vh, bits, config in found:
                felts += [vh, bits, *config.felts()]
            return result([hex(f) for f in felts])
        return 200, {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": -32601, "message": "Method not found"}}


def pie_integrity_fact(cairo_pie: bytes) -> int:
    """What Atlantic registers for a PIE: the bootloaded Integrity fact, computed from the PIE alone."""
    from starkware.cairo.bootloaders.generate_fact import get_program_output
    from starkware.cairo.bootloaders.hash_program import HashFunction, compute_program_hash_chain
    from starkware.cairo.lang.vm.cairo_pie import CairoPie

    pie = CairoPie.deserialize(cairo_pie)
    child = compute_program_hash_chain(pie.program, HashFunction.POSEIDON)
    return cairo_statement.bootloaded_integrity_fact_hash(child, get_program_output(pie))


class FakeAtlantic(FakeServer):
    """POST /atlantic-query (multipart), GET /atlantic-query/{id}; each poll moves one step along ``plan``."""

    def __init__(self, chain: FakeStarknetNode):
        super().__init__()
        self.chain = chain
        self.plan = ["RECEIVED", "IN_PROGRESS", "DONE"]
        self.security_bits = 96  # what the "prover" registers on chain when DONE
        self.register_on_chain = True
        self.fact_override: int | None = None
        self.error_reason = "Out of memory while proving"
        self.queries: dict[str, dict] = {}

    @property
    def submissions(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and r["path"] == "/atlantic-query"]

    def route(self, method, path, headers, raw):
        if method == "POST" and path == "/atlantic-query":
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"content-type: " + headers["content-type"].encode() + b"\r\n\r\n" + raw
            )
            form = {
                part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                for part in message.iter_parts()
            }
            required = {"declaredJobSize", "pieFile", "layout", "cairoVersion", "cairoVm", "result", "network"}
            if not required <= set(form):
                return 400, {"message": f"missing {sorted(required - set(form))}"}
            query_id = str(uuid.uuid4())
            self.queries[query_id] = {"form": form, "fact": None, "step": 0, "registered": False}
            return 201, {"atlanticQueryId": query_id}
        match = re.fullmatch(r"/atlantic-query/([0-9a-f-]+)", path)
        if method == "GET" and match and match.group(1) in self.queries:
            query = self.queries[match.group(1)]
            status = self.plan[min(query["step"], len(self.plan) - 1)]
            query["step"] += 1
            body = {
                "id": match.group(1),
                "status": status,
                "step": "PROOF_VERIFICATION",
                "layout": "recursive_with_poseidon",
            }
            if status == "DONE":
                if query["fact"] is None:  # hashed when proven, so a submission is answered at once
                    query["fact"] = self.fact_override or pie_integrity_fact(query["form"]["pieFile"])
                if self.register_on_chain and not query["registered"]:
                    self.chain.register(query["fact"], self.security_bits)
                    query["registered"] = True
                body["integrityFactHash"] = f"0x{query['fact']:064x}"
            if status == "FAILED":
                body["errorReason"] = self.error_reason
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
