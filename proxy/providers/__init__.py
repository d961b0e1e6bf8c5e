"""Provider adapters: an explicit tuple, one instance per provider.

A host belongs to the first adapter whose patterns match it.
"""

from __future__ import annotations

from proxy.providers.base import ProviderAdapter
from proxy.providers.openai import OpenAIAdapter
from proxy.providers.stability import StabilityAdapter

ADAPTERS: tuple[ProviderAdapter, ...] = (
    OpenAIAdapter(),
    # OpenAI-compatible services: the same adapter, told where their images are.
    OpenAIAdapter(
        "together",
        ("api.together.xyz", "api.together.ai"),
        image_keys=("image_url", "reference_images", "images", "mask"),
        base64_formats=("base64", "b64_json"),
    ),
    OpenAIAdapter("xai", ("api.x.ai", "*.api.x.ai"), image_keys=("image", "images", "mask")),
    StabilityAdapter(),
)
