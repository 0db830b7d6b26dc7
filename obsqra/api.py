"""The JSON API root: mounts each app's router and turns domain errors into JSON in one place."""

from ninja import NinjaAPI

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
