"""The decision bundle: built from a stored decision, checked whole by the one Rust verifier, and refused
part by part when an attacker changes any of it (naively, or fixing the manifest's hashes as well)."""

import hashlib
import io
import json
import re

import pytest
from obsqra_stark import _stark

from allocations.risk import felt_hex
from proofs import cairo_statement, services
from proofs.models import ProofJob
from proofs.statement import VerificationError

from .bundles import manifest_of, parts_of, rebuilt, zip_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def bundled(decided_job):
    """A decision's job and its bundle (the Cairo statement runs while the bundle is built)."""

    def make(**overrides):
        job = decided_job(**overrides)
        return job, services.decision_bundle(job).content

    return make


def refusal(bundle: bytes) -> tuple[str, str]:
    with pytest.raises(VerificationError) as refused:
        _stark.verify_bundle(bundle)
    return refused.value.part, str(refused.value)


# --- the Cairo side, against cairo-lang's own code ---------------------------------------------------------


def test_the_pinned_program_is_the_one_we_compile():
    assert _stark.CAIRO_PROGRAM_HASH == felt_hex(cairo_statement.compiled_statement().program_hash)
    assert _stark.CAIRO_LAYOUT == cairo_statement.LAYOUT


def test_the_rust_pie_reader_agrees_with_cairo_lang(v2_params):
    """Program hash (cairo-lang compute_program_hash_chain, Pedersen) and output (get_program_output) of a real PIE."""
    from starkware.cairo.bootloaders.generate_fact import get_program_output
    from starkware.cairo.bootloaders.hash_program import HashFunction, compute_program_hash_chain
    from starkware.cairo.lang.vm.cairo_pie import CairoPie

    run = cairo_statement.run_decision(
        v2_params, [6500, 3500, 1, 98, 800], [5000, 2500, 2, 95, 600], [850, 1210], [6000, 2, 10000, 3]
    )
    pie = CairoPie.deserialize(run.cairo_pie_bytes)
    read = _stark.read_cairo_pie(run.cairo_pie_bytes)
    assert read["program_hash"] == compute_program_hash_chain(pie.program, HashFunction.PEDERSEN) == run.program_hash
    assert read["output"] == get_program_output(pie) == run.output
    assert read["steps"] == pie.execution_resources.n_steps


# --- a genuine bundle -------------------------------------------------------------------------------------


def test_a_bundle_holds_every_part_and_verifies(bundled):
    job, bundle = bundled()
    job.refresh_from_db()
    assert list(parts_of(bundle)) == ["manifest.json", "README.md", "proof.json", "statement.json", "cairo-pie.zip"]
    verified = _stark.verify_bundle(bundle)
    assert verified["bundle_hash"] == "0x" + hashlib.sha256(bundle).hexdigest()
    manifest = json.loads(verified["manifest"])
    decision = job.decision
    assert manifest["decision"]["id"] == decision.pk
    assert manifest["model_version"]["label"] == decision.model_version.version
    assert manifest["policy"]["name"] == decision.policy.name
    assert manifest["stark"]["proof_hash"] == job.proof_hash
    assert manifest["cairo"]["integrity_fact"] == job.fact_hash
    assert manifest["cairo"]["sharp_fact"] == job.sharp_fact_hash
    assert parts_of(bundle)["proof.json"] == services.proof_file_for(job)
    software = manifest["software"]
    assert software["winterfell"] == "0.13.1" and software["cairo_lang"] == "0.14.0.1"
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", software["git_commit"]), software["git_commit"]


def test_a_bundle_is_the_same_bytes_every_time(bundled):
    job, bundle = bundled()
    assert services.decision_bundle(ProofJob.objects.get(pk=job.pk)).content == bundle


def test_the_readme_inside_has_the_commands_and_values(bundled):
    job, bundle = bundled()
    job.refresh_from_db()
    readme = parts_of(bundle)["README.md"].decode()
    assert f"obsqra-verify obsqra-decision-{job.decision.pk}-*.bundle.zip" in readme
    assert job.fact_hash in readme and job.program_hash in readme and job.sharp_fact_hash in readme
    assert '"entry_point_selector": "0x' in readme and "starknet_call" in readme
    # the model-hash command's parameter list is the model's, in the hash order
    assert ", ".join(map(str, job.decision.model_version.params.to_elements())) in readme


# --- an attacker changes one part ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["README.md", "proof.json", "statement.json", "cairo-pie.zip"])
def test_a_changed_file_is_caught_by_its_hash(bundled, name):
    _, bundle = bundled()
    changed = rebuilt(bundle, replace={name: parts_of(bundle)[name] + b" "}, fix_hashes=False)
    part, reason = refusal(changed)
    assert part == name and "the file was changed" in reason


