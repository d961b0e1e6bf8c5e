"""Local image generation (Stable Diffusion Turbo through diffusers) for rerouted requests.

Imported lazily: torch and diffusers are an optional extra (`pixelgate[fallback]`).
Reroute is answered here once the fallback issue lands; until then the proxy treats every
reroute as `fallback.on_unavailable`.
"""
