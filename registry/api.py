from datetime import datetime

from ninja import Path, Router, Schema, Status
from pydantic import ConfigDict, Field

from allocations.risk import ModelParams
from obsqra.schemas import Identifier, Text

from . import selectors, services
from .auth import staff_only
from .models import ModelVersion

router = Router(tags=["model registry"])


class ModelVersionOut(Schema):
    version: str
    model_hash: str
    family: str
    parameters: ModelParams
    description: str
    registered_by: str | None
    registered_at: datetime
    is_current: bool

    @staticmethod
    def resolve_registered_by(obj: ModelVersion) -> str | None:
        return obj.registered_by.get_username() if obj.registered_by else None


class ModelVersionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    version: Identifier = Field(max_length=64, description="semantic version, e.g. 2.1.0")
    parameters: ModelParams
    description: Text = Field("", max_length=10_000)
    activate: bool = Field(False, description="make this the current version")


@router.get("/current", response=ModelVersionOut)
def current(request):
    return selectors.current_model_version()


@router.get("/history", response=list[ModelVersionOut])
def history(request):
    return selectors.model_version_history()


@router.get("/version/{version}", response=ModelVersionOut)
def version_detail(request, version: Path[Identifier]):
    return selectors.model_version_get(version)


@router.post("/register", response={201: ModelVersionOut}, auth=staff_only)
def register(request, payload: ModelVersionIn):
    model_version = services.model_version_register(
        version=payload.version,
        parameters=payload.parameters,
        description=payload.description,
        registered_by=request.user,
        activate=payload.activate,
    )
    return Status(201, model_version)
