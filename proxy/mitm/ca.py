"""Where the proxy's CA lives, and what the proxy tells operators about trusting it.

mitmproxy creates the CA in the config directory on first start; PixelGate's default config
directory is its own, so it never shares a CA with a plain mitmproxy on the same machine.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_CONFDIR = "~/.pixelgate"
BASENAME = "mitmproxy"  # mitmproxy's file names: mitmproxy-ca-cert.pem, mitmproxy-ca.pem


def certificate_path(confdir: str) -> Path:
    return Path(confdir).expanduser() / f"{BASENAME}-ca-cert.pem"


def trust_hint(confdir: str) -> str:
    """What the proxy logs at start: where its CA is, and how clients come to trust it."""
    ca = certificate_path(confdir)
    return (
        f"PixelGate CA certificate: {ca}\n"
        "  Clients must trust it for provider hosts and connections by IP address without a\n"
        "  server name (other hosts keep their own certificates):\n"
        "  Python: add it to a bundle with certifi's roots, then SSL_CERT_FILE=<bundle>\n"
        f"  Node:   NODE_EXTRA_CA_CERTS={ca}\n"
        f"  curl:   --cacert {ca}\n"
        "  OS stores, MDM and more: see README, 'Point clients at the proxy'"
    )
