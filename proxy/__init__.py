"""PixelGate: a privacy-auditing proxy for cloud AI image APIs."""

import os

__version__ = "0.1.0"

# Libraries that would otherwise write to the home directory or reach out to the network:
# onnxruntime keeps a telemetry store under ~/.cache/Microsoft, Hugging Face sends telemetry,
# tldextract (Presidio's email and URL recognizers) fetches the public suffix list and caches
# it under ~/.cache. PixelGate writes only its audit file and uses the bundled suffix list.
# Set before any of them is imported; an operator's explicit setting wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("TLDEXTRACT_CACHE", "")