def _edit(path: str, value):
    def edit(manifest):
        *parents, last = path.split(".")
        target = manifest
        for key in parents:
            target = target[key]
        target[last] = value(target[last]) if callable(value) else value

    return edit


@pytest.mark.parametrize(
    ("path", "value", "part", "reason"),
    [
        ("decision.jediswap_pct", lambda v: v + 1, "manifest decision", "the jediswap share"),
        ("decision.violated_rules", [], "manifest decision", "broken rules"),
        ("decision.jediswap_snapshot.metrics.utilization", lambda v: v + 1, "manifest decision", "jediswap snapshot"),
        ("decision.apys.ekubo", lambda v: v + 1, "manifest decision", "the APYs"),
        ("model_version.parameters.clamp_max", lambda v: v - 1, "manifest model_version", "the parameters"),
        ("model_version.model_hash", "0x" + "0" * 63 + "1", "manifest model_version", "the model hash"),
        ("policy.terms.max_single", lambda v: v + 1, "manifest policy", "the policy terms"),
        ("stark.proven_bits", 100, "manifest stark", "proven"),
        ("stark.proof_hash", "0x" + "ab" * 32, "manifest stark", "the proof hash"),
        ("cairo.integrity_fact", "0x" + "0" * 63 + "1", "manifest cairo", "the Integrity fact"),
        ("cairo.sharp_fact", "0x" + "0" * 63 + "1", "manifest cairo", "the SHARP fact"),
        ("cairo.steps", lambda v: v + 1, "manifest cairo", "steps"),
        ("cairo.layout", "starknet", "manifest cairo", "the layout"),
        ("cairo.program_hash", "0x" + "0" * 63 + "1", "cairo-pie.zip", "the manifest says"),
        ("cairo.bootloader_program_hash", "0x" + "0" * 63 + "1", "manifest cairo", "the bootloader"),
        ("version", 2, "manifest.json", "version"),
    ],
)
def test_a_manifest_that_disagrees_with_the_proof_is_refused(bundled, path, value, part, reason):
    _, bundle = bundled()
    got_part, got_reason = refusal(rebuilt(bundle, edit_manifest=_edit(path, value)))
    assert got_part == part and reason in got_reason, got_reason


def test_a_statement_file_other_than_the_proven_one_is_refused(bundled):
    _, bundle = bundled()
    statement = json.loads(parts_of(bundle)["statement.json"])
    statement["ekubo_score"] += 1
    part, reason = refusal(rebuilt(bundle, replace={"statement.json": json.dumps(statement).encode()}))
    assert part == "statement.json" and "differs from the statement the proof proves" in reason


def test_a_corrupted_proof_is_refused_naming_the_proof(bundled):
    _, bundle = bundled()
    document = json.loads(parts_of(bundle)["proof.json"])
    document["statement"]["jediswap_score"] += 1
    forged = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    part, reason = refusal(rebuilt(bundle, replace={"proof.json": forged}))
    assert part == "proof.json" and "does not match the claimed statement" in reason


def test_another_decisions_valid_proof_swapped_in_is_refused(bundled):
    """The proof, statement and proof record of a genuine other decision: the decision itself no longer agrees."""
    _, bundle = bundled()
    _, other = bundled(jediswap_metrics={"utilization": 7000, "volatility": 3500, "liquidity": 1, "audit_score": 98, "age_days": 800})
    other_parts, other_manifest = parts_of(other), manifest_of(other)
    swapped = rebuilt(
        bundle,
        replace={name: other_parts[name] for name in ("proof.json", "statement.json")},
        edit_manifest=lambda m: m.update(stark=other_manifest["stark"]),
    )
    part, reason = refusal(swapped)
    assert part == "manifest decision" and "the proof proves" in reason


def test_another_decisions_cairo_pie_is_refused(bundled):
    _, bundle = bundled()
    _, other = bundled(ekubo_metrics={"utilization": 5100, "volatility": 2500, "liquidity": 2, "audit_score": 95, "age_days": 600})
    other_manifest = manifest_of(other)
    swapped = rebuilt(
        bundle,
        replace={"cairo-pie.zip": parts_of(other)["cairo-pie.zip"]},
        edit_manifest=lambda m: m.update(cairo=other_manifest["cairo"]),
    )
    part, reason = refusal(swapped)
    assert part == "cairo-pie.zip" and "output differs from the proven statement" in reason


def _pie_with(pie_bytes: bytes, change) -> bytes:
    from starkware.cairo.lang.vm.cairo_pie import CairoPie

    pie = CairoPie.deserialize(pie_bytes)
    change(pie)
    return pie.serialize()


