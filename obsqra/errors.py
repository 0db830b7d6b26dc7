"""Typed domain errors carrying their HTTP status; obsqra.api turns them into JSON in one place."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: tuple[str, ...] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404


class InvalidInput(DomainError):
    """Rejected input the schema could not catch (uniqueness, cross-record rules)."""

    status_code = 422


class Conflict(DomainError):
    status_code = 409


class Gone(DomainError):
    """The thing existed but is withdrawn for good (a proof that proves nothing)."""

    status_code = 410
