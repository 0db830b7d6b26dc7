from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from allocations.models import AllocationDecision
from obsqra.errors import DomainError
from proofs.models import ProofJob
from proofs.services import decision_bundle
from registry.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Write the bundle of every decision a model version made (obsqra-decision-<id>-<hash12>.bundle.zip) and a "
        "SHA256SUMS file, for `sha256sum -c SHA256SUMS` and `obsqra-verify` on each."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model-version", required=True, help="a registered version label, e.g. 1.0.0")
        parser.add_argument("--out", type=Path, default=None, help="directory (default: bundles-<version>)")

    def handle(self, *args, model_version, out, **options):
        if not ModelVersion.objects.filter(version=model_version).exists():
            known = ", ".join(ModelVersion.objects.order_by("version").values_list("version", flat=True)) or "none"
            raise CommandError(f"unknown model version {model_version!r} (registered: {known})")
        out = out or Path(f"bundles-{model_version}")
        out.mkdir(parents=True, exist_ok=True)
        decisions = AllocationDecision.objects.filter(model_version__version=model_version)
        ids = list(decisions.order_by("pk").values_list("pk", "proof_job_id"))
        written, skipped = [], []
        for decision_id, job_id in tqdm(ids, unit="bundle", disable=not ids):
            if job_id is None:
                skipped.append(f"decision {decision_id}: no proof job")
                continue
            try:
                bundle = decision_bundle(ProofJob.objects.select_related("decision").get(pk=job_id))
            except DomainError as exc:
                skipped.append(f"decision {decision_id}: {exc.message}")
                continue
            (out / bundle.filename).write_bytes(bundle.content)
            written.append(f"{bundle.bundle_hash[2:]}  {bundle.filename}\n")
        (out / "SHA256SUMS").write_text("".join(written))
        for reason in skipped:
            self.stderr.write(f"skipped {reason}")
        self.stdout.write(f"Wrote {len(written)} bundles of model {model_version} to {out} ({len(skipped)} skipped).")
