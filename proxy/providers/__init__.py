"""Provider adapters: an explicit tuple, one instance per provider.

A host belongs to the first adapter whose patterns match it.
"""

from __future__ import annotations

from proxy.providers.base import ProviderAdapter
from proxy.providers.bedrock import BedrockAdapter
from proxy.providers.bfl import BflAdapter
from proxy.providers.fal import FalAdapter
from proxy.providers.google import GoogleAdapter
from proxy.providers.huggingface import HuggingFaceAdapter
from proxy.providers.openai import OpenAIAdapter
from proxy.providers.replicate import ReplicateAdapter
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
    ReplicateAdapter(),
    BflAdapter(),
    StabilityAdapter(),
    BedrockAdapter(),
    HuggingFaceAdapter(),
    FalAdapter(),
    GoogleAdapter(),
)
