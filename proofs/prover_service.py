"""Clients of the proving services that take a Cairo PIE: Herodotus Atlantic and the SHARP gateway.

No Django here: the caller passes the URLs, the key and the timeouts (proofs.submission reads them
from settings). Every failure is one of two exceptions, so the caller can tell "try again later"
from "this will never work". The API key travels only in the ``api-key`` header and never appears
in an exception message.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import zipfile
from typing import ClassVar, Protocol

import httpx


class ProverServiceError(Exception):
    """A permanent refusal: retrying the same request cannot succeed."""


class NoCredits(ProverServiceError):
    """Atlantic answered 402: the account has no credits left for a query."""


class RetryableProverServiceError(ProverServiceError):
    """Network trouble, a timeout, a 5xx or 429, an unreadable answer: ask again later.

    ``maybe_processed`` is set when the request reached the service and only the answer was lost
    (read timeout, dropped connection, 5xx, unreadable body): a submission may then exist remotely.
    """

    def __init__(self, message: str, *, maybe_processed: bool = False):
        super().__init__(message)
        self.maybe_processed = maybe_processed


class RemoteStatus:
    QUEUED = "queued"  # accepted, not started
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class RemoteAnswer:
    status: str  # a RemoteStatus
    raw_status: str
    remote_id: str = ""
    program_hash: str = ""  # the task's program hash, as the service computed it
    integrity_fact_hash: str = ""
    error_reason: str = ""


class ProverService(Protocol):
    name: str

    def find(self, dedup_id: str) -> RemoteAnswer | None:
        """The query already made under ``dedup_id``, if the service keeps such a key; else None."""

    def submit(self, *, cairo_pie: bytes, layout: str, dedup_id: str) -> str: ...

    def poll(self, remote_id: str) -> RemoteAnswer: ...


# Some load balancers answer 404 while a backend restarts; 408/425/429 mean "later".
RETRYABLE_STATUS = frozenset({404, 408, 425, 429})


def _json(response: httpx.Response, what: str) -> dict:
    if response.status_code == 402:
        raise NoCredits(
            f"{what}: no credits (HTTP 402): the Atlantic project behind the API key has no credits left for a"
            " query; top up its credits, then retry the job"
        )
    if response.status_code >= 500 or response.status_code in RETRYABLE_STATUS:
        raise RetryableProverServiceError(
            f"{what}: HTTP {response.status_code}", maybe_processed=response.status_code >= 500
        )
    if response.status_code >= 400:
        raise ProverServiceError(f"{what}: HTTP {response.status_code}: {response.text[:500]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise RetryableProverServiceError(
            f"{what}: malformed JSON: {response.text[:200]!r}", maybe_processed=True
        ) from exc
    if not isinstance(body, dict):
        raise RetryableProverServiceError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _request(client: httpx.Client, method: str, url: str, what: str, **kwargs) -> dict:
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TransportError as exc:  # connect errors, timeouts, protocol errors
        never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
        raise RetryableProverServiceError(
            f"{what}: {type(exc).__name__}: {exc}", maybe_processed=not never_sent
        ) from exc
    return _json(response, what)


def pie_zip(cairo_pie: bytes) -> bytes:
    """cairo-lang already serializes a PIE as a zip archive; anything else is refused early."""
    if not zipfile.is_zipfile(io.BytesIO(cairo_pie)):
        raise ProverServiceError("the Cairo PIE is not a zip archive")
    return cairo_pie


# What Atlantic answers to a second query under a dedupId that a query which has not failed holds.
DEDUP_ID_TAKEN = "ATLANTIC_QUERY_WITH_DEDUP_ID_ALREADY_EXISTS"


class AtlanticClient:
    """Herodotus Atlantic: POST /atlantic-query, GET /atlantic-query/{id}, GET /atlantic-query-by-dedup-id.

    Every query carries a ``dedupId`` (our submission key), and a query is looked up by it before
    anything is sent, so an answer lost on the way back never turns into a second paid query (as
    the Madara orchestrator's Atlantic client does).
    """

    name = "atlantic"
    STATUSES: ClassVar[dict[str, str]] = {
        "RECEIVED": RemoteStatus.QUEUED,
        "IN_PROGRESS": RemoteStatus.IN_PROGRESS,
        "DONE": RemoteStatus.DONE,
        "FAILED": RemoteStatus.FAILED,
    }

    def __init__(self, *, base_url: str, api_key: str, network: str, job_size: str, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.network = network
        self.job_size = job_size
        self._api_key = api_key
        self.timeout = timeout

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, headers={"api-key": self._api_key})

    def find(self, dedup_id: str) -> RemoteAnswer | None:
        with self._client() as client:
            try:
                response = client.get(f"{self.base_url}/atlantic-query-by-dedup-id", params={"dedupId": dedup_id})
            except httpx.TransportError as exc:
                raise RetryableProverServiceError(f"Atlantic lookup: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 404:  # no query under this key: the service answers 404
            return None
        return self._answer(_json(response, "Atlantic lookup"), "Atlantic lookup")

    def submit(self, *, cairo_pie: bytes, layout: str, dedup_id: str) -> str:
        form = {
            "dedupId": dedup_id,
            "declaredJobSize": self.job_size,
            "layout": layout,
            "cairoVersion": "cairo0",
            "cairoVm": "python",
            "result": "PROOF_VERIFICATION_ON_L2",
            "network": self.network,
        }
        files = {"pieFile": ("pie.zip", pie_zip(cairo_pie), "application/zip")}
        with self._client() as client:
            try:
                body = _request(
                    client, "POST", f"{self.base_url}/atlantic-query", "Atlantic submit", data=form, files=files
                )
            except ProverServiceError as exc:
                if isinstance(exc, RetryableProverServiceError) or DEDUP_ID_TAKEN not in str(exc):
                    raise
                # A query under our key exists though the lookup missed it: the next lookup finds it.
                raise RetryableProverServiceError(f"Atlantic submit: {DEDUP_ID_TAKEN}") from exc
        query_id = body.get("atlanticQueryId")
        if not isinstance(query_id, str) or not query_id:
            raise RetryableProverServiceError(f"Atlantic submit: no atlanticQueryId in {sorted(body)}")
        return query_id

    def poll(self, remote_id: str) -> RemoteAnswer:
        with self._client() as client:
            body = _request(client, "GET", f"{self.base_url}/atlantic-query/{remote_id}", "Atlantic poll")
        return self._answer(body, "Atlantic poll")

    def _answer(self, body: dict, what: str) -> RemoteAnswer:
        query = body.get("atlanticQuery")
        if not isinstance(query, dict) or not isinstance(query.get("status"), str):
            raise RetryableProverServiceError(f"{what}: no atlanticQuery.status in the answer")
        raw = query["status"]
        if raw not in self.STATUSES:
            raise RetryableProverServiceError(f"{what}: unknown status {raw!r}")
        return RemoteAnswer(
            status=self.STATUSES[raw],
            raw_status=raw,
            remote_id=str(query.get("id") or ""),
            program_hash=str(query.get("programHash") or ""),
            integrity_fact_hash=str(query.get("integrityFactHash") or ""),
            error_reason=str(query.get("errorReason") or ""),
        )


class SharpGatewayClient:
    """The legacy SHARP gateway (cairo-lang's sharp client): add_job, get_status."""

    name = "sharp"
    STATUSES: ClassVar[dict[str, str]] = {
        "NOT_CREATED": RemoteStatus.QUEUED,
        "IN_PROGRESS": RemoteStatus.IN_PROGRESS,
        "PROCESSED": RemoteStatus.IN_PROGRESS,
        "ONCHAIN": RemoteStatus.DONE,
        "INVALID": RemoteStatus.FAILED,
        "FAILED": RemoteStatus.FAILED,
    }

    def __init__(self, *, base_url: str, timeout: float):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def find(self, dedup_id: str) -> RemoteAnswer | None:
        return None  # the gateway keeps no idempotency key

    def submit(self, *, cairo_pie: bytes, layout: str, dedup_id: str) -> str:
        request = {"action": "add_job", "request": {"cairo_pie": base64.b64encode(pie_zip(cairo_pie)).decode()}}
        with httpx.Client(timeout=self.timeout) as client:
            body = _request(client, "POST", f"{self.base_url}/add_job", "SHARP add_job", json=request)
        key = body.get("cairo_job_key")
        if not isinstance(key, str) or not key:
            raise RetryableProverServiceError(f"SHARP add_job: no cairo_job_key in {sorted(body)}")
        return key

    def poll(self, remote_id: str) -> RemoteAnswer:
        request = {"action": "get_status", "request": {"cairo_job_key": remote_id}}
        with httpx.Client(timeout=self.timeout) as client:
            body = _request(client, "POST", f"{self.base_url}/get_status", "SHARP get_status", json=request)
        raw = body.get("status")
        if raw == "UNKNOWN" or raw not in self.STATUSES:
            raise RetryableProverServiceError(f"SHARP get_status: status {raw!r}")
        return RemoteAnswer(
            status=self.STATUSES[raw],
            raw_status=raw,
            error_reason=str(body.get("error_log") or body.get("error") or ""),
        )
