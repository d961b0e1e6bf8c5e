"""The `pixelgate` command: run the proxy, scan offline, check policies, report, and more.

Each command lives in its own module beside this one (see `proxy.cli.common`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from proxy import __version__
from proxy.cli import ca, fallback, identity, policy, report, run, scan

COMMANDS = (run, scan, fallback, policy, ca, report, identity)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixelgate", description="Privacy-auditing proxy for cloud AI image APIs."
    )
    parser.add_argument("--version", action="version", version=f"pixelgate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from proxy.mitm import logsafe

    logsafe.install()  # libraries' records may quote request content; see proxy/mitm/logsafe.py
    args = _parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
