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
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from proofs import cairo_statement, integrity

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


class FakeStarknetNode(FakeServer):
    """JSON-RPC (spec 0.10 shapes, what starknet-py 0.30 parses): specVersion, chainId, blockNumber,
    getBlockWithTxHashes, getEvents, and starknet_call of the Integrity FactRegistry.

    Blocks exist from 0 to ``block``; a block's hash changes when ``reorg`` replaces it. ``rpc_errors``
    maps a method name to a JSON-RPC (code, message) the node answers instead (not a network failure).
    """

    def __init__(self, registry: int = integrity.SEPOLIA_FACT_REGISTRY):
        super().__init__()
        self.registry = registry
        self.block = 812_345
        self.facts: dict[int, list[tuple[int, int, integrity.VerifierConfig]]] = {}
        self.events: list[dict] = []  # wire-format emitted events
        self.generations: dict[int, int] = {}  # block number -> how often a reorg replaced it
        self.rpc_errors: dict[str, tuple[int, str]] = {}
        self.transactions = 0
        # Other contracts' view functions: address -> fn(selector, calldata, block number) -> felts.
        self.contracts: dict = {}

    def block_hash(self, number: int) -> int:
        return (0xB10C << 200) | (self.generations.get(number, 0) << 64) | number

    def emit(self, address: int, keys: list[int], data: list[int] = (), *, block: int | None = None) -> int:
        """An event in a new transaction, in ``block`` or in a newly mined block; returns the tx hash."""
        with self.lock:
            if block is None:
                self.block += 1
                block = self.block
            self.transactions += 1
            tx_hash = (0x7A << 240) | (block << 32) | self.transactions
            self.events.append(
                {
                    "from_address": hex(address),
                    "keys": [hex(k) for k in keys],
                    "data": [hex(d) for d in data],
                    "block_number": block,
                    "transaction_hash": hex(tx_hash),
                    "transaction_index": 0,
                    "event_index": 0,
                }
            )
        return tx_hash

    def reorg(self, depth: int) -> None:
        """The last ``depth`` blocks are replaced by empty ones with new hashes."""
        with self.lock:
            orphaned = range(self.block - depth + 1, self.block + 1)
            for number in orphaned:
                self.generations[number] = self.generations.get(number, 0) + 1
            self.events = [e for e in self.events if e["block_number"] not in orphaned]

    def _block_header(self, number: int) -> dict:
        price = {"price_in_fri": "0x1", "price_in_wei": "0x1"}
        return {
            "block_hash": hex(self.block_hash(number)),
            "parent_hash": hex(self.block_hash(number - 1)) if number else "0x0",
            "block_number": number,
            "new_root": "0x1",
            "timestamp": 1_750_000_000 + number * 30,
            "sequencer_address": "0x1",
            "l1_gas_price": price,
            "l2_gas_price": price,
            "l1_data_gas_price": price,
            "l1_da_mode": "BLOB",
            "starknet_version": "0.14.0",
            "event_commitment": "0x0",
            "transaction_commitment": "0x0",
            "receipt_commitment": "0x0",
            "state_diff_commitment": "0x0",
            "event_count": 0,
            "transaction_count": 0,
            "state_diff_length": 0,
            "status": "ACCEPTED_ON_L2",
            "transactions": [],
        }

    def _block_number(self, block_id) -> int:
        if isinstance(block_id, dict) and "block_number" in block_id:
            return block_id["block_number"]
        if isinstance(block_id, dict) and "block_hash" in block_id:
            return int(block_id["block_hash"], 16) & (2**64 - 1)
        return self.block  # "latest" and the other tags

    def _events_page(self, event_filter: dict) -> dict:
        first = self._block_number(event_filter.get("from_block") or {"block_number": 0})
        last = self._block_number(event_filter.get("to_block") or "latest")
        addresses = event_filter.get("address")
        if addresses is not None:
            addresses = {int(a, 16) for a in (addresses if isinstance(addresses, list) else [addresses])}
        matching = [
            e | {"block_hash": hex(self.block_hash(e["block_number"]))}
            for e in sorted(self.events, key=lambda e: e["block_number"])
            if first <= e["block_number"] <= last and (addresses is None or int(e["from_address"], 16) in addresses)
        ]
        offset = int(event_filter.get("continuation_token") or 0)
        size = event_filter["chunk_size"]
        page = {"events": matching[offset : offset + size]}
        if offset + size < len(matching):
            page["continuation_token"] = str(offset + size)
        return page

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

        if name in self.rpc_errors:
            code, message = self.rpc_errors[name]
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}
        if name == "starknet_specVersion":
            return result("0.10.2")
        if name == "starknet_getBlockWithTxHashes":
            number = self._block_number(params["block_id"])
            if number > self.block:
                return 200, {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": 24, "message": "Block not found"}}
            return result(self._block_header(number))
        if name == "starknet_getEvents":
            with self.lock:
                return result(self._events_page(params["filter"]))
        if name == "starknet_chainId":
            return result("0x534e5f5345504f4c4941")  # SN_SEPOLIA
        if name == "starknet_blockNumber":
            return result(self.block)
        if name == "starknet_call":
            call = params["request"]
            selector = int(call["entry_point_selector"], 16)
            if int(call["contract_address"], 16) in self.contracts:
                view = self.contracts[int(call["contract_address"], 16)]
                calldata = [int(felt, 16) for felt in call["calldata"]]
                return result([hex(f) for f in view(selector, calldata, self._block_number(params["block_id"]))])
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
