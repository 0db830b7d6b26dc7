"""The downloadable proof file: versioned, self-describing JSON holding the statement and the STARK proof.

Encoding is canonical (sorted keys, no spaces), so the file's SHA-256 names the proof everywhere.
"""

import base64
import binascii
import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer, field_validator

from .statement import PublicInputs

FORMAT = "obsqra-stark-proof"
FORMAT_VERSION = 1
MEDIA_TYPE = "application/vnd.obsqra.proof+json"


class ProofFileError(ValueError):
    """The bytes are not a proof file this verifier can read."""


class ProofFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["obsqra-stark-proof"] = FORMAT
    version: Literal[1] = FORMAT_VERSION
    prover: str
    statement: PublicInputs
    proof: bytes

    @field_validator("proof", mode="before")
    @classmethod
    def _from_base64(cls, value):
        if isinstance(value, bytes):
            return value
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, TypeError) as exc:
            raise ValueError(f"proof is not base64: {exc}") from None

    @field_serializer("proof")
    def _to_base64(self, value: bytes) -> str:
        return base64.b64encode(value).decode()

    def encode(self) -> bytes:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":")).encode()

    @property
    def proof_hash(self) -> str:
        return file_hash(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> "ProofFile":
        try:
            document = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProofFileError(f"not a proof file: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ProofFileError(f"not a proof file: the format field must be {FORMAT!r}")
        if document.get("version") != FORMAT_VERSION:
            raise ProofFileError(
                f"unsupported proof file version {document.get('version')!r} (this verifier reads {FORMAT_VERSION})"
            )
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ProofFileError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def file_hash(data: bytes) -> str:
    return "0x" + hashlib.sha256(data).hexdigest()
