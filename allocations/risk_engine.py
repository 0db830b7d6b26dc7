"""Executing a decision on our RiskEngine contract with the executor's account, and following it.

No Django here: allocations.execution passes in what is stored and writes what comes back. A transaction
is signed first, stored, and only then sent (``account.execute_v3`` is exactly sign_invoke_v3 +
send_transaction, split here so the hash is on record before anything leaves): a lost answer or a
killed worker is followed up by hash, and a resend is the same signed transaction, never a second one.
The account's nonce makes at most one transaction per nonce land.

The private key only ever lives in an ``OperatorAccount``, whose repr hides it; nothing here logs.
"""

from __future__ import annotations

import dataclasses
import re

from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.account.account import Account
from starknet_py.net.client_errors import ClientError
from starknet_py.net.client_models import Call, TransactionExecutionStatus, TransactionStatus
from starknet_py.net.full_node_client import FullNodeClient
from starknet_py.net.models.transaction import InvokeV3
from starknet_py.net.schemas.broadcasted_txn import BroadcastedTransactionSchema
from starknet_py.net.signer.key_pair import KeyPair

from .chain import is_network_failure

EXECUTE_DECISION = get_selector_from_name("execute_decision")

# JSON-RPC error codes (starknet-specs v0.10.2, api/starknet_api_openrpc.json and starknet_write_api.json)
# that carry a meaning for us.
TRANSACTION_HASH_NOT_FOUND = 29
TRANSACTION_EXECUTION_ERROR = 41
INVALID_TRANSACTION_NONCE = 52
DUPLICATE_TX = 59


class WouldRevert(Exception):
    """The node's fee estimate ran the call and it failed: nothing was signed for sending."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Refused(Exception):
    """The node refused the transaction (failed validation, no funds, unsupported version): it never landed."""


class AlreadyReceived(Exception):
    """59 DUPLICATE_TX: the node already holds this very transaction in its mempool, so it was sent."""


class NonceRefused(Exception):
    """52 INVALID_TRANSACTION_NONCE: the nonce is not the account's next one, which it also is not once this
    very transaction has landed; only the status of its hash tells which."""


@dataclasses.dataclass(frozen=True)
class OperatorAccount:
    address: int
    private_key: int = dataclasses.field(repr=False)

    @classmethod
    def parse(cls, address: str, private_key: str) -> OperatorAccount:
        """Both as hex felts; the error never repeats the key."""
        try:
            return cls(address=int(address, 16), private_key=int(private_key, 16))
        except ValueError:
            raise ValueError("STARKNET_ACCOUNT_ADDRESS and STARKNET_ACCOUNT_PRIVATE_KEY must be hex felts") from None

    def bind(self, client: FullNodeClient, chain_id: int) -> Account:
        return Account(
            address=self.address,
            client=client,
            key_pair=KeyPair.from_private_key(self.private_key),
            chain=chain_id,
        )


@dataclasses.dataclass(frozen=True)
class DecisionCall:
    """What execute_decision is called with: the decision's id and its Cairo statement's output, from
    which the engine recomputes the fact it requires the fact registry to hold."""

    risk_engine: int
    decision_id: int
    output: list[int]

    def calldata(self) -> list[int]:
        """(decision_id: u64, output: Span<felt252>): a span is its length, then its elements."""
        return [self.decision_id, len(self.output), *self.output]


@dataclasses.dataclass(frozen=True)
class SignedExecution:
    tx_hash: int
    nonce: int
    sender: int
    calldata: list[int]  # the RiskEngine call's own calldata
    transaction: dict  # the signed transaction in wire format, to send and resend as is


def _client_error_code(exc: ClientError) -> int | None:
    code = str(exc.code)
    return int(code) if code.lstrip("-").isdigit() else None


async def sign_execution(client: FullNodeClient, account: OperatorAccount, call: DecisionCall) -> SignedExecution:
    """Nonce, fee estimate (a dry run: a revert shows here) and signature; nothing is sent."""
    chain_id = int(await client.get_chain_id(), 16)
    bound = account.bind(client, chain_id)
    calldata = call.calldata()
    try:
        invoke = await bound.sign_invoke_v3(
            Call(to_addr=call.risk_engine, selector=EXECUTE_DECISION, calldata=calldata), auto_estimate=True
        )
    except ClientError as exc:
        if _client_error_code(exc) == TRANSACTION_EXECUTION_ERROR:
            raise WouldRevert(execution_error(exc)) from None
        raise
    return SignedExecution(
        tx_hash=invoke.calculate_hash(chain_id),
        nonce=invoke.nonce,
        sender=account.address,
        calldata=calldata,
        transaction=BroadcastedTransactionSchema().dump(invoke),
    )


def execution_error(exc: ClientError) -> str:
    """The innermost call's error text: a node nests one {contract_address, selector, error} per call frame."""
    data = exc.data if isinstance(exc.data, dict) else {}
    error = data.get("execution_error", exc.data)
    while isinstance(error, dict) and "error" in error:
        error = error["error"]
    return error if isinstance(error, str) else str(error or exc.message)


