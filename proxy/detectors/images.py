"""Image detectors inside the pipeline: decode once, inspect each upload once.

Each `ImageDetector` is wrapped as a pipeline `Detector`, so the pipeline times it, orders
it (cheap ones first) and stops early when the decision can no longer change. Uploads are
identified by a hash of their bytes and declared type: the decoded image is shared between
the detectors of one request, and findings are remembered for repeated uploads of the same
image (under the same declared type, which decoding checks against the bytes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace

from proxy.cache import BoundedCache
from proxy.detectors.base import Detector
from proxy.detectors.image_base import ImageDetector
from proxy.images.model import DecodedImage
from proxy.model import Finding, ImagePart, ImageRequest
from proxy.policy import Limits


def digest(part: ImagePart) -> str:
    """The key of an upload: its bytes and its declared type, because decoding checks that
    the type matches the bytes, and the same bytes under another type must be checked again."""
    declared = (part.content_type or "").encode("utf-8", "surrogatepass")
    # Length first: no (bytes, type) pair can be spelled as another pair.
    sha = hashlib.sha256(len(declared).to_bytes(8, "big") + declared)
    sha.update(part.data)
    return sha.hexdigest()


class ImageDecoder:
    """Decodes uploads within the policy's limits; the last few stay decoded."""

    def __init__(self, limits: Limits, keep: int = 4) -> None:
        self.limits = limits
        self._decoded: BoundedCache[tuple[str, int], DecodedImage] = BoundedCache(keep)

    def decode(self, part: ImagePart, index: int) -> DecodedImage:
        from proxy.images.decode import decode_image

        key = (digest(part), index)
        image = self._decoded.get(key)
        if image is None:
            image = decode_image(
                part.data,
                index,
                max_pixels=self.limits.max_image_pixels,
                max_frames=self.limits.max_image_frames,
                declared_type=part.content_type,
            )
            self._decoded.put(key, image)
        return image


class ImageDetectorStage(Detector):
    """One image detector over every image of a request."""

    def __init__(self, inner: ImageDetector, decoder: ImageDecoder, remember: int = 512) -> None:
        self.inner = inner
        self.name = inner.name
        self.decoder = decoder
        self._seen: BoundedCache[str, tuple[Finding, ...]] = BoundedCache(remember)

    def detect(self, request: ImageRequest) -> Sequence[Finding]:
        findings: list[Finding] = []
        for index, part in enumerate(request.images):
            key = digest(part)
            known = self._seen.get(key)
            if known is None:
                known = tuple(self.inner.detect_image(self.decoder.decode(part, index)))
                self._seen.put(key, known)
            findings.extend(replace(f, part=index) for f in known)
        return findings
