"""The errors a Starknet node may answer, for the faults tests/chain_proxy.py injects in front of devnet:
transcribed from the spec, so an injected failure is one a real node could give.

Written from starkware-libs/starknet-specs v0.10.2 (commit f48bec0de25aec1ea3f63b03ace853bcfbf0b0c9,
the version starknet-py 0.30 speaks): api/starknet_api_openrpc.json and api/starknet_write_api.json,
each method's ``errors``. No registry package ships the 0.10 spec files (starknet-types-rpc 0.7.1 stops
at 0.7.1), so they are transcribed here rather than downloaded.
"""

from __future__ import annotations

# The spec's errors, by name: (code, message).
ERRORS = {
    "CONTRACT_NOT_FOUND": (20, "Contract not found"),
    "ENTRYPOINT_NOT_FOUND": (21, "Requested entry point does not exist in the contract"),
    "BLOCK_NOT_FOUND": (24, "Block not found"),
    "TXN_HASH_NOT_FOUND": (29, "Transaction hash not found"),
    "CONTRACT_ERROR": (40, "Contract error"),
    "TRANSACTION_EXECUTION_ERROR": (41, "Transaction execution error"),
    "INVALID_TRANSACTION_NONCE": (52, "Invalid transaction nonce"),
    "INSUFFICIENT_RESOURCES_FOR_VALIDATE": (
        53, "The transaction's resources don't cover validation or the minimal transaction fee",
    ),  # fmt: skip
    "VALIDATION_FAILURE": (55, "Account validation failed"),
    "DUPLICATE_TX": (59, "A transaction with the same hash already exists in the mempool"),
    "UNSUPPORTED_TX_VERSION": (61, "the transaction version is not supported"),
}

# The errors the spec lets each method answer, by name.
METHOD_ERRORS = {
    "starknet_getBlockWithTxHashes": ["BLOCK_NOT_FOUND"],
    "starknet_getEvents": ["BLOCK_NOT_FOUND"],
    "starknet_call": ["CONTRACT_NOT_FOUND", "ENTRYPOINT_NOT_FOUND", "CONTRACT_ERROR", "BLOCK_NOT_FOUND"],
    "starknet_getClassAt": ["BLOCK_NOT_FOUND", "CONTRACT_NOT_FOUND"],
    "starknet_getNonce": ["BLOCK_NOT_FOUND", "CONTRACT_NOT_FOUND"],
    "starknet_estimateFee": ["CONTRACT_NOT_FOUND", "TRANSACTION_EXECUTION_ERROR", "BLOCK_NOT_FOUND"],
    "starknet_addInvokeTransaction": [
        "INSUFFICIENT_RESOURCES_FOR_VALIDATE", "INVALID_TRANSACTION_NONCE", "VALIDATION_FAILURE", "DUPLICATE_TX",
        "UNSUPPORTED_TX_VERSION",
    ],
    "starknet_getTransactionStatus": ["TXN_HASH_NOT_FOUND"],
    "starknet_getTransactionReceipt": ["TXN_HASH_NOT_FOUND"],
}  # fmt: skip
# JSON-RPC 2.0's own errors (parse error, invalid request, method not found, invalid params, internal
# error): any JSON-RPC server may answer them to any call.
JSON_RPC_ERRORS = frozenset({-32700, -32600, -32601, -32602, -32603})


def problems(method: str, body: dict) -> list[str]:
    """Why an error answer to ``method`` is not one the spec allows; [] when it is."""
    if body.get("jsonrpc") != "2.0" or "id" not in body or "error" not in body:
        return [f"{method}: not a JSON-RPC 2.0 error answer: {sorted(body)}"]
    error = body["error"]
    if error.get("code") in JSON_RPC_ERRORS:
        return []
    allowed = {ERRORS[name] for name in METHOD_ERRORS.get(method, [])}
    if (error.get("code"), error.get("message")) not in allowed:
        return [f"{method}: error {error.get('code')} {error.get('message')!r} is not one the spec allows"]
    return []
