from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from obsqra_stark import _stark


class Command(BaseCommand):
    help = "Verify a downloaded proof file: the verdict `obsqra-verify` and `python -m obsqra_stark` print."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        valid, text = _stark.report(data)
        if not valid:
            raise CommandError(text)
        self.stdout.write(text)
