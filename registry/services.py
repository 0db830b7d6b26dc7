from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from allocations.risk import ModelParams
from obsqra.errors import InvalidInput

from .models import ModelVersion
from .selectors import model_version_get


@transaction.atomic
def model_version_register(
    *,
    version: str,
    parameters: ModelParams,
    description: str = "",
    registered_by: AbstractBaseUser | None = None,
    activate: bool = False,
) -> ModelVersion:
    model_version = ModelVersion(
        version=version,
        parameters=parameters.model_dump(mode="json"),
        description=description,
        registered_by=registered_by,
    )
    try:
        model_version.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(f"{field}: {' '.join(messages)}", field=(field,)) from None
    model_version.save()
    if activate:
        model_version_activate(version=version)
        model_version.refresh_from_db()
    return model_version


@transaction.atomic
def model_version_activate(*, version: str) -> ModelVersion:
    """Make one version current; the partial unique index keeps it exactly one."""
    target = model_version_get(version)
    # Lock every row so two concurrent activations serialise instead of racing.
    list(ModelVersion.objects.select_for_update().values_list("pk", flat=True))
    ModelVersion.objects.filter(is_current=True).exclude(pk=target.pk).update(is_current=False)
    ModelVersion.objects.filter(pk=target.pk).update(is_current=True)
    target.is_current = True
    return target

