"""Local image generation (Stable Diffusion Turbo through diffusers) for rerouted requests.

A rerouted request never leaves the building: `load_generator(folder)` loads a diffusers-format
pipeline (stabilityai/sd-turbo, downloaded by the operator) and `Generator.generate` answers it
with PNGs of the requested size. Importing this package is cheap: torch and diffusers (the
`pixelgate[fallback]` extra) are imported only when a model is loaded.
"""

from local_fallback.generator import GenerationRequest, Generator
from local_fallback.loading import load_generator
from proxy.errors import FallbackUnavailable

__all__ = ["FallbackUnavailable", "GenerationRequest", "Generator", "load_generator"]
