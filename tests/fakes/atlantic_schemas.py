"""What Atlantic answers, as JSON schemas written from the types a public client decodes its answers into.

Atlantic publishes no machine-readable schema we could fetch; these follow madara-alliance/madara
e67432177060197bb0fb03502f2d07d1194764f5, orchestrator/crates/prover-clients/atlantic-service/src/types.rs
(serde camelCase): AtlanticAddJobResponse, AtlanticGetStatusResponse, AtlanticQueryByDedupIdResponse and
AtlanticQuery (a field that is not an Option there is required here), with the enums AtlanticQueryStatus,
AtlanticQueryStep, AtlanticJobSize and AtlanticCairoVm.
"""

from __future__ import annotations

import jsonschema

STEPS = [
    "TRACE_GENERATION", "PROOF_GENERATION", "PROOF_VERIFICATION", "PROOF_VERIFICATION_ON_L1",
    "PROOF_VERIFICATION_ON_L2", "PROOF_GENERATION_AND_VERIFICATION", "FACT_HASH_REGISTRATION",
    "TRACE_AND_METADATA_GENERATION",
]  # fmt: skip
STEP = {"type": "string", "enum": STEPS}
JOB_SIZE = {"type": "string", "enum": ["S", "M", "L"]}
OPTIONAL_STRING = {"type": ["string", "null"]}
HEX = {"type": ["string", "null"], "pattern": "^0x[0-9a-fA-F]+$"}

ATLANTIC_QUERY = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "externalId": OPTIONAL_STRING,
        "status": {"type": "string", "enum": ["RECEIVED", "IN_PROGRESS", "DONE", "FAILED"]},
        "step": {"anyOf": [STEP, {"type": "null"}]},
        "programHash": HEX,
        "integrityFactHash": HEX,
        "sharpFactHash": HEX,
        "layout": OPTIONAL_STRING,
        "jobSize": {"anyOf": [JOB_SIZE, {"type": "null"}]},
        "declaredJobSize": {"anyOf": [JOB_SIZE, {"type": "null"}]},
        "cairoVm": {"type": ["string", "null"], "enum": ["rust", "python", None]},
        "cairoVersion": {"type": ["string", "null"], "enum": ["cairo0", "cairo1", None]},
        "steps": {"type": "array", "items": STEP},
        "errorReason": OPTIONAL_STRING,
        "submittedByClient": {"type": "string"},
        "projectId": {"type": "string"},
        "createdAt": {"type": "string"},
        "completedAt": OPTIONAL_STRING,
        "result": {"anyOf": [STEP, {"type": "null"}]},
        "network": OPTIONAL_STRING,
        "isJobSizeValid": {"type": "boolean"},
    },
    "required": ["id", "status", "steps", "submittedByClient", "projectId", "createdAt", "isJobSizeValid"],
}
ANSWERS = {
    "submit": {
        "type": "object", "properties": {"atlanticQueryId": {"type": "string"}}, "required": ["atlanticQueryId"],
    },  # fmt: skip
    "poll": {
        "type": "object",
        "properties": {"atlanticQuery": ATLANTIC_QUERY, "metadataUrls": {"type": "array", "items": {"type": "string"}}},
        "required": ["atlanticQuery", "metadataUrls"],
    },
    "lookup": {"type": "object", "properties": {"atlanticQuery": ATLANTIC_QUERY}, "required": ["atlanticQuery"]},
}


def problems(kind: str, body: dict) -> list[str]:
    """Why a successful answer of ``kind`` (submit, poll, lookup) is not what Atlantic's clients decode."""
    validator = jsonschema.Draft7Validator(ANSWERS[kind])
    return [f"Atlantic {kind}: {e.json_path}: {e.message}" for e in validator.iter_errors(body)]
