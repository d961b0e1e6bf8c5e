"""PixelGate's own small set of exceptions.

Library errors are translated into these at the boundary. Every message is content-free:
it may name a field, a format or a limit, never a value taken from a request.
"""

from __future__ import annotations


class PixelGateError(Exception):
    """Base class. `status` and `code` say how a client is answered."""

    status = 500
    code = "pixelgate_error"
    kind = "pixelgate_error"
    forwardable = True  # False: never forwarded uninspected, whatever `on_error` says


class RequestRejected(PixelGateError):
    """The request cannot be inspected as sent; the client gets a clear error."""

    status = 400
    code = "pixelgate_malformed_request"
    kind = "invalid_request_error"


class MalformedRequest(RequestRejected):
    """The body does not parse as the provider's format (bad JSON, broken multipart, ...)."""


class UnsupportedEndpoint(RequestRejected):
    """A provider host, but a method or path this adapter does not understand."""

    status = 403
    code = "pixelgate_unsupported_endpoint"


class RequestTooLarge(RequestRejected):
    """A policy limit (bytes, prompt length, images) was exceeded."""

    status = 413
    code = "pixelgate_request_too_large"


class InspectionFailed(PixelGateError):
    """A detector or the pipeline failed; the request was not fully inspected."""

    status = 502
    code = "pixelgate_inspection_failed"
    kind = "server_error"


class InspectionTimeout(InspectionFailed):
    """Inspection ran past the policy's `limits.inspection_timeout_s`."""

    status = 504
    code = "pixelgate_inspection_timeout"


class PolicyError(PixelGateError):
    """A policy file is invalid. The message names the file, the line and the field."""

    def __init__(self, path: str, line: int | None, field: str, message: str) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class DestinationMismatch(RequestRejected):
    """The names a request gives for its destination disagree, and one is a provider host."""

    status = 421
    code = "pixelgate_destination_mismatch"
    forwardable = False


class InternalError(InspectionFailed):
    """PixelGate itself failed while deciding a request's fate: never forwarded."""

    code = "pixelgate_internal_error"
    forwardable = False


class RemoteImageRefused(RequestRejected):
    """An image link that PixelGate will not or could not fetch."""

    status = 403
    code = "pixelgate_remote_image"


class IdentityLookupFailed(InspectionFailed):
    """The directory could not say who the user is, so which policy applies is unknown: the
    request is refused, never guessed and never forwarded, whatever `on_error` says."""

    status = 503
    code = "pixelgate_identity_lookup_failed"
    kind = "server_error"
    forwardable = False


# Not PixelGateErrors: none of these is answered to a client as it is. Each is turned into an
# answer (or a stop) by the one place that catches it.


class AuditSinkError(Exception):
    """The audit file could not be written: the proxy stops rather than let traffic through
    unrecorded (never turned into a verdict, so never caught as a PixelGateError)."""


class CannotRedact(Exception):
    """A finding that no redactor covers (e.g. an image finding before image redaction): the
    pipeline blocks instead of forwarding."""


class CaptureError(Exception):
    """A capture file (flow dump or HAR) that `pixelgate audit-flows` cannot read."""


class FallbackUnavailable(Exception):
    """The local model cannot answer: missing folder, not a diffusers pipeline, out of memory,
    a remote fallback service unreachable. The message says why in our own words; it never
    contains prompts, images or library text."""


class FallbackBusy(FallbackUnavailable):
    """The fallback's queue is full (local, or the remote service's): a client should retry
    after `retry_after` seconds (at least 1)."""

    def __init__(self, retry_after: int, message: str = "the local image model is busy") -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)
