"""Settings of the public pages, read in one place."""

from django.conf import settings


def explorer_url() -> str:
    return settings.STARKNET_EXPLORER_URL.rstrip("/")


def badge_poll_seconds() -> int:
    return settings.BADGE_POLL_SECONDS


def explorer_tx_url(tx_hash: str) -> str:
    return f"{explorer_url()}/tx/{tx_hash}"


def explorer_block_url(number: int) -> str:
    return f"{explorer_url()}/block/{number}"
