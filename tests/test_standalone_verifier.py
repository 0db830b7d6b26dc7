"""The auditor's path: the verifier package alone, in a fresh virtualenv, checks a file from a running server."""

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
# `make install` builds the wheel here (it is what the app itself runs).
WHEELS = ROOT / "proofs" / "stark" / "target" / "wheels"

def oldest_python() -> str:
    """Python 3.9 where one runs here (pyenv's shim answers 127 for a version not enabled), else this one."""
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.9*/bin/python3.9")))
    for candidate in [shutil.which("python3.9"), *pyenv]:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return sys.executable


@pytest.fixture(scope="module")
def auditor_python(tmp_path_factory) -> Path:
    """A virtualenv of the oldest supported Python holding nothing but the verifier wheel, installed offline."""
    wheels = sorted(WHEELS.glob("obsqra_stark-*-abi3-*.whl"))
    assert wheels, f"no verifier wheel in {WHEELS}: run make install"
    interpreter = oldest_python()
    venv = tmp_path_factory.mktemp("auditor") / "venv"
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheels[-1])], check=True)
    return python


def check(python: Path, path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "obsqra_stark", *args, str(path)], capture_output=True, text=True, timeout=60)


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def test_the_package_installs_alone(auditor_python):
    listed = subprocess.run([auditor_python, "-m", "pip", "list", "--format=json"], capture_output=True, text=True)
    names = {package["name"] for package in json.loads(listed.stdout)} - {"pip", "setuptools"}
    assert names == {"obsqra-stark"}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_downloaded_file_verifies_and_every_tampered_part_is_named(
    auditor_python, live_server, decision_body, tmp_path
):
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        created = http.post("/api/v1/risk-engine/orchestrate-allocation", json=decision_body()).json()
        file = http.get(f"/api/v1/proofs/{created['proof_job_id']}/download").content
    genuine = tmp_path / "genuine.proof.json"
    genuine.write_bytes(file)
    result = check(auditor_python, genuine)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"VALID proof {created['proof_hash']}")
    assert json.loads(check(auditor_python, genuine, "--json").stdout)["statement"]["jediswap_score"] == 44

    document = json.loads(file)
    tampered_parts = {
        "the proof does not match the claimed statement": ("statement", "ekubo_score", 33),
        "the model hash does not name these parameters": ("statement", "model_hash", "0x" + "0" * 63 + "1"),
        "the file claims": ("security", "proven_bits", 100),
        "this verifier checks": ("prover", None, "winterfell-0.13.1/obsqra-risk-air-v3"),
        "the proof is": ("proof", None, "A" + document["proof"][1:]),
    }
    for reason, (part, field, value) in tampered_parts.items():
        changed = json.loads(file)
        if field is None:
            changed[part] = value
        else:
            changed[part][field] = value
        path = tmp_path / f"{part}-{field}.proof.json"
        path.write_bytes(canonical(changed))
        result = check(auditor_python, path)
        assert result.returncode == 1, (part, field)
        assert result.stderr.startswith("INVALID: ") and reason in result.stderr, result.stderr


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_downloaded_bundle_verifies_and_every_tampered_part_is_named(
    auditor_python, live_server, decision_body, tmp_path
):
    from .bundles import parts_of, rebuilt

    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        created = http.post("/api/v1/risk-engine/orchestrate-allocation", json=decision_body()).json()
        response = http.get(f"/api/v1/proofs/{created['proof_job_id']}/bundle")
    assert response.status_code == 200
    genuine = tmp_path / "genuine.bundle.zip"
    genuine.write_bytes(response.content)
    result = check(auditor_python, genuine)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"VALID bundle {response.headers['X-Bundle-Hash']}")
    assert f"decision       {created['decision_id']}," in result.stdout
    assert "model          1.0.0" in result.stdout and "sepolia: " in result.stdout
    answer = json.loads(check(auditor_python, genuine, "--json").stdout)
    assert answer["kind"] == "bundle" and answer["manifest"]["decision"]["id"] == created["decision_id"]

    bundle = response.content
    statement = json.loads(parts_of(bundle)["statement.json"])
    statement["jediswap_score"] += 1
    manifest_edits = {
        "manifest decision": lambda m: m["decision"].update(ekubo_pct=m["decision"]["ekubo_pct"] + 1),
        "manifest model_version": lambda m: m["model_version"]["parameters"].update(clamp_max=94),
        "manifest policy": lambda m: m["policy"]["terms"].update(max_single=10000),
        "manifest cairo": lambda m: m["cairo"].update(integrity_fact="0x" + "0" * 63 + "1"),
        "manifest stark": lambda m: m["stark"].update(proven_bits=96),
    }
    tampered = {part: rebuilt(bundle, edit_manifest=edit) for part, edit in manifest_edits.items()}
    tampered["statement.json"] = rebuilt(bundle, replace={"statement.json": json.dumps(statement).encode()})
    for name in ("README.md", "proof.json", "cairo-pie.zip"):
        tampered[name] = rebuilt(bundle, replace={name: parts_of(bundle)[name][:-1]}, fix_hashes=False)
    for part, content in tampered.items():
        path = tmp_path / f"{part.replace(' ', '-')}.bundle.zip"
        path.write_bytes(content)
        result = check(auditor_python, path)
        assert result.returncode == 1 and result.stderr.startswith(f"INVALID: {part}: "), (part, result.stderr)
        assert json.loads(check(auditor_python, path, "--json").stdout)["part"] == part
