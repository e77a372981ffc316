"""One error hierarchy for every provider, keyed on the body ``code`` (or the HTTP status).

Every error carries a message a person can act on (``user_message``), the provider's own text
(``provider_message``) and the code. None of them ever carries the API key: the request URL
kept here has no credentials, and headers are never stored.
"""

from __future__ import annotations

import enum


class ApiError(Exception):
    """Base of every error the API layer raises."""

    #: what a person should read; subclasses give a default
    default_message = "The provider answered with an error."

    def __init__(
        self,
        user_message: str | None = None,
        *,
        code: int | None = None,
        http_status: int | None = None,
        provider_message: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        self.user_message = user_message or self.default_message
        self.code = code
        self.http_status = http_status
        self.provider_message = provider_message
        self.method = method
        self.url = url
        super().__init__(self.user_message)

    @property
    def retryable(self) -> bool:
        """True where repeating an *idempotent* request later may succeed."""
        return False

    def __str__(self) -> str:
        parts = [self.user_message]
        if self.provider_message and self.provider_message not in self.user_message:
            parts.append(f"(provider said: {self.provider_message})")
        if self.code is not None:
            parts.append(f"[code {self.code}]")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r}, "
            f"provider_message={self.provider_message!r}, method={self.method!r}, url={self.url!r})"
        )


class BadRequestError(ApiError):
    """400: the request was wrong, or the content was rejected."""

    default_message = "The provider rejected the request. Check the prompt, images and settings."


class InvalidRequestError(BadRequestError, ValueError):
    """Refused on the client before anything was sent (e.g. Runway 10 s with 1080p).

    Also a ``ValueError`` so plain validation code can catch it; ``field`` names the request
    field at fault. Nothing reached the provider, so nothing was billed.
    """

    default_message = "The request is not valid; nothing was sent."

    def __init__(self, user_message: str | None = None, *, field: str | None = None, **kw: object) -> None:
        super().__init__(user_message, **kw)  # type: ignore[arg-type]
        self.field = field


class ContentRejectedError(BadRequestError):
    """400 content-policy or language rejection (Veo, Runway moderation)."""

    default_message = (
        "The provider's content filter rejected this prompt or image. Rephrase the prompt or use "
        "another image; no video was made."
    )


class AuthError(ApiError):
    """401: the key is missing or wrong."""

    default_message = "The API key was not accepted. Open Settings and enter a valid key."


class InsufficientCreditsError(ApiError):
    """402: the account has no credits for this request."""

    default_message = "Not enough credits for this request. Top up your account, then try again."


class NotFoundError(ApiError):
    """404: the task, file or endpoint does not exist."""

    default_message = "The provider does not know this task or file."


class ValidationKind(enum.Enum):
    """The distinct meanings of kie.ai's 422 texts."""

    RECORD_NULL = "record is null"
    RECORD_EXPIRED = "records within 14 days"
    NOT_SUCCESS_YET = "record status is not success"
    RESULT_MISSING = "record result data"  # blank / not exist / empty
    FLOW_REJECTED = "rejected by Flow"
    FOURK_PROCESSING = "4k is processing"
    FOURK_DONE = "generated successfully"
    BAD_PARAMETERS = "parameters are incorrect"
    EXTERNAL_URL = "external url"
    OTHER = "other"

    @classmethod
    def from_message(cls, msg: str | None) -> ValidationKind:
        low = (msg or "").lower()
        for kind in cls:
            if kind is not cls.OTHER and kind.value.lower() in low:
                return kind
        return cls.OTHER


class ValidationError(ApiError):
    """422: a validation answer; ``kind`` tells which of its meanings."""

    default_message = "The provider could not process this request."

    def __init__(self, user_message: str | None = None, **kw: object) -> None:
        super().__init__(user_message, **kw)  # type: ignore[arg-type]
        self.kind = ValidationKind.from_message(self.provider_message)


class RecordExpiredError(ValidationError):
    """422 'Temporarily supports records within 14 days.'"""

    default_message = "The provider keeps tasks for 14 days; this one is older and can no longer be read."


