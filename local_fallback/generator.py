"""Stable Diffusion Turbo through diffusers: text-to-image and image-to-image, in-process.

torch and diffusers are imported inside functions only (5–9 s and ~1 GB): importing this module
is free. Library errors are translated here into `FallbackUnavailable`, whose message names the
model folder and the kind of failure but never echoes a library's text.
"""

from __future__ import annotations

import io
import math
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps

from proxy.errors import FallbackUnavailable

# SD Turbo's recipe (stabilityai/sd-turbo model card): adversarially distilled for 1–4 steps,
# trained without classifier-free guidance, at 512x512.
GUIDANCE_SCALE = 0.0
NATIVE_SIZE = 512


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: `n` images of exactly `width` x `height` from `prompt`, starting from
    `init_image` (encoded bytes) when it is an edit."""

    prompt: str
    n: int = 1
    width: int = 512
    height: int = 512
    seed: int | None = None
    init_image: bytes | None = None
    strength: float = 0.5


class Generator:
    """A loaded pipeline pair sharing one set of weights. `generate` is thread-safe (calls are
    serialised: diffusers pipelines keep per-call state) and returns PNGs of exactly the
    requested size; the same seed gives the same bytes on the same device."""

    def __init__(
        self,
        text2image: Any,
        image2image: Any,
        *,
        device: str,
        dtype: str,
        model: str,
        steps: int = 1,
        native_size: int = NATIVE_SIZE,
    ) -> None:
        self.device = device
        self.dtype = dtype
        self.model = model
        self.steps = steps
        self.native_size = native_size
        self._text2image = text2image
        self._image2image = image2image
        self._lock = threading.Lock()
        # Sides must divide by 8 (the pipelines check) and by the VAE factor times the UNet's
        # downsampling, so every UNet level has whole latents (64 for SD).
        vae_factor = int(getattr(text2image, "vae_scale_factor", 8))
        levels = len(text2image.unet.config.block_out_channels)
        self._multiple = math.lcm(8, vae_factor * 2 ** (levels - 1))

    def native_dims(self, width: int, height: int) -> tuple[int, int]:
        """Generation size for a requested output: its aspect ratio at the model's native pixel
        area, sides rounded to what the UNet accepts (1536x1024 -> 640x448 for SD Turbo)."""
        ratio = width / height
        area = self.native_size * self.native_size
        m = self._multiple
        w = max(m, round(math.sqrt(area * ratio) / m) * m)
        h = max(m, round(math.sqrt(area / ratio) / m) * m)
        return w, h

    def image2image_steps(self, strength: float) -> int:
        # diffusers runs int(steps * strength) denoising steps: at least one must remain.
        steps = self.steps
        while int(steps * strength) < 1:
            steps += 1
        return steps

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[list[bytes]]:
        """Text-to-image for several requests in ONE pipeline call (where a GPU gains): each
        request gets its own `n` PNGs of its own size from its own seed (the same latents as
        `generate`; on CPU pixels may differ by one level from batched float sums). All
        requests must be text-to-image with the same generation size (`native_dims`).
        Raises ValueError for an invalid batch or request and FallbackUnavailable when the
        model fails; either fails the whole batch."""
        if not requests:
            return []
        for request in requests:
            _validate(request)
            if request.init_image is not None:
                raise ValueError("generate_batch is text-to-image only")
        size = self.native_dims(requests[0].width, requests[0].height)
        if any(self.native_dims(r.width, r.height) != size for r in requests):
            raise ValueError("a batch must share one generation size")
        seeds = [secrets.randbits(63) if r.seed is None else r.seed for r in requests]
        try:
            images = self._run_batch(requests, size, seeds)
        except FallbackUnavailable:
            raise
        except Exception as e:
            raise _translate(e, f"generation with {self.model}") from None
        out: list[list[bytes]] = []
        start = 0
        for request in requests:
            fit = (request.width, request.height)
            chunk = images[start : start + request.n]
            out.append(
                [_encode_png(ImageOps.fit(im, fit, Image.Resampling.LANCZOS)) for im in chunk]
            )
            start += request.n
        return out

    def _run_batch(
        self, requests: Sequence[GenerationRequest], size: tuple[int, int], seeds: list[int]
    ) -> list[Image.Image]:
        import torch

        kind = "cpu" if self.device == "mps" else self.device
        prompts: list[str] = []
        rngs: list[Any] = []
        for request, seed in zip(requests, seeds, strict=True):
            # One generator per request, listed once per image: diffusers draws each image's
            # latents from its entry in order, so a request's n images come from its own seed.
            rng = torch.Generator(kind).manual_seed(seed)
            prompts += [request.prompt] * request.n
            rngs += [rng] * request.n
        with self._lock:
            out = self._text2image(
                prompt=prompts,
                num_images_per_prompt=1,
                width=size[0],
                height=size[1],
                num_inference_steps=self.steps,
                guidance_scale=GUIDANCE_SCALE,
                generator=rngs,
                output_type="pil",
            )
        return list(out.images)

    def generate(self, request: GenerationRequest) -> list[bytes]:
        """Raises ValueError for an invalid request (including an undecodable init image) and
        FallbackUnavailable when the model fails (out of memory, ...)."""
        _validate(request)
        size = self.native_dims(request.width, request.height)
        init = None if request.init_image is None else _decode_init(request.init_image, size)
        seed = secrets.randbits(63) if request.seed is None else request.seed
        try:
            images = self._run(request, size, init, seed)
        except FallbackUnavailable:
            raise
        except Exception as e:
            raise _translate(e, f"generation with {self.model}") from None
        out = (request.width, request.height)
        return [_encode_png(ImageOps.fit(im, out, Image.Resampling.LANCZOS)) for im in images]

    def _run(
        self, request: GenerationRequest, size: tuple[int, int], init: Image.Image | None, seed: int
    ) -> list[Image.Image]:
        import torch

        # MPS generators are not reproducible across torch versions; diffusers seeds on CPU there.
        rng = torch.Generator("cpu" if self.device == "mps" else self.device).manual_seed(seed)
        common: dict[str, Any] = {
            "prompt": request.prompt,
            "num_images_per_prompt": request.n,
            "guidance_scale": GUIDANCE_SCALE,
            "generator": rng,
            "output_type": "pil",
        }
        with self._lock:
            if init is None:
                out = self._text2image(
                    width=size[0], height=size[1], num_inference_steps=self.steps, **common
                )
            else:
                out = self._image2image(
                    image=init,
                    strength=request.strength,
                    num_inference_steps=self.image2image_steps(request.strength),
                    **common,
                )
        return list(out.images)


def _translate(error: Exception, doing: str) -> FallbackUnavailable:
    """Our reason for a library error: its kind, never its text."""
    name = type(error).__name__
    if "OutOfMemory" not in name and "out of memory" not in str(error).lower():
        return FallbackUnavailable(f"{doing} failed ({name})")
    try:
        import torch

        torch.cuda.empty_cache()  # give the next request a chance
    except Exception:
        pass
    return FallbackUnavailable(f"{doing}: out of memory")


def _validate(request: GenerationRequest) -> None:
    if request.n < 1:
        raise ValueError("n must be at least 1")
    if request.width < 1 or request.height < 1:
        raise ValueError("width and height must be positive")
    if not 0.0 < request.strength <= 1.0:
        raise ValueError("strength must be in (0, 1]")


def _decode_init(data: bytes, size: tuple[int, int]) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as opened:
            upright = ImageOps.exif_transpose(opened)
            return ImageOps.fit(upright.convert("RGB"), size, Image.Resampling.LANCZOS)
    except Exception:
        raise ValueError("init_image is not a decodable image") from None


def _encode_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