def test_a_pie_of_another_program_with_the_same_output_is_refused(bundled):
    """One instruction word changed in the program and its segment: the output is still the proven one."""
    from starkware.cairo.lang.vm.relocatable import RelocatableValue

    _, bundle = bundled()

    def patch_program(pie):
        last = len(pie.metadata.program.data) - 1
        pie.metadata.program.data[last] += 1
        pie.memory.data[RelocatableValue(0, last)] = pie.metadata.program.data[last]

    pie = _pie_with(parts_of(bundle)["cairo-pie.zip"], patch_program)
    program_hash = felt_hex(_stark.read_cairo_pie(pie)["program_hash"])
    part, reason = refusal(
        rebuilt(bundle, replace={"cairo-pie.zip": pie}, edit_manifest=_edit("cairo.program_hash", program_hash))
    )
    assert part == "cairo-pie.zip" and "a run of another program" in reason


def test_a_pie_whose_program_segment_is_not_its_program_is_refused(bundled):
    from starkware.cairo.lang.vm.relocatable import RelocatableValue

    _, bundle = bundled()

    def patch_segment(pie):
        pie.memory.data[RelocatableValue(0, 0)] += 1

    pie = _pie_with(parts_of(bundle)["cairo-pie.zip"], patch_segment)
    part, reason = refusal(rebuilt(bundle, replace={"cairo-pie.zip": pie}))
    assert part == "cairo-pie.zip" and "program segment differs" in reason


def test_a_pie_with_another_output_is_refused_even_with_matching_facts(bundled):
    """The output cell of the ekubo share changed and the manifest's facts recomputed for it."""
    from starkware.cairo.lang.vm.relocatable import RelocatableValue

    from proofs import facts

    _, bundle = bundled()
    manifest = manifest_of(bundle)
    index = cairo_statement.OUTPUT_RESULTS.start + 3

    def patch_output(pie):
        output = pie.metadata.builtin_segments["output"]
        pie.memory.data[RelocatableValue(output.index, index)] += 1

    pie = _pie_with(parts_of(bundle)["cairo-pie.zip"], patch_output)
    read = _stark.read_cairo_pie(pie)

    def refacts(m):
        m["cairo"]["integrity_fact"] = felt_hex(facts.bootloaded_fact(read["program_hash"], read["output"]))
        m["cairo"]["sharp_fact"] = felt_hex(facts.sharp_fact(read["program_hash"], read["output"]))

    assert manifest["cairo"]["integrity_fact"] != felt_hex(facts.bootloaded_fact(read["program_hash"], read["output"]))
    part, reason = refusal(rebuilt(bundle, replace={"cairo-pie.zip": pie}, edit_manifest=refacts))
    assert part == "cairo-pie.zip" and f"at felt {index} of 41" in reason


def test_a_bundle_with_an_extra_a_missing_or_a_repeated_file_is_refused(bundled):
    _, bundle = bundled()
    parts = list(parts_of(bundle).items())
    assert refusal(zip_of([*parts, ("evil.sh", b"rm -rf /")])) == (
        "bundle",
        "bundle: unexpected file \"evil.sh\" (a bundle holds exactly manifest.json, README.md, proof.json, "
        "statement.json, cairo-pie.zip)",
    )
    assert refusal(zip_of([p for p in parts if p[0] != "cairo-pie.zip"]))[0] == "cairo-pie.zip"
    assert refusal(zip_of([*parts, ("statement.json", b"{}")])) == ("bundle", "bundle: a file name appears twice")


def test_a_manifest_with_an_unknown_field_is_refused(bundled):
    _, bundle = bundled()
    part, reason = refusal(rebuilt(bundle, edit_manifest=lambda m: m.update(verified_on_chain=True)))
    assert part == "manifest.json" and "unknown field" in reason


def test_a_bundle_too_large_or_not_a_zip_is_refused():
    assert refusal(b"PK\x03\x04" + b"\0" * 100)[0] == "bundle"
    assert "at most" in refusal(b"PK\x03\x04" + b"\0" * (_stark.BUNDLE_MAX_BYTES + 1))[1]


def test_a_zip_bomb_pie_is_refused(bundled):
    _, bundle = bundled()
    bomb = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        original = zipfile.ZipFile(io.BytesIO(parts_of(bundle)["cairo-pie.zip"]))
        for info in original.infolist():
            content = original.read(info)
            archive.writestr(info.filename, content + b"\0" * (64 << 20) if info.filename == "memory.bin" else content)
    part, reason = refusal(rebuilt(bundle, replace={"cairo-pie.zip": bomb.getvalue()}))
    assert part == "cairo-pie.zip" and "memory.bin: it is larger than" in reason


# --- API, pages, export -------------------------------------------------------------------------------------


