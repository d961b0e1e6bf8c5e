"""Loading a diffusers pipeline folder for the local fallback: offline, with clear reasons.

`load_generator` finds the folder, chooses the device (CUDA fp16 > MPS > CPU fp32) and builds
the text-to-image and image-to-image pipelines that `Generator` runs. Every failure becomes
`FallbackUnavailable` with our own wording, never a library's message.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from local_fallback.generator import NATIVE_SIZE, Generator, _translate
from proxy.errors import FallbackUnavailable

_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def load_generator(
    model: str, device: str = "auto", *, steps: int = 1, native_size: int = NATIVE_SIZE
) -> Generator:
    """Load a diffusers-format pipeline (a local folder, or an id already in the local Hugging
    Face cache) on `device` ("auto": CUDA fp16, else MPS fp32, else CPU fp32). Never touches the
    network. Raises FallbackUnavailable naming `model` when it cannot be used."""
    if steps < 1 or native_size < 8:
        raise ValueError("steps must be at least 1 and native_size at least 8")
    # Read by huggingface_hub at import: set before diffusers pulls it in.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    folder = _resolve_folder(model)
    options = _load_options(model, folder)
    try:
        import torch
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image
        from diffusers.utils import logging as diffusers_logging
        from transformers.utils import logging as transformers_logging
    except ImportError:
        raise FallbackUnavailable(
            f"fallback model {model}: torch/diffusers/transformers are not installed"
            " (install pixelgate[fallback])"
        ) from None
    # diffusers' loaders are not annotated: called through Any rather than loosening mypy.
    text2image_cls: Any = AutoPipelineForText2Image
    image2image_cls: Any = AutoPipelineForImage2Image
    logs: tuple[Any, ...] = (diffusers_logging, transformers_logging)
    for log in logs:
        log.disable_progress_bar()  # a server's stderr is no place for progress bars

    device = _resolve_device(torch, device, model)
    dtype = "float16" if device.startswith("cuda") else "float32"
    try:
        text2image = text2image_cls.from_pretrained(
            folder, dtype=getattr(torch, dtype), local_files_only=True, **options
        )
        text2image.to(device)
        text2image.set_progress_bar_config(disable=True)
        image2image = image2image_cls.from_pipe(text2image)
        image2image.set_progress_bar_config(disable=True)
        return Generator(
            text2image,
            image2image,
            device=device,
            dtype=dtype,
            model=model,
            steps=steps,
            native_size=native_size,
        )
    except Exception as e:
        raise _translate(e, f"loading {model} as a diffusers pipeline on {device}") from None


def _resolve_folder(model: str) -> Path:
    """The pipeline folder for `model`: a local folder, or a hub id already in the local cache."""
    folder = Path(model).expanduser()
    if not folder.exists() and _HUB_ID.fullmatch(model):
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(model, local_files_only=True))
        except Exception:  # any failure means: not cached
            raise FallbackUnavailable(
                f"fallback model {model}: no such folder, and not in the local Hugging Face cache"
            ) from None
    if not folder.exists():
        raise FallbackUnavailable(f"fallback model {model}: no such folder")
    if not folder.is_dir():
        raise FallbackUnavailable(f"fallback model {model}: not a folder")
    return folder


def _load_options(model: str, folder: Path) -> dict[str, Any]:
    """Check the folder before diffusers does, for a clear reason; extra load options."""
    index_file = folder / "model_index.json"
    if not index_file.is_file():
        raise FallbackUnavailable(
            f"fallback model {model}: not a diffusers pipeline folder (no model_index.json)"
        )
    try:
        index = json.loads(index_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        index = None
    if not isinstance(index, dict) or "_class_name" not in index:
        raise FallbackUnavailable(
            f"fallback model {model}: not a diffusers pipeline folder (unreadable model_index.json)"
        )
    options: dict[str, Any] = {}
    if "safety_checker" in index:
        # The proxy serves its own users' prompts; the checker costs memory and blanks images.
        options.update(safety_checker=None, requires_safety_checker=False)
    weights = [p.name for p in (folder / "unet").glob("*.safetensors")]
    if weights and all(name.endswith(".fp16.safetensors") for name in weights):
        options["variant"] = "fp16"  # an operator who downloaded only the fp16 files
    return options


def _resolve_device(torch: Any, device: str, model: str) -> str:
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
        "cpu": True,
    }
    if device == "auto":
        return next(kind for kind, ok in available.items() if ok)
    if not available.get(device.split(":", 1)[0], False):
        raise FallbackUnavailable(f"fallback model {model}: device {device!r} is not available")
    return device
