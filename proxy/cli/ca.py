"""`pixelgate ca path` and `pixelgate ca export`: the proxy's CA certificate for the machines
that must trust it (MDM, GPO, OS trust stores, language runtimes).

The CA lives in the proxy's config directory, created by mitmproxy on first start (or here,
when asked to export before the first start). Only the certificate ever leaves: the private key
is never printed, copied or exported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proxy.cli.common import Commands
from proxy.mitm.ca import BASENAME, DEFAULT_CONFDIR, certificate_path

_KEY_SIZE = 2048


def add_commands(commands: Commands) -> None:
    ca = commands.add_parser("ca", help="the proxy's CA certificate, for clients to trust")
    ca_commands = ca.add_subparsers(dest="ca_command", required=True)
    path = ca_commands.add_parser("path", help="print the path of the CA certificate (PEM)")
    path.add_argument("--confdir", default=DEFAULT_CONFDIR, help="default ~/.pixelgate")
    path.set_defaults(handler=_path)
    export = ca_commands.add_parser(
        "export", help="write the CA certificate, creating the CA first if there is none yet"
    )
    export.add_argument("--confdir", default=DEFAULT_CONFDIR, help="default ~/.pixelgate")
    export.add_argument("--format", choices=("pem", "der"), default="pem")
    export.add_argument("--out", help="file to write (default: standard output, PEM only)")
    export.set_defaults(handler=_export)


def _path(args: argparse.Namespace) -> int:
    cert = certificate_path(args.confdir)
    if not cert.exists():
        print(
            f"pixelgate: no CA yet in {cert.parent}: start the proxy once, or run "
            "`pixelgate ca export`",
            file=sys.stderr,
        )
        return 1
    print(cert)
    return 0


def _export(args: argparse.Namespace) -> int:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from mitmproxy.certs import CertStore

    confdir = Path(args.confdir).expanduser()
    confdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = CertStore.from_store(confdir, BASENAME, _KEY_SIZE)  # creates the CA if missing
    cert = x509.load_pem_x509_certificate(store.default_ca.to_pem())
    data = cert.public_bytes(Encoding.DER if args.format == "der" else Encoding.PEM)
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"CA certificate ({args.format.upper()}) written to {args.out}", file=sys.stderr)
    elif args.format == "der":
        print("pixelgate: DER is binary: give --out FILE", file=sys.stderr)
        return 2
    else:
        sys.stdout.write(data.decode("ascii"))
    return 0