def test_the_api_serves_a_bundle_by_proof_job_id(client, decided_job):
    job = decided_job()
    response = client.get(f"/api/v1/proofs/{job.pk}/bundle")
    assert response.status_code == 200 and response["Content-Type"] == _stark.BUNDLE_MEDIA_TYPE
    bundle_hash = "0x" + hashlib.sha256(response.content).hexdigest()
    assert response["X-Bundle-Hash"] == bundle_hash
    assert f'filename="obsqra-decision-{job.decision.pk}-{bundle_hash[2:14]}.bundle.zip"' in response["Content-Disposition"]
    assert client.get(f"/api/v1/proofs/{job.pk}").json()["bundle_url"].endswith(f"/api/v1/proofs/{job.pk}/bundle")
    # the page's download is the same file
    assert client.get(f"/proofs/{job.pk}/download/bundle").content == response.content


def test_no_bundle_without_a_decision_or_a_proof(api, client, decision_body, decided_job):
    generated = api.post("/proofs/generate", decision_body()).json()
    response = client.get(f"/api/v1/proofs/{generated['proof_job_id']}/bundle")
    assert response.status_code == 409 and "bundles are made per decision" in response.json()["detail"]
    assert client.get(f"/api/v1/proofs/{generated['proof_job_id']}").json()["bundle_url"] is None
    unproven = decided_job()
    ProofJob.objects.filter(pk=unproven.pk).update(status=ProofJob.Status.GENERATING, proof=b"", proof_hash="")
    response = client.get(f"/api/v1/proofs/{unproven.pk}/bundle")
    assert response.status_code == 409 and "has no proof yet" in response.json()["detail"]


def test_a_broken_provers_proof_has_no_bundle(client, decided_job):
    job = decided_job()
    ProofJob.objects.filter(pk=job.pk).update(prover=_stark.BROKEN_PROVER_NAMES[0])
    assert client.get(f"/api/v1/proofs/{job.pk}/bundle").status_code == 410


def test_the_verify_endpoint_takes_a_bundle(client, bundled):
    job, bundle = bundled()
    answer = client.post("/api/v1/proofs/verify", {"file": io.BytesIO(bundle)}).json()
    assert answer["valid"] and answer["kind"] == "bundle"
    assert answer["bundle_hash"] == "0x" + hashlib.sha256(bundle).hexdigest()
    assert answer["decision_id"] == job.decision.pk and answer["proof_job_id"] == str(job.pk)
    assert answer["model_version"] == job.decision.model_version.version and answer["policy"] == job.decision.policy.name
    tampered = rebuilt(bundle, edit_manifest=_edit("policy.terms.max_single", lambda v: v + 1))
    answer = client.post("/api/v1/proofs/verify", {"file": io.BytesIO(tampered)}).json()
    assert not answer["valid"] and answer["part"] == "manifest policy" and "policy terms" in answer["reason"]


def test_the_proof_page_shows_the_bundle_hash_with_copy_buttons(client, bundled):
    job, bundle = bundled()
    bundle_hash = "0x" + hashlib.sha256(bundle).hexdigest()
    html = client.get(f"/proofs/{job.pk}/").content.decode()
    assert f'data-copy="{bundle_hash}"' in html and f'data-copy="{job.proof_hash}"' in html
    assert f"/proofs/{job.pk}/download/bundle" in html
    assert f"python -m obsqra_stark obsqra-decision-{job.decision.pk}-{bundle_hash[2:14]}.bundle.zip" in html
    assert "— the decision has not been executed on chain" in html
    decision_html = client.get(f"/decisions/{job.decision.pk}/").content.decode()
    assert f'data-copy="{bundle_hash}"' in decision_html


def test_before_its_cairo_run_the_page_says_why_there_is_no_bundle(client, decided_job):
    job = decided_job()
    html = client.get(f"/proofs/{job.pk}/").content.decode()
    assert "— the Cairo run is queued behind the proof" in html
    assert "/download/bundle" not in html


def test_export_bundles_writes_every_bundle_of_a_version(decided_job, current_version, tmp_path):
    from django.core.management import CommandError, call_command

    jobs = [decided_job(), decided_job(apys={"jediswap": 900, "ekubo": 1210})]
    out = io.StringIO()
    call_command("export_bundles", "--model-version", current_version.version, "--out", str(tmp_path), stdout=out)
    assert f"Wrote 2 bundles of model {current_version.version}" in out.getvalue()
    sums = (tmp_path / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 2
    for line in sums:
        digest, name = line.split("  ")
        content = (tmp_path / name).read_bytes()
        assert hashlib.sha256(content).hexdigest() == digest
        assert _stark.verify_bundle(content)["bundle_hash"] == "0x" + digest
    assert {manifest_of((tmp_path / line.split("  ")[1]).read_bytes())["decision"]["id"] for line in sums} == {
        job.decision.pk for job in jobs
    }
    with pytest.raises(CommandError, match="unknown model version '9.9.9'"):
        call_command("export_bundles", "--model-version", "9.9.9", "--out", str(tmp_path))
