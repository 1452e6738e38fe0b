"""The errors a client can see. Each maps to one HTTP status and a list of messages."""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    default = "Internal server error"

    def __init__(
        self, *messages: str, headers: dict[str, str] | None = None, beside: dict[str, int] | None = None
    ) -> None:
        self.messages = list(messages) or [self.default]
        self.headers = headers or {}
        self.beside = beside or {}  # what the error body carries beside its messages (merged_into)
        super().__init__("; ".join(self.messages))


class BadRequest(ApiError):
    status, default = 400, "Malformed request"


class Unauthorized(ApiError):
    status, default = 401, "Invalid or missing API key"


class Forbidden(ApiError):
    status, default = 403, "This key is not allowed to do that"


class NotFound(ApiError):
    status, default = 404, "Not found"


class MethodNotAllowed(ApiError):
    status, default = 405, "Method not allowed"


class NotAcceptable(ApiError):
    status, default = 406, "Acceptable formats: application/json, application/xml"


class Conflict(ApiError):
    status, default = 409, "The resource was changed by someone else; reload it and try again"


class Gone(ApiError):
    status, default = 410, "Gone"


class PayloadTooLarge(ApiError):
    status, default = 413, "Request body too large"


class UnsupportedMediaType(ApiError):
    status, default = (
        415,
        "Send application/json, application/xml or application/x-www-form-urlencoded",
    )


class Unprocessable(ApiError):
    status, default = 422, "Invalid fields"


class TooManyRequests(ApiError):
    status, default = 429, "Too many requests; retry later"

    def __init__(self, *messages: str, retry_after: int = 1) -> None:
        super().__init__(*messages, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ApiError):
    status, default = 503, "Storage is busy; retry shortly"

    def __init__(self, *messages: str, retry_after: int = 1) -> None:
        super().__init__(*messages, headers={"Retry-After": str(retry_after)})
