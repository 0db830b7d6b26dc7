"""What made a proof: the versions recorded on its job when it is made, and published in its bundle."""

import functools
import subprocess
from importlib import metadata

from django.conf import settings
from obsqra_stark import _stark

NOT_RECORDED = "not recorded (proved before versions were kept)"


@functools.cache
def source_commit() -> str:
    """The deployed commit: SOURCE_COMMIT when set, else git's HEAD (`-dirty` with uncommitted changes)."""
    if settings.SOURCE_COMMIT:
        return settings.SOURCE_COMMIT

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no SOURCE_COMMIT and no git checkout)"
    return f"{head}-dirty" if dirty else head


def prover_software() -> dict[str, str]:
    """Recorded when a proof is made."""
    return {
        "prover": _stark.PROVER_NAME,
        "obsqra_stark": _stark.__version__,
        "winterfell": _stark.WINTERFELL_VERSION,
        "git_commit": source_commit(),
    }


def cairo_software() -> dict[str, str]:
    """Recorded when the Cairo statement runs."""
    return {"cairo_lang": metadata.version("cairo-lang")}
