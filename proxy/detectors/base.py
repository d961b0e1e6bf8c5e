"""The detector contract: small, single-purpose, content-free results."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from proxy.model import Finding, ImageRequest


class Detector(ABC):
    """Finds one kind of personal data in a request.

    `detect` returns findings with positions and scores only; it never returns, stores or
    logs the matched content. It may raise: the pipeline turns any exception into an
    inspection failure, which the policy's `on_error` decides.
    """

    name: str = ""
    # True when a small request costs less to inspect than a hand-off to a worker thread.
    cheap: bool = False

    @abstractmethod
    def detect(self, request: ImageRequest) -> Sequence[Finding]: ...
