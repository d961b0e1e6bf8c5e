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
