"""`pixelgate ca`: the CA certificate for clients, never its key."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from cryptography import x509


def pixelgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "proxy", *args], capture_output=True, text=True, timeout=60
    )


def test_export_creates_the_ca_and_writes_pem_and_der(tmp_path: Path) -> None:
    confdir = tmp_path / "conf"
    assert pixelgate("ca", "path", "--confdir", str(confdir)).returncode == 1
    pem = pixelgate("ca", "export", "--confdir", str(confdir))
    assert pem.returncode == 0, pem.stderr
    cert = x509.load_pem_x509_certificate(pem.stdout.encode())
    assert "PRIVATE KEY" not in pem.stdout
    der = tmp_path / "ca.cer"
    assert pixelgate("ca", "export", "--confdir", str(confdir), "--format", "der",
                     "--out", str(der)).returncode == 0  # fmt: skip
    assert x509.load_der_x509_certificate(der.read_bytes()) == cert
    path = pixelgate("ca", "path", "--confdir", str(confdir))
    assert path.returncode == 0 and Path(path.stdout.strip()).read_bytes() == pem.stdout.encode()
    for key in confdir.glob("*.pem"):
        if b"PRIVATE KEY" in key.read_bytes():
            assert stat.S_IMODE(key.stat().st_mode) & 0o077 == 0


def test_der_needs_a_file(tmp_path: Path) -> None:
    result = pixelgate("ca", "export", "--confdir", str(tmp_path), "--format", "der")
    assert result.returncode == 2 and "--out" in result.stderr
