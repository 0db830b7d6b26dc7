"""The decision bundle: one zip with every part of a decision's proof, checkable by `obsqra-verify` alone.

The format is the Rust crate's (proofs/stark/src/bundle.rs, which reads and checks it): `manifest.json`,
`README.md`, `proof.json` (the published proof file, byte for byte), `statement.json` and
`cairo-pie.zip`. The zip is written the same way every time (stored entries in a fixed order, fixed
timestamps), so a decision's bundle has one SHA-256, the bundle hash its pages show and its file name
carries. The README cannot name that hash or file: it is inside what is hashed.
"""

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.template.loader import render_to_string
from obsqra_stark import _stark
from starknet_py.hash.selector import get_selector_from_name

from allocations.risk import FAMILY_ID, ModelParams, felt_hex

from . import cairo_statement, facts, integrity
from .models import ProofJob
from .proof_file import VerifiedProofFile, file_hash, verified_from
from .provenance import NOT_RECORDED
from .statement import PublicInputs, readable_json

MEDIA_TYPE: str = _stark.BUNDLE_MEDIA_TYPE
MANIFEST, README, PROOF, STATEMENT, CAIRO_PIE = (
    "manifest.json", "README.md", "proof.json", "statement.json", "cairo-pie.zip",
)  # fmt: skip
# 1980-01-01, the earliest time a zip can hold: no clock in the bytes.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
MAX_BYTES: int = _stark.BUNDLE_MAX_BYTES


@dataclass(frozen=True)
class VerifiedBundle:
    bundle_hash: str
    proof: VerifiedProofFile
    manifest: dict


def is_bundle(data: bytes) -> bool:
    """What the Rust report checks as a bundle rather than a proof file."""
    return data.startswith(_stark.ZIP_MAGIC)


def verify(data: bytes) -> VerifiedBundle:
    """Every part checked and agreeing; raises statement.VerificationError otherwise, its `part` naming the culprit."""
    verified = _stark.verify_bundle(data)
    return VerifiedBundle(
        bundle_hash=verified["bundle_hash"], proof=verified_from(verified), manifest=json.loads(verified["manifest"])
    )


@dataclass(frozen=True)
class Bundle:
    content: bytes
    bundle_hash: str
    filename: str


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _utc(moment) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _snapshot(snapshot) -> dict:
    return {
        "source": snapshot.source,
        "block_number": snapshot.block_number,
        "block_timestamp": _utc(snapshot.block_timestamp),
        "captured_at": _utc(snapshot.captured_at),
        "metrics": snapshot.metrics.model_dump(),
    }


def _manifest(job: ProofJob) -> dict:
    """Everything but the file hashes (the README is written from this)."""
    decision = job.decision
    statement = PublicInputs.model_validate(job.public_inputs)
    software = {"prover": job.prover, **job.software}
    return {
        "format": _stark.BUNDLE_FORMAT,
        "version": _stark.BUNDLE_FORMAT_VERSION,
        "decision": {
            "id": decision.pk,
            "created_at": _utc(decision.created_at),
            "jediswap_snapshot": _snapshot(decision.jediswap_snapshot),
            "ekubo_snapshot": _snapshot(decision.ekubo_snapshot),
            "apys": decision.apys.model_dump(),
            "jediswap_score": decision.jediswap_score,
            "ekubo_score": decision.ekubo_score,
            "jediswap_pct": decision.jediswap_pct,
            "ekubo_pct": decision.ekubo_pct,
            "violations": decision.violations,
            "violated_rules": decision.violated_rules,
        },
        "model_version": {
            "label": decision.model_version.version,
            "family": FAMILY_ID,
            "model_hash": decision.model_version.model_hash,
            "parameters": decision.model_version.params.model_dump(),
        },
        # The terms the decision was checked against, as proven; the policy may have been edited since.
        "policy": {"name": decision.policy.name, "terms": statement.policy.model_dump()},
        "stark": {
            "proof_job": str(job.pk),
            "proof_hash": job.proof_hash,
            "prover": job.prover,
            "proven_bits": job.proven_security_bits,
            "conjectured_bits": job.conjectured_security_bits,
        },
        "cairo": {
            "program_hash": job.program_hash,
            "layout": cairo_statement.LAYOUT,
            "steps": job.cairo_steps,
            "bootloader_program_hash": felt_hex(facts.SHARP_BOOTLOADER_PROGRAM_HASH),
            "integrity_fact": job.fact_hash,
            "sharp_fact": job.sharp_fact_hash,
        },
        "on_chain": {
            "network": settings.ATLANTIC_NETWORK,
            "integrity_fact_registry": felt_hex(int(settings.INTEGRITY_FACT_REGISTRY_ADDRESS, 16)),
            "verifier_configs": list(settings.INTEGRITY_VERIFIER_CONFIGS),
            "min_security_bits": settings.INTEGRITY_MIN_SECURITY_BITS,
            "sharp_fact_registry": settings.SHARP_FACT_REGISTRY_ADDRESS,
        },
        "software": {
            name: software.get(name, NOT_RECORDED)
            for name in ("prover", "obsqra_stark", "winterfell", "cairo_lang", "git_commit")
        },
    }


def _readme(manifest: dict) -> bytes:
    context = {
        "m": manifest,
        "get_all_verifications_selector": hex(get_selector_from_name("get_all_verifications_for_fact_hash")),
        "verification_felts": integrity.VERIFICATION_FELTS,
        "parameter_elements": ModelParams.model_validate(manifest["model_version"]["parameters"]).to_elements(),
    }
    return render_to_string("proofs/bundle_readme.md", context).encode()


def _zip(files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def assemble(job: ProofJob, *, proof_file: bytes) -> Bundle:
    """The bundle of a proven decision whose Cairo statement has run (PIE and facts stored)."""
    manifest = _manifest(job)
    parts = {
        README: _readme(manifest),
        PROOF: proof_file,
        STATEMENT: readable_json(job.public_inputs),
        CAIRO_PIE: bytes(job.cairo_pie),
    }
    manifest["files"] = {name: _sha256(content) for name, content in sorted(parts.items())}
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    content = _zip([(MANIFEST, manifest_bytes), *parts.items()])
    bundle_hash = file_hash(content)
    filename = f"obsqra-decision-{job.decision.pk}-{bundle_hash[2:14]}.bundle.zip"
    return Bundle(content=content, bundle_hash=bundle_hash, filename=filename)
