"""`pixelgate identities check|which|user-id`: the identities file, offline.

`check` loads the file and every policy it names, as the proxy would. `which` says which entry
and policy a user and/or client address get (looking groups up in the directory, if the file
names one). `user-id` prints the pseudonymous id the audit events carry for a name, under the
key in the environment: how an investigator with the key finds one person's events.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from proxy.cli.common import Commands


def add_commands(commands: Commands) -> None:
    identities = commands.add_parser(
        "identities", help="which policy applies to which users, groups and networks"
    )
    sub = identities.add_subparsers(dest="identities_command", required=True)
    check = sub.add_parser("check", help="validate an identities file and the policies it names")
    check.add_argument("file")
    check.set_defaults(handler=_check)
    which = sub.add_parser("which", help="the entry and policy a user or address gets")
    which.add_argument("file")
    which.add_argument("--user", help="the name proxy authentication would accept")
    which.add_argument("--address", help="the client's IP address")
    which.set_defaults(handler=_which)
    user_id = sub.add_parser(
        "user-id", help="the pseudonymous id audit events carry for a user name"
    )
    user_id.add_argument("user")
    user_id.add_argument(
        "--file", help="identities file (for user_ids.key_env; default PIXELGATE_USER_ID_KEY)"
    )
    user_id.set_defaults(handler=_user_id)


def _load(path: str) -> Any:
    from proxy.errors import PolicyError
    from proxy.identity.selection import load_identities

    try:
        return load_identities(path)
    except PolicyError as e:
        print(f"pixelgate: {e}", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    from proxy.errors import PolicyError
    from proxy.policy import load_policy

    identities = _load(args.file)
    if identities is None:
        return 2
    try:
        for path in identities.policies():
            load_policy(path)
    except PolicyError as e:
        print(f"pixelgate: {e}", file=sys.stderr)
        return 2
    print(
        f"{args.file}: OK ({len(identities.entries)} entries, "
        f"{len(identities.policies())} policies, "
        f"groups from {'the file and the directory' if identities.ldap else 'the file'})"
    )
    return 0


def _which(args: argparse.Namespace) -> int:
    from proxy.errors import PixelGateError
    from proxy.identity.selection import Identity, Selector

    identities = _load(args.file)
    if identities is None:
        return 2
    try:
        choice = Selector(identities).choose(Identity(args.user, args.address))
    except PixelGateError as e:
        print(f"pixelgate: {e}", file=sys.stderr)
        return 1
    print(f"{choice.name}: {choice.policy or 'the proxy --policy'}")
    return 0


def _user_id(args: argparse.Namespace) -> int:
    from proxy.engine.gate_set import DEFAULT_USER_ID_KEY_ENV
    from proxy.identity.selection import UserIds

    variable = DEFAULT_USER_ID_KEY_ENV
    if args.file:
        identities = _load(args.file)
        if identities is None:
            return 2
        variable = identities.key_env
    ids = UserIds.from_env(variable)
    if ids.ephemeral:
        print(f"pixelgate: {variable} is not set: ids are random per process", file=sys.stderr)
        return 2
    print(ids.of(args.user))
    return 0
