"""What a Starknet node may answer, for the methods the fake node serves: JSON schemas written from the
spec text, so every answer of the fake is checked against the spec and not against our own client.

Written from starkware-libs/starknet-specs v0.10.2 (commit f48bec0de25aec1ea3f63b03ace853bcfbf0b0c9,
the version starknet-py 0.30 speaks): api/starknet_api_openrpc.json and api/starknet_write_api.json,
each method's ``result.schema`` and ``errors``, and the components they name (titles and descriptions
left out; schemas the fake never answers, such as pre-confirmed blocks or Cairo 0 classes, too). No
registry package ships the 0.10 spec files (starknet-types-rpc 0.7.1 stops at 0.7.1), so they are
transcribed here rather than downloaded.
"""

from __future__ import annotations

import jsonschema

FELT = {"type": "string", "pattern": "^0x(0|[a-fA-F1-9]{1}[a-fA-F0-9]{0,62})$"}
NUM_AS_HEX = {"type": "string", "pattern": "^0x[a-fA-F0-9]+$"}
U64 = {"type": "string", "pattern": "^0x(0|[a-fA-F1-9]{1}[a-fA-F0-9]{0,15})$"}
U128 = {"type": "string", "pattern": "^0x(0|[a-fA-F1-9]{1}[a-fA-F0-9]{0,31})$"}
BLOCK_NUMBER = {"type": "integer", "minimum": 0}
COUNT = {"type": "integer", "minimum": 0}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": list(properties) if required is None else required}


RESOURCE_PRICE = _object({"price_in_fri": FELT, "price_in_wei": FELT})
EVENT_CONTENT = _object({"keys": {"type": "array", "items": FELT}, "data": {"type": "array", "items": FELT}})
EVENT = {"allOf": [_object({"from_address": FELT}), EVENT_CONTENT]}
EMITTED_EVENT = {
    "allOf": [
        EVENT,
        _object(
            {"block_hash": FELT, "block_number": BLOCK_NUMBER, "transaction_hash": FELT,
             "transaction_index": COUNT, "event_index": COUNT},
            required=["transaction_hash", "transaction_index", "event_index"],
        ),  # fmt: skip
    ]
}
BLOCK_HEADER = _object(
    {
        "block_hash": FELT, "parent_hash": FELT, "block_number": BLOCK_NUMBER, "new_root": FELT, "timestamp": COUNT,
        "sequencer_address": FELT, "l1_gas_price": RESOURCE_PRICE, "l2_gas_price": RESOURCE_PRICE,
        "l1_data_gas_price": RESOURCE_PRICE, "l1_da_mode": {"type": "string", "enum": ["BLOB", "CALLDATA"]},
        "starknet_version": {"type": "string"}, "event_commitment": FELT, "transaction_commitment": FELT,
        "receipt_commitment": FELT, "state_diff_commitment": FELT, "event_count": COUNT, "transaction_count": COUNT,
        "state_diff_length": COUNT,
    }
)  # fmt: skip
BLOCK_WITH_TX_HASHES = {
    "allOf": [
        _object({"status": {"type": "string", "enum": ["PRE_CONFIRMED", "ACCEPTED_ON_L2", "ACCEPTED_ON_L1"]}}),
        BLOCK_HEADER,
        _object({"transactions": {"type": "array", "items": FELT}}),
    ]
}
SIERRA_ENTRY_POINT = _object({"selector": FELT, "function_idx": COUNT})
CONTRACT_CLASS = _object(
    {
        "sierra_program": {"type": "array", "items": FELT},
        "contract_class_version": {"type": "string"},
        "entry_points_by_type": _object(
            {kind: {"type": "array", "items": SIERRA_ENTRY_POINT} for kind in ("CONSTRUCTOR", "EXTERNAL", "L1_HANDLER")}
        ),
        "abi": {"type": "string"},
    },
    required=["sierra_program", "contract_class_version", "entry_points_by_type"],
)
FEE_ESTIMATE = _object(
    {
        "l1_gas_consumed": U64, "l1_gas_price": U128, "l2_gas_consumed": U64, "l2_gas_price": U128,
        "l1_data_gas_consumed": U64, "l1_data_gas_price": U128, "overall_fee": U128,
        "unit": {"type": "string", "enum": ["FRI"]},
    }
)  # fmt: skip
TXN_STATUS_RESULT = _object(
    {
        "finality_status": {
            "type": "string", "enum": ["RECEIVED", "CANDIDATE", "PRE_CONFIRMED", "ACCEPTED_ON_L2", "ACCEPTED_ON_L1"],
        },
        "execution_status": {"type": "string", "enum": ["SUCCEEDED", "REVERTED"]},
        "failure_reason": {"type": "string"},
    },
    required=["finality_status"],
)  # fmt: skip
INVOKE_TXN_RECEIPT_WITH_BLOCK_INFO = {
    "allOf": [
        _object({"type": {"type": "string", "enum": ["INVOKE"]}}),
        _object(
            {
                "transaction_hash": FELT,
                "actual_fee": _object({"amount": FELT, "unit": {"type": "string", "enum": ["WEI", "FRI"]}}),
                "finality_status": {"type": "string", "enum": ["PRE_CONFIRMED", "ACCEPTED_ON_L2", "ACCEPTED_ON_L1"]},
                "messages_sent": {"type": "array"},
                "events": {"type": "array", "items": EVENT},
                "execution_resources": _object({"l1_gas": COUNT, "l1_data_gas": COUNT, "l2_gas": COUNT}),
            }
        ),
        {
            "oneOf": [
                _object({"execution_status": {"type": "string", "enum": ["SUCCEEDED"]}}),
                _object(
                    {"execution_status": {"type": "string", "enum": ["REVERTED"]}, "revert_reason": {"type": "string"}}
                ),
            ]
        },
        _object({"block_hash": FELT, "block_number": BLOCK_NUMBER}, required=["block_number"]),
    ]
}

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

