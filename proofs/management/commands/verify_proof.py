from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from proofs.verify import InvalidProof, check_proof_file, summary


class Command(BaseCommand):
    help = "Verify a downloaded proof file (the same check as `python -m proofs.verify FILE`)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            proof_file = check_proof_file(file.read_bytes())
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        except InvalidProof as exc:
            raise CommandError(f"INVALID: {exc}") from None
        self.stdout.write(summary(proof_file))
