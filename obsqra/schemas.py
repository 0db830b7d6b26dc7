"""Field types the apps' API schemas share, so each rule on untrusted input is written once.

Their constraints go into the OpenAPI schema too: clients and schema-driven tests see the rule that answers 422.
"""

from typing import Annotated

from django.db.models import TextChoices
from pydantic import Field, WithJsonSchema

# PostgreSQL text cannot hold NUL, and no other C0/C1 control character or DEL is ever meant in our input;
# prose keeps tab and line breaks.
Text = Annotated[str, Field(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")]

# Names that end up in URLs, logs and pages (versions, policies): letters, digits and . _ + - only.
Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9._+-]+$")]


def choices(enum: type[TextChoices], name: str):
    """An enum field with an inline schema titled `name`: ninja files every schema's definitions under the class's
    bare name, so two TextChoices both called Status would otherwise share one OpenAPI component."""
    return Annotated[enum, WithJsonSchema({"title": name, "type": "string", "enum": list(enum.values)})]