# Each served method: its result schema and the errors the spec lets it answer.
METHODS = {
    "starknet_specVersion": ({"type": "string", "const": "0.10.2"}, []),
    "starknet_chainId": (NUM_AS_HEX, []),  # CHAIN_ID
    "starknet_blockNumber": (BLOCK_NUMBER, []),
    "starknet_getBlockWithTxHashes": (BLOCK_WITH_TX_HASHES, ["BLOCK_NOT_FOUND"]),
    "starknet_getEvents": (
        _object({"events": {"type": "array", "items": EMITTED_EVENT}, "continuation_token": {"type": "string"}},
                required=["events"]),
        ["BLOCK_NOT_FOUND"],
    ),  # fmt: skip
    "starknet_call": (
        {"type": "array", "items": FELT},
        ["CONTRACT_NOT_FOUND", "ENTRYPOINT_NOT_FOUND", "CONTRACT_ERROR", "BLOCK_NOT_FOUND"],
    ),
    "starknet_getClassAt": (CONTRACT_CLASS, ["BLOCK_NOT_FOUND", "CONTRACT_NOT_FOUND"]),
    "starknet_getNonce": (FELT, ["BLOCK_NOT_FOUND", "CONTRACT_NOT_FOUND"]),
    "starknet_estimateFee": (
        {"type": "array", "items": FEE_ESTIMATE},
        ["CONTRACT_NOT_FOUND", "TRANSACTION_EXECUTION_ERROR", "BLOCK_NOT_FOUND"],
    ),
    "starknet_addInvokeTransaction": (
        _object({"transaction_hash": FELT}),
        ["INSUFFICIENT_RESOURCES_FOR_VALIDATE", "INVALID_TRANSACTION_NONCE", "VALIDATION_FAILURE", "DUPLICATE_TX",
         "UNSUPPORTED_TX_VERSION"],
    ),  # fmt: skip
    "starknet_getTransactionStatus": (TXN_STATUS_RESULT, ["TXN_HASH_NOT_FOUND"]),
    "starknet_getTransactionReceipt": (INVOKE_TXN_RECEIPT_WITH_BLOCK_INFO, ["TXN_HASH_NOT_FOUND"]),
}
# JSON-RPC 2.0's own errors (parse error, invalid request, method not found, invalid params, internal
# error): any JSON-RPC server may answer them to any call.
JSON_RPC_ERRORS = frozenset({-32700, -32600, -32601, -32602, -32603})


def problems(method: str, body: dict) -> list[str]:
    """Why an answer to ``method`` is not one the spec allows; [] when it is."""
    if body.get("jsonrpc") != "2.0" or "id" not in body or ("result" in body) == ("error" in body):
        return [f"{method}: not a JSON-RPC 2.0 answer: {sorted(body)}"]
    if "error" in body:
        error = body["error"]
        if error.get("code") in JSON_RPC_ERRORS:
            return []
        if method not in METHODS:
            return [f"{method}: unknown method answered {error}"]
        allowed = {ERRORS[name] for name in METHODS[method][1]}
        if (error.get("code"), error.get("message")) not in allowed:
            return [f"{method}: error {error.get('code')} {error.get('message')!r} is not one the spec allows"]
        return []
    if method not in METHODS:
        return [f"{method}: answered a method the fake does not declare"]
    validator = jsonschema.Draft7Validator(METHODS[method][0])
    return [f"{method}: {e.json_path}: {e.message}" for e in validator.iter_errors(body["result"])]
