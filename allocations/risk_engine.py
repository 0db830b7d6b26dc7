"""Executing a decision on the RiskEngine contract with the operator's account, and following it.

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
import time

from starknet_py.cairo.felt import decode_shortstring
from starknet_py.hash.selector import get_selector_from_name
from starknet_py.net.account.account import Account
from starknet_py.net.client_errors import ClientError
from starknet_py.net.client_models import Call, TransactionExecutionStatus, TransactionStatus
from starknet_py.net.full_node_client import FullNodeClient
from starknet_py.net.models.transaction import InvokeV3
from starknet_py.net.schemas.broadcasted_txn import BroadcastedTransactionSchema
from starknet_py.net.signer.key_pair import KeyPair
from starknet_py.utils.typed_data import TypedData

from . import risk

PROPOSE_AND_EXECUTE = get_selector_from_name("propose_and_execute_allocation")

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
class AllocationCall:
    """What propose_and_execute_allocation is called with, all but the constraint signature."""

    risk_engine: int
    jediswap: risk.ProtocolMetrics
    ekubo: risk.ProtocolMetrics
    proof_fact: int  # one statement proves both scores: it is passed as both protocols' fact
    jediswap_score: int
    ekubo_score: int
    fact_registry: int
    model_hash: int
    policy: risk.PolicyTerms


def constraints_typed_data(policy: risk.PolicyTerms, *, timestamp: int, chain_id: int) -> TypedData:
    """The policy as a SNIP-12 (revision 1) message: the operator's signature of it is checkable
    by anyone with the account's ``is_valid_signature``."""
    return TypedData.from_dict(
        {
            "types": {
                "StarknetDomain": [
                    {"name": "name", "type": "shortstring"},
                    {"name": "version", "type": "shortstring"},
                    {"name": "chainId", "type": "shortstring"},
                    {"name": "revision", "type": "shortstring"},
                ],
                "DaoConstraints": [
                    {"name": "max_single", "type": "u128"},
                    {"name": "min_diversification", "type": "u128"},
                    {"name": "max_volatility", "type": "u128"},
                    {"name": "min_liquidity", "type": "u128"},
                    {"name": "timestamp", "type": "timestamp"},
                ],
            },
            "primaryType": "DaoConstraints",
            "domain": {"name": "Obsqra", "version": "1", "chainId": decode_shortstring(chain_id), "revision": "1"},
            "message": {
                "max_single": policy.max_single,
                "min_diversification": policy.min_diversification,
                "max_volatility": policy.max_volatility,
                "min_liquidity": policy.min_liquidity,
                "timestamp": timestamp,
            },
        }
    )


def allocation_calldata(call: AllocationCall, *, signer: int, signature: list[int], timestamp: int) -> list[int]:
    """The 24 felts of propose_and_execute_allocation, in the upstream contract's order."""
    metrics = [
        felt
        for m in (call.jediswap, call.ekubo)
        for felt in (m.utilization, m.volatility, m.liquidity, m.audit_score, m.age_days)
    ]
    policy = call.policy
    return [
        *metrics,
        call.proof_fact,  # jediswap_proof_fact
        call.proof_fact,  # ekubo_proof_fact
        call.jediswap_score,
        call.ekubo_score,
        call.fact_registry,
        call.model_hash,  # model_version: the hash the contract approves
        # ConstraintSignature {signer, max_single, min_diversification, max_volatility, min_liquidity, r, s, timestamp}
        signer,
        policy.max_single,
        policy.min_diversification,
        policy.max_volatility,
        policy.min_liquidity,
        *signature,
        timestamp,
    ]


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


async def sign_execution(client: FullNodeClient, account: OperatorAccount, call: AllocationCall) -> SignedExecution:
    """Nonce, fee estimate (a dry run: a revert shows here) and signature; nothing is sent."""
    chain_id = int(await client.get_chain_id(), 16)
    bound = account.bind(client, chain_id)
    timestamp = int(time.time())
    signature = bound.sign_message(constraints_typed_data(call.policy, timestamp=timestamp, chain_id=chain_id))
    calldata = allocation_calldata(call, signer=account.address, signature=signature, timestamp=timestamp)
    try:
        invoke = await bound.sign_invoke_v3(
            Call(to_addr=call.risk_engine, selector=PROPOSE_AND_EXECUTE, calldata=calldata), auto_estimate=True
        )
    except ClientError as exc:
        if _client_error_code(exc) == TRANSACTION_EXECUTION_ERROR:
            raise WouldRevert(_execution_error(exc)) from None
        raise
    return SignedExecution(
        tx_hash=invoke.calculate_hash(chain_id),
        nonce=invoke.nonce,
        sender=account.address,
        calldata=calldata,
        transaction=BroadcastedTransactionSchema().dump(invoke),
    )


def _execution_error(exc: ClientError) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    error = data.get("execution_error", exc.data)
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
        if code is None or code >= 500:
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


# The RiskEngine's failure values (its assert codes and short strings), in plain words.
RISK_ENGINE_FAILURES = {
    0: "a proof fact is not registered in the fact registry",
    1: "the contract computed another JediSwap score than the proven one",
    2: "the contract computed another Ekubo score than the proven one",
    3: "the model version is not approved on the RiskEngine",
    int.from_bytes(b"Unauthorized"): "the account is not the RiskEngine's owner (and permissionless mode is off)",
    int.from_bytes(b"DAO constraints violated"): "the on-chain DAO constraints reject this split",
}
_FAILURE_FELT = re.compile(r"Failure reason:\s*\(?\s*(0x[0-9a-fA-F]+)")


def revert_cause(reason: str) -> str:
    """A plain cause for a revert string, from the last failure value it names; '' when unknown."""
    found = _FAILURE_FELT.findall(reason)
    if not found:
        return ""
    felt = int(found[-1], 16)
    if felt in RISK_ENGINE_FAILURES:
        return RISK_ENGINE_FAILURES[felt]
    text = decode_shortstring(felt)
    return text if text.isascii() and text.isprintable() else ""
