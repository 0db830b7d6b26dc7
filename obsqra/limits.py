"""Limits for anonymous load: request sizes, and per-client rates on the endpoints that cost us work.

Rates use django-ratelimit's counters in the shared cache (settings.RATE_LIMITS): exact with Redis
(atomic INCR); Django's database cache increments by read-then-write, so concurrent requests may pass a
few over the limit. django_ratelimit is not an installed app on purpose: its system check refuses the
database cache outright, which would stop a Redis-less install from starting at all.
"""

import ipaddress
import math
from functools import wraps

from django.conf import settings
from django_ratelimit.core import get_usage
from ninja import Schema

from registry.selectors import api_token_of_request

from .error_pages import error_response


def client_ip(request) -> str:
    """REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the outermost one appended.

    Entries left of those are whatever the client sent, so they are never trusted.
    """
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.TRUSTED_PROXY_COUNT and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        return hops[-min(settings.TRUSTED_PROXY_COUNT, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


def _client(request) -> tuple[str, str]:
    """(quota, counter key): an API token has its own quota; anyone else counts by address (IPv6 by /64,
    what one subscriber gets)."""
    token = api_token_of_request(request)
    if token is not None:
        return "token", f"token:{token.pk}"
    address = client_ip(request)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return "anonymous", f"address:{address}"
    network = ipaddress.ip_network(f"{parsed}/{64 if parsed.version == 6 else 32}", strict=False)
    return "anonymous", f"address:{network.network_address}"


class RateLimitedOut(Schema):
    detail: str


# for an operation's `response=`: the schema says a limited endpoint may answer 429
RATE_LIMITED_RESPONSE = {429: RateLimitedOut}


def rate_limited(group: str):
    """A view decorator (for django-ninja operations: ninja.decorators.decorate_view, so it runs before the
    body is parsed): beyond the client's rate for `group`, 429 with Retry-After and nothing done."""

    def decorator(view):
        @wraps(view)
        def limited(request, *args, **kwargs):
            quota, key = _client(request)
            rate = settings.RATE_LIMITS[group][quota]
            usage = get_usage(request, group=group, key=lambda _group, _request: key, rate=rate, increment=True)
            if usage is not None and usage["should_limit"]:
                retry_after = max(1, math.ceil(usage["time_left"]))
                response = error_response(
                    request, 429, f"rate limit of {rate} for {quota} clients reached; retry in {retry_after} s"
                )
                response["Retry-After"] = str(retry_after)
                return response
            return view(request, *args, **kwargs)

        return limited

    return decorator


class RequestSizeLimitMiddleware:
    """Refuses a request whose declared body exceeds REQUEST_MAX_BYTES before anything reads it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body for a malformed length
        if length > settings.REQUEST_MAX_BYTES:
            return error_response(request, 413, f"the request is larger than {settings.REQUEST_MAX_BYTES} bytes")
        return self.get_response(request)
