"""PixelGate: a privacy-auditing proxy for cloud AI image APIs."""

__version__ = "0.1.0"