class RateLimitError(ApiError):
    """429: too many requests; the request was rejected, not queued."""

    default_message = "The provider is rate limiting requests. kievideo will try again shortly."

    def __init__(
        self, user_message: str | None = None, *, retry_after: float | None = None, **kw: object
    ) -> None:
        super().__init__(user_message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return True


class ImageFetchError(ApiError):
    """451: the provider could not fetch an input image."""

    default_message = (
        "The provider could not download an input image. Use a public, non-expiring link or let "
        "kievideo upload the file."
    )


class MaintenanceError(ApiError):
    """455: the service is under maintenance."""

    default_message = "The provider is under maintenance. Try again later."

    @property
    def retryable(self) -> bool:
        return True


class ServerError(ApiError):
    """500 (and other 5xx): a fault on the provider's side."""

    default_message = "The provider had an internal error. Try again in a few minutes."

    @property
    def retryable(self) -> bool:
        return True


class GenerationFailedError(ApiError):
    """501: the generation task failed."""

    default_message = "The provider could not generate this video."


class FeatureDisabledError(ApiError):
    """505: the feature is disabled for this account or model."""

    default_message = "This feature is disabled by the provider for your account."


class TransportError(ApiError):
    """No usable HTTP answer: connection refused, reset, timeout, TLS failure."""

    default_message = "Could not reach the provider. Check your network connection."

    def __init__(
        self, user_message: str | None = None, *, may_have_reached_server: bool = True, **kw: object
    ) -> None:
        super().__init__(user_message, **kw)  # type: ignore[arg-type]
        #: False only when the connection never opened, so nothing was sent
        self.may_have_reached_server = may_have_reached_server

    @property
    def retryable(self) -> bool:
        return True


class AmbiguousSubmitError(ApiError):
    """A paid create may have reached the server, but no usable answer came back.

    It is never retried automatically: retrying could bill twice. The task may exist; the user
    is told to check the provider's logs before trying again.
    """

    default_message = (
        "The request may have reached the provider, but no answer came back. It may have been "
        "submitted (and billed): check your provider's task logs before trying again."
    )


class MalformedResponseError(ApiError):
    """The answer could not be understood (not JSON, missing fields, wrong types)."""

    default_message = "The provider sent an answer kievideo could not understand."

    @property
    def retryable(self) -> bool:
        return True


_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: AuthError,
    402: InsufficientCreditsError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitError,
    451: ImageFetchError,
    455: MaintenanceError,
    500: ServerError,
    501: GenerationFailedError,
    505: FeatureDisabledError,
}

_CONTENT_HINTS = (
    "content polic",
    "flagged",
    "moderat",
    "inappropriate",
    "nsfw",
    "unsafe",
    "english prompts",
    "prominent people",
    "minor upload",
)


def error_for_code(
    code: int,
    provider_message: str | None,
    *,
    http_status: int | None = None,
    method: str | None = None,
    url: str | None = None,
    retry_after: float | None = None,
) -> ApiError:
    """Build the error for a body ``code`` (or an HTTP status where the body has none)."""
    low = (provider_message or "").lower()
    cls: type[ApiError]
    if code == 400 and any(h in low for h in _CONTENT_HINTS):
        cls = ContentRejectedError
    elif code == 400 and "failed to fetch the image" in low:
        cls = ImageFetchError
    elif code == 422 and ValidationKind.from_message(provider_message) is ValidationKind.RECORD_EXPIRED:
        cls = RecordExpiredError
    elif code in _BY_CODE:
        cls = _BY_CODE[code]
    elif 500 <= code < 600:
        cls = ServerError
    elif 400 <= code < 500:
        cls = BadRequestError
    else:
        cls = ApiError
    kw: dict[str, object] = dict(
        code=code, http_status=http_status, provider_message=provider_message, method=method, url=url
    )
    if cls is RateLimitError:
        return RateLimitError(retry_after=retry_after, **kw)  # type: ignore[arg-type]
    return cls(**kw)  # type: ignore[arg-type]
