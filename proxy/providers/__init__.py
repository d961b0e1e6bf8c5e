"""Provider adapters: an explicit tuple, one instance per provider."""

from __future__ import annotations

from proxy.providers.base import ProviderAdapter
from proxy.providers.openai import OpenAIAdapter

ADAPTERS: tuple[ProviderAdapter, ...] = (OpenAIAdapter(),)
