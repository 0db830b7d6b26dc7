"""Template helpers shared by the audit-trail pages: proof badges, hashes, basis points, explorer links."""

from datetime import UTC, datetime

from django import template

from .. import page_settings
from ..models import ProofJob

register = template.Library()


@register.inclusion_tag("proofs/_badge.html")
def proof_badge(job: ProofJob | None):
    """The job's status; a job that is not final polls its own badge until it is."""
    return {"job": job, "poll_seconds": page_settings.badge_poll_seconds()}


@register.filter
def short_hash(value: str) -> str:
    """0x034d…563b: enough to recognise a hash, the full value stays in the title."""
    return f"{value[:6]}…{value[-4:]}" if value and len(value) > 12 else value


@register.filter
def bps(value: int | None) -> str:
    """Basis points as a percentage: 3533 -> 35.33 % (with a no-break space)."""
    return "—" if value is None else f"{value / 100:.2f}\u00a0%"


@register.filter
def explorer_tx(tx_hash: str) -> str:
    return page_settings.explorer_tx_url(tx_hash)


@register.filter
def explorer_block(number: int) -> str:
    return page_settings.explorer_block_url(number)


@register.filter
def felt(value: int | None) -> str:
    """A felt as the 0x + 64 hex digits the pages show hashes in."""
    return "—" if value is None else f"0x{value:064x}"


@register.filter
def duration(seconds: float | None) -> str:
    """12 ms, 4.2 s, 12 s, 3 min 12 s, 2 h 05 min."""
    if seconds is None:
        return "—"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


@register.filter
def utc(value: datetime | None, precision: str = "minutes") -> str:
    """22 Nov 2026, 10:28 (or with seconds) in UTC; strftime is far cheaper than the date filter, per table row."""
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%d %b %Y, %H:%M:%S" if precision == "seconds" else "%d %b %Y, %H:%M")
