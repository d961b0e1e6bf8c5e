"""`pixelgate run`: start the proxy."""

from __future__ import annotations

import argparse

from proxy.cli.common import POLICY_HELP, Commands


def add_commands(commands: Commands) -> None:
    run = commands.add_parser("run", help="start the proxy")
    run.add_argument("--policy", help=POLICY_HELP)
    run.add_argument(
        "--identities",
        help="identities YAML: the policy for each user, group or client network "
        "(default: the policy applies to everyone)",
    )
    run.add_argument("--listen-host", default="127.0.0.1", help="address to listen on")
    run.add_argument("--listen-port", type=int, default=8080, help="port (default 8080)")
    run.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a mitmproxy option, e.g. confdir=~/.pixelgate, ssl_insecure=true (repeatable)",
    )
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from proxy.mitm.runner import run_proxy

    settings = list(args.settings)
    if args.identities:
        settings.append(f"pixelgate_identities={args.identities}")
    return run_proxy(args.policy, args.listen_host, args.listen_port, settings)
