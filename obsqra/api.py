"""The JSON API root: mounts each app's router and turns domain errors into JSON in one place."""

import inspect
from functools import wraps

from ninja import NinjaAPI
from ninja.openapi.schema import BODY_CONTENT_TYPES

from allocations.api import router as risk_engine_router
from allocations.api_events import router as events_router
from proofs.api import router as proofs_router
from proofs.api_verification import router as verification_router
from registry.api import router as model_registry_router

from .errors import DomainError

api = NinjaAPI(
    title="Obsqra API",
    version="1.0.0",
    description="Verifiable risk decisions for DeFi on Starknet: scores, allocations and their STARK proofs.",
    urls_namespace="api-v1",
)


def _media_type_required(run):
    """A request body must be of the one media type its operation's schema names: ninja itself parses any body as
    JSON whatever its Content-Type, so a text/plain form post could store a decision."""
    # an API-wide "view" decorator wraps each operation's bound run(), perhaps already decorated (rate limits)
    operation = inspect.unwrap(run).__self__
    sources = {model.__ninja_param_source__ for model in operation.models} & BODY_CONTENT_TYPES.keys()
    # several body parts (a file and fields) travel as one multipart body, as in ninja's request_body()
    expected = BODY_CONTENT_TYPES[sources.pop() if len(sources) == 1 else "file"] if sources else None

    @wraps(run)
    def checked(request, **kwargs):
        if expected and request.content_type != expected:
            detail = f"the request body must be {expected}, not {request.content_type or 'untyped'}"
            return api.create_response(request, {"detail": detail}, status=415)
        return run(request, **kwargs)

    return checked


api.add_decorator(_media_type_required, mode="view")
api.add_router("/risk-engine", risk_engine_router)
api.add_router("/model-registry", model_registry_router)
api.add_router("/proofs", proofs_router)
api.add_router("/verification", verification_router)
api.add_router("/events", events_router)


@api.exception_handler(DomainError)
def domain_error(request, exc: DomainError):
    if exc.field and exc.status_code == 422:
        # Same shape as ninja's own validation errors, so clients parse one format.
        detail = [{"loc": ["body", *exc.field], "msg": exc.message, "type": "value_error"}]
    else:
        detail = exc.message
    return api.create_response(request, {"detail": detail}, status=exc.status_code)
