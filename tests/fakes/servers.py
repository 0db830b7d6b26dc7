"""Small fake servers on 127.0.0.1 speaking the real wire formats: Atlantic, SHARP, a Starknet node, a webhook sink.

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

from starknet_py.hash.selector import get_selector_from_name
from starknet_py.hash.utils import verify_message_signature
from starknet_py.net.client_models import DAMode, ResourceBounds, ResourceBoundsMapping
from starknet_py.net.models.transaction import InvokeV3

from proofs import integrity
from tests.fakes import atlantic_schemas, rpc_schemas

HANG_SECONDS = 2.0


def dead_url() -> str:
    """A local URL nothing listens on: connecting to it is a network failure."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def short_string(text: str) -> int:
    """A Cairo short string (at most 31 ASCII characters) as a felt."""
    return int.from_bytes(text.encode("ascii"), "big")


def decode_short_string(felt: int) -> str:
    """A felt read back as a short string; '' when it is not printable ASCII (as the sequencer prints it)."""
    raw = felt.to_bytes((felt.bit_length() + 7) // 8, "big")
    return raw.decode() if raw.isascii() and raw.decode().isprintable() else ""


def revert_string(contract: int, class_hash: int, selector: int, failure: int) -> str:
    """What the sequencer answers for a call that failed with ``failure`` (a felt)."""
    return (
        "Transaction execution has failed:\n"
        f"0: Error in the called contract (contract address: 0x{contract:064x}, class hash: 0x{class_hash:064x}, "
        f"selector: 0x{selector:064x}):\n"
        "Execution failed. Failure reason:\n"
        f"{hex(failure)} ('{decode_short_string(failure)}').\n"
    )


class RpcError(Exception):
    """Answered as a JSON-RPC error object (the node refused, not a network failure)."""

    def __init__(self, code: int, message: str, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


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


SN_SEPOLIA = int.from_bytes(b"SN_SEPOLIA", "big")
# What Atlantic registers a PIE under (HerodotusDev/atlantic-examples 4867acacf16474f6679e0b46de59f85c3fa77f69,
# l2-verification-contract/src/lib.cairo get_config), with the layout our statement is proven in.
ATLANTIC_VERIFIER_CONFIG = integrity.VerifierConfig("recursive_with_poseidon", "keccak_160_lsb", "stone6", "relaxed")
QUERY_VERSION_BASE = 2**128  # what starknet-py adds to the version of a transaction signed for a fee estimate
EXECUTE = get_selector_from_name("__execute__")
PROPOSE_AND_EXECUTE = get_selector_from_name("propose_and_execute_allocation")
ALLOCATION_EXECUTED = get_selector_from_name("AllocationExecuted")
ACCOUNT_CLASS_HASH = 0x0ACC_C1A5_5000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0001
RISK_ENGINE_CLASS_HASH = 0x0E46_C1A5_5000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0002
OTHER_CLASS_HASH = 0x0C1A_5500_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0003

# What every invoke costs here (FRI): gas amounts per resource and a gas price per resource.
GAS_PRICES = {"l1_gas": 30_000_000_000_000, "l2_gas": 8_000_000_000, "l1_data_gas": 1_500}


def _gas_used(n_calls: int) -> dict[str, int]:
    return {"l1_gas": 0, "l2_gas": 900_000 + 400_000 * n_calls, "l1_data_gas": 224}


def _fee(gas: dict[str, int]) -> int:
    return sum(gas[resource] * GAS_PRICES[resource] for resource in GAS_PRICES)


def _felts(values) -> list[int]:
    return [int(v, 16) for v in values]


class FakeStarknetNode(FakeServer):
    """JSON-RPC (spec 0.8-0.10 shapes, what starknet-py 0.30's FullNodeClient and Account parse):

    - reads: specVersion, chainId (SN_SEPOLIA), blockNumber, getBlockWithTxHashes, getEvents, getClassAt,
      getNonce, and starknet_call of the Integrity FactRegistry (``register``) or of ``contracts``;
    - an account's invoke: estimateFee (a dry run), addInvokeTransaction (v3 only: real ECDSA check against
      the account's key, nonce, resource bounds), getTransactionStatus, getTransactionReceipt.

    Blocks exist from 0 to ``block``; a block's hash changes when ``reorg`` replaces it (transactions keep
    their receipts). ``rpc_errors`` maps a method name to a JSON-RPC (code, message) the node answers instead
    (not a network failure).

    Accounts (``add_account``) run Cairo 1 ``__execute__``: each call to ``risk_engine``'s
    propose_and_execute_allocation is checked like the upstream RiskEngine (owner, facts in the registry,
    approved model) and emits AllocationExecuted; calls elsewhere succeed. Knobs:
    ``nonces`` (account -> its nonce in the latest block), ``risk_engine`` / ``risk_engine_owner`` (None: anyone),
    ``approved_models``, ``revert_on_inclusion`` (a short string a sent transaction reverts with, though its
    estimate passed), ``drop_next`` (that many sends are answered, then forgotten), ``hold_polls`` (a sent
    transaction stays RECEIVED for that many status polls before it is mined), ``lagging_polls`` (that many
    status and receipt reads answer 29, as a node that has not seen the transaction yet), ``mine_on_resend``
    (a resend of a transaction still in the mempool finds it mined just before).

    A resend of a transaction still in the mempool is answered 59 (DUPLICATE_TX) and one of a mined
    transaction 52 (invalid nonce), as a real node does (starknet-specs v0.10.2 starknet_write_api.json,
    errors of starknet_addInvokeTransaction); every error carries the spec's code and message. ``sent`` records every
    accepted send (hash, sender, nonce, calls, outcome).
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
        # Accounts and their transactions.
        self.accounts: dict[int, int] = {}  # address -> public key
        self.nonces: dict[int, int] = {}
        self.risk_engine: int | None = None
        self.risk_engine_owner: int | None = None
        self.approved_models: set[int] = set()
        self.revert_on_inclusion: str | None = None
        self.drop_next = 0
        self.hold_polls = 0
        self.lagging_polls = 0
        self.mine_on_resend = False
        self.sent: list[dict] = []  # every accepted send, dropped ones included
        self.known: dict[int, dict] = {}  # tx hash -> its record (one of ``sent``) while the node has it
        self.decisions = 0  # the RiskEngine's decision counter
        self.violations: list[str] = []  # answers the spec does not allow (tests/fakes/rpc_schemas.py)

    def stop(self):
        super().stop()
        assert not self.violations, "the fake node answered what the spec does not allow:\n" + "\n".join(
            self.violations
        )

    def add_account(self, address: int, public_key: int) -> None:
        """A deployed Cairo 1 account whose signatures are checked against ``public_key``."""
        with self.lock:
            self.accounts[address] = public_key
            self.nonces.setdefault(address, 0)

    def block_hash(self, number: int) -> int:
        return (0xB10C << 200) | (self.generations.get(number, 0) << 64) | number

    @staticmethod
    def block_timestamp(number: int) -> int:
        return 1_750_000_000 + number * 30

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
            "timestamp": self.block_timestamp(number),
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
        config = config or ATLANTIC_VERIFIER_CONFIG
        if verification_hash is None:
            verification_hash = integrity.verification_hash(fact_hash, config, security_bits)
        with self.lock:
            self.facts.setdefault(fact_hash, []).append((verification_hash, security_bits, config))
            self.block += 1

    # --- contracts and accounts ------------------------------------------------------------------

    def _class_hash(self, address: int) -> int | None:
        """The class of a deployed contract; None when nothing is deployed at ``address``."""
        if address in self.accounts:
            return ACCOUNT_CLASS_HASH
        if address == self.risk_engine:
            return RISK_ENGINE_CLASS_HASH
        if address == self.registry or address in self.contracts:
            return OTHER_CLASS_HASH
        return None

    def _get_class_at(self, params: dict) -> dict:
        address = int(params["contract_address"], 16)
        with self.lock:
            if self._class_hash(address) is None:
                raise RpcError(20, "Contract not found")
        # A minimal Sierra class: starknet-py tells Cairo 1 from Cairo 0 by "sierra_program".
        external = ["__validate__", "__execute__", "is_valid_signature"] if address in self.accounts else []
        return {
            "sierra_program": ["0x1", "0x7", "0x0", "0x2", "0xb", "0x4"],
            "contract_class_version": "0.1.0",
            "entry_points_by_type": {
                "CONSTRUCTOR": [],
                "EXTERNAL": [
                    {"selector": hex(get_selector_from_name(name)), "function_idx": i}
                    for i, name in enumerate(external)
                ],
                "L1_HANDLER": [],
            },
            "abi": "[]",
        }

    def _get_nonce(self, params: dict) -> str:
        address = int(params["contract_address"], 16)
        with self.lock:
            if self._class_hash(address) is None:
                raise RpcError(20, "Contract not found")
            return hex(self.nonces.get(address, 0))

    @staticmethod
    def _decode_calls(calldata: list[int]) -> list[dict] | None:
        """A Cairo 1 account's __execute__ calldata: [n, (to, selector, len, *calldata) * n]; None if malformed."""
        if not calldata:
            return None
        calls, at = [], 1
        for _ in range(calldata[0]):
            if at + 3 > len(calldata) or at + 3 + calldata[at + 2] > len(calldata):
                return None
            to, selector, length = calldata[at : at + 3]
            calls.append({"to": to, "selector": selector, "calldata": calldata[at + 3 : at + 3 + length]})
            at += 3 + length
        return calls if at == len(calldata) else None

    def _execute(self, sender: int, calls: list[dict] | None, block: int, *, dry: bool) -> tuple[str | None, list]:
        """Runs the calls of an invoke in ``block``: (revert string or None, events as (address, keys, data)).

        Nothing changes here but, for a real (not ``dry``) run that succeeds, the decision counter.
        """
        if calls is None:
            return revert_string(sender, ACCOUNT_CLASS_HASH, EXECUTE, short_string("Input too short for arguments")), []
        events, decision = [], self.decisions
        for call in calls:
            if call["to"] != self.risk_engine or call["selector"] != PROPOSE_AND_EXECUTE:
                continue  # any other call succeeds and emits nothing
            failure = self._allocation_failure(sender, call["calldata"], dry=dry)
            if failure is not None:
                return revert_string(call["to"], RISK_ENGINE_CLASS_HASH, PROPOSE_AND_EXECUTE, failure), []
            args = call["calldata"]
            decision += 1
            data = [decision, decision, args[15], self.block_timestamp(block), block, args[10], args[11], args[16]]
            events.append((call["to"], [ALLOCATION_EXECUTED], data))
        if not dry:
            self.decisions = decision
        return None, events

    def _allocation_failure(self, sender: int, args: list[int], *, dry: bool) -> int | None:
        """propose_and_execute_allocation's checks, in the contract's order: the failure felt or None.

        args: jediswap metrics (5), ekubo metrics (5), jediswap_proof_fact, ekubo_proof_fact, expected
        scores (2), fact_registry_address, model_version, constraint signature (8, signer first).
        """
        if len(args) != 24:
            return short_string("Input too short for arguments" if len(args) < 24 else "Input too long for arguments")
        if self.risk_engine_owner is not None and sender != self.risk_engine_owner:
            return short_string("Unauthorized")
        if args[14] != self.registry or not (self.facts.get(args[10]) and self.facts.get(args[11])):
            return 0
        if args[15] != 0 and args[15] not in self.approved_models:
            return 3
        if not dry and self.revert_on_inclusion:
            return short_string(self.revert_on_inclusion)
        return None

    # --- transactions ---------------------------------------------------------------------------

    @staticmethod
    def _invoke_from_wire(tx: dict) -> InvokeV3:
        """The wire (BROADCASTED_INVOKE_TXN v3) as starknet-py's InvokeV3, to hash it as the account did."""

        def bounds(resource: str) -> ResourceBounds:
            wire = tx["resource_bounds"][resource]
            amount, price = int(wire["max_amount"], 16), int(wire["max_price_per_unit"], 16)
            return ResourceBounds(max_amount=amount, max_price_per_unit=price)

        invoke = InvokeV3(
            version=int(tx["version"], 16),
            signature=_felts(tx.get("signature", [])),
            nonce=int(tx["nonce"], 16),
            resource_bounds=ResourceBoundsMapping(
                l1_gas=bounds("l1_gas"), l2_gas=bounds("l2_gas"), l1_data_gas=bounds("l1_data_gas")
            ),
            tip=int(tx["tip"], 16),
            calldata=_felts(tx["calldata"]),
            sender_address=int(tx["sender_address"], 16),
            account_deployment_data=_felts(tx.get("account_deployment_data", [])),
            proof_facts=_felts(tx["proof_facts"]) if tx.get("proof_facts") else None,
        )
        # Not constructor arguments of InvokeV3 (init=False), yet part of the hash.
        object.__setattr__(invoke, "paymaster_data", _felts(tx.get("paymaster_data", [])))
        object.__setattr__(invoke, "nonce_data_availability_mode", DAMode[tx.get("nonce_data_availability_mode", "L1")])
        object.__setattr__(invoke, "fee_data_availability_mode", DAMode[tx.get("fee_data_availability_mode", "L1")])
        return invoke

    def _estimate_fee(self, params: dict) -> list[dict]:
        """A dry run of each transaction at the head; signatures are not checked (as with SKIP_VALIDATE)."""
        estimates = []
        with self.lock:
            for index, tx in enumerate(params["request"]):
                if tx.get("type") != "INVOKE" or int(tx["version"], 16) not in (3, QUERY_VERSION_BASE + 3):
                    raise RpcError(61, "the transaction version is not supported")
                sender = int(tx["sender_address"], 16)
                calls = self._decode_calls(_felts(tx["calldata"]))
                if sender not in self.accounts:
                    reason = f"Requested contract address 0x{sender:064x} is not deployed."
                else:
                    reason, _ = self._execute(sender, calls, self.block + 1, dry=True)
                if reason is not None:
                    raise RpcError(
                        41, "Transaction execution error", {"transaction_index": index, "execution_error": reason}
                    )
                gas = _gas_used(len(calls))
                estimates.append(
                    {
                        **{f"{resource}_consumed": hex(gas[resource]) for resource in GAS_PRICES},
                        **{f"{resource}_price": hex(price) for resource, price in GAS_PRICES.items()},
                        "overall_fee": hex(_fee(gas)),
                        "unit": "FRI",
                    }
                )
        return estimates

    def _add_invoke(self, params: dict) -> dict:
        tx = params["invoke_transaction"]
        if tx.get("type", "INVOKE") != "INVOKE" or int(tx["version"], 16) != 3:
            raise RpcError(61, "the transaction version is not supported")
        invoke = self._invoke_from_wire(tx)
        tx_hash = invoke.calculate_hash(SN_SEPOLIA)
        sender, calls = invoke.sender_address, self._decode_calls(invoke.calldata)
        with self.lock:
            if sender not in self.accounts:
                not_deployed = f"Requested contract address {hex(sender)} is not deployed."
                raise RpcError(55, "Account validation failed", not_deployed)
            known = self.known.get(tx_hash)
            if known is not None and known["block"] is None and self.mine_on_resend:
                self._mine(known)
            if known is not None and known["block"] is None:
                raise RpcError(59, "A transaction with the same hash already exists in the mempool")
            pending = sum(1 for r in self.known.values() if r["sender"] == sender and r["block"] is None)
            nonce = self.nonces[sender] + pending
            if invoke.nonce != nonce:
                got = f"Account nonce: {hex(nonce)}; got: {hex(invoke.nonce)}."
                raise RpcError(52, "Invalid transaction nonce", got)
            gas = _gas_used(len(calls or []))
            bounds = invoke.resource_bounds
            for resource, bound in zip(GAS_PRICES, (bounds.l1_gas, bounds.l2_gas, bounds.l1_data_gas)):
                if bound.max_amount < gas[resource] or bound.max_price_per_unit < GAS_PRICES[resource]:
                    raise RpcError(
                        53, "The transaction's resources don't cover validation or the minimal transaction fee"
                    )
            if not self._signed(tx_hash, invoke.signature, self.accounts[sender]):
                raise RpcError(55, "Account validation failed", "Invalid signature")
            record = {
                "hash": tx_hash,
                "sender": sender,
                "nonce": invoke.nonce,
                "calls": calls or [],  # decoded: [{"to", "selector", "calldata"}]
                "calldata": invoke.calldata,  # __execute__'s, as sent
                "outcome": "received",  # then "succeeded" / "reverted" once mined, or "dropped"
                "held": self.hold_polls,  # status polls left before it is mined
                "block": None,
                "revert_reason": None,
                "events": [],
                "gas": gas,
                "fee": _fee(gas),
            }
            self.sent.append(record)
            if self.drop_next > 0:  # answered, then lost from the mempool
                self.drop_next -= 1
                record["outcome"] = "dropped"
            else:
                self.known[tx_hash] = record
                if not record["held"]:
                    self._mine(record)
        return {"transaction_hash": hex(tx_hash)}

    @staticmethod
    def _signed(tx_hash: int, signature: list[int], public_key: int) -> bool:
        if len(signature) != 2:
            return False
        try:
            return verify_message_signature(tx_hash, signature, public_key)
        except Exception:  # a malformed signature (s = 0, out of range) is an invalid one
            return False

    def _mine(self, record: dict) -> None:
        """Executes a received transaction in a new block (lock held)."""
        self.block += 1
        self.nonces[record["sender"]] += 1
        block = record["block"] = self.block
        reason, events = self._execute(record["sender"], self._decode_calls(record["calldata"]), block, dry=False)
        record["outcome"], record["revert_reason"] = ("reverted", reason) if reason else ("succeeded", None)
        record["events"] = [
            {"from_address": hex(address), "keys": [hex(k) for k in keys], "data": [hex(d) for d in data]}
            for address, keys, data in events
        ]
        for index, event in enumerate(record["events"]):
            self.events.append(
                event
                | {"block_number": block, "transaction_hash": hex(record["hash"]), "transaction_index": 0,
                   "event_index": index}
            )  # fmt: skip

    def _transaction_status(self, params: dict) -> dict:
        with self.lock:
            record = self.known.get(int(params["transaction_hash"], 16))
            if record is not None and self.lagging_polls > 0:
                self.lagging_polls -= 1
                record = None
            if record is None:
                raise RpcError(29, "Transaction hash not found")
            if record["block"] is None:
                record["held"] -= 1
                if record["held"] <= 0:
                    self._mine(record)  # mined after this answer: the next poll finds it in a block
                return {"finality_status": "RECEIVED"}
            status = {"finality_status": "ACCEPTED_ON_L2", "execution_status": record["outcome"].upper()}
            if record["revert_reason"]:
                status["failure_reason"] = record["revert_reason"]
            return status

    def _transaction_receipt(self, params: dict) -> dict:
        with self.lock:
            record = self.known.get(int(params["transaction_hash"], 16))
            if record is None or record["block"] is None:
                raise RpcError(29, "Transaction hash not found")
            receipt = {
                "type": "INVOKE",
                "transaction_hash": hex(record["hash"]),
                "actual_fee": {"amount": hex(record["fee"]), "unit": "FRI"},
                "execution_status": record["outcome"].upper(),
                "finality_status": "ACCEPTED_ON_L2",
                "block_hash": hex(self.block_hash(record["block"])),
                "block_number": record["block"],
                "messages_sent": [],
                "events": record["events"],
                "execution_resources": dict(record["gas"]),
            }
            if record["revert_reason"]:
                receipt["revert_reason"] = record["revert_reason"]
            return receipt

    def route(self, method, path, headers, raw):
        """Every answer is checked against the spec's schemas; ``violations`` keeps what is not allowed."""
        status, body = self._rpc(raw)
        found = rpc_schemas.problems(json.loads(raw)["method"], body)
        with self.lock:
            self.violations += found
        return status, body

    def _rpc(self, raw):
        request = json.loads(raw)
        rpc_id, name, params = request.get("id"), request["method"], request.get("params") or {}

        def result(value):
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "result": value}

        if name in self.rpc_errors:
            code, message = self.rpc_errors[name]
            return 200, {"jsonrpc": "2.0", "id": rpc_id, "error": {"code": code, "message": message}}
        handlers = {
            "starknet_getClassAt": self._get_class_at,
            "starknet_getNonce": self._get_nonce,
            "starknet_estimateFee": self._estimate_fee,
            "starknet_addInvokeTransaction": self._add_invoke,
            "starknet_getTransactionStatus": self._transaction_status,
            "starknet_getTransactionReceipt": self._transaction_receipt,
        }
        if name in handlers:
            try:
                return result(handlers[name](params))
            except RpcError as error:
                return 200, {"jsonrpc": "2.0", "id": rpc_id, "error": error.body()}
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


# Integrity's SHARP_BOOTLOADER_PROGRAM_HASH (HerodotusDev/integrity src/lib_utils.cairo at
# 4ce9504fdc933171251cf7473b75ab67db5e03b6): the fake's own copy, so it never agrees with proofs.facts by import.
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