def _invoke_from_wire(transaction: dict) -> InvokeV3:
    """The stored signed transaction back as starknet-py's InvokeV3 (paymaster data and DA modes are
    InvokeV3's fixed defaults, as when it was signed)."""
    loaded = BroadcastedTransactionSchema().load(transaction)
    return InvokeV3(
        version=3,
        sender_address=loaded.sender_address,
        calldata=loaded.calldata,
        signature=loaded.signature,
        nonce=loaded.nonce,
        resource_bounds=loaded.resource_bounds,
        tip=loaded.tip,
        account_deployment_data=loaded.account_deployment_data,
    )


async def send_execution(client: FullNodeClient, transaction: dict, tx_hash: int) -> None:
    """Sends the stored signed transaction; a node that answers another hash is a broken node."""
    try:
        sent = await client.send_transaction(_invoke_from_wire(transaction))
    except ClientError as exc:
        code = _client_error_code(exc)
        if code is None or is_network_failure(exc):  # a rate limit or a 5xx: the next node may take it
            raise
        reason = f"{exc.message} (code {exc.code})" + (f": {exc.data}" if exc.data else "")
        if code == DUPLICATE_TX:
            raise AlreadyReceived(reason) from None
        if code == INVALID_TRANSACTION_NONCE:
            raise NonceRefused(reason) from None
        raise Refused(reason) from None
    if sent.transaction_hash != tx_hash:
        raise Refused(f"node answered transaction hash {hex(sent.transaction_hash)}, the signed one is {hex(tx_hash)}")


@dataclasses.dataclass(frozen=True)
class Progress:
    """Where a sent transaction stands: ``state`` is pending, succeeded, reverted or unknown."""

    state: str
    account_nonce: int | None = None  # read when the node does not know the transaction
    block_number: int | None = None
    block_hash: int | None = None
    fee: int | None = None
    revert_reason: str = ""


async def read_progress(client: FullNodeClient, *, tx_hash: int, sender: int) -> Progress:
    """One look through starknet_getTransactionStatus (it never hangs on a rejected transaction),
    then the receipt once the transaction is accepted on L2."""
    try:
        status = await client.get_transaction_status(tx_hash)
    except ClientError as exc:
        if _client_error_code(exc) != TRANSACTION_HASH_NOT_FOUND:
            raise
        return Progress("unknown", account_nonce=await client.get_contract_nonce(sender, block_number="latest"))
    if status.finality_status not in (TransactionStatus.ACCEPTED_ON_L2, TransactionStatus.ACCEPTED_ON_L1):
        return Progress("pending")
    receipt = await client.get_transaction_receipt(tx_hash)
    reverted = receipt.execution_status == TransactionExecutionStatus.REVERTED
    return Progress(
        "reverted" if reverted else "succeeded",
        block_number=receipt.block_number,
        block_hash=receipt.block_hash,
        fee=receipt.actual_fee.amount,
        revert_reason=(receipt.revert_reason or "") if reverted else "",
    )


# The RiskEngine's panics (allocations/contracts/src/risk_engine.cairo), in plain words.
RISK_ENGINE_FAILURES = {
    "FACT_NOT_REGISTERED": "the fact registry holds no verification of this decision's fact",
    "VERIFIER_CONFIG_NOT_ACCEPTED": "the fact is verified only under a verifier configuration the engine does not accept",
    "SECURITY_BITS_TOO_LOW": "the fact is verified with fewer security bits than the engine requires",
    "MODEL_NOT_APPROVED": "the model hash is not approved on the RiskEngine",
    "POLICY_MISMATCH": "the decision was checked against another policy than the one set on the RiskEngine",
    "POLICY_VIOLATED": "the decision breaks its policy",
    "DECISION_ALREADY_EXECUTED": "the RiskEngine has executed this decision already",
    "FACT_ALREADY_EXECUTED": "the RiskEngine has executed a decision with this very statement already",
    "ONLY_EXECUTOR": "the account is not the RiskEngine's executor",
    "ONLY_OWNER": "the account is not the RiskEngine's owner",
    "BAD_OUTPUT_LENGTH": "the statement output does not have the length the RiskEngine reads",
}
# A panic's felt as nodes print it: 0x4641... ('FACT_NOT_REGISTERED').
_PANIC = re.compile(r"0x[0-9a-fA-F]+ \('([^']*)'\)")


def innermost_panic(reason: str) -> str:
    """The short string the innermost call panicked with; '' when the text names none."""
    panics = _PANIC.findall(reason)
    return panics[-1] if panics else ""


def revert_cause(reason: str) -> str:
    """A plain cause for a revert text, from its innermost panic."""
    panic = innermost_panic(reason)
    return RISK_ENGINE_FAILURES.get(panic, panic)
