"""What every command shares: the subcommand type, and reading the policy it names."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from proxy.policy import Policy

# Each command module has `add_commands(commands)`, which adds its parsers with
# `set_defaults(handler=FUNCTION)`; FUNCTION(args) returns the exit code. Heavy imports stay
# inside the handlers, so `pixelgate --help` stays instant.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
POLICY_HELP = "policy YAML (default: the bundled default policy)"


def load_policy_or_default(path: str | None) -> Policy:
    """The policy at `path`, or the bundled default policy; raises PolicyError."""
    from proxy.policy import bundled_policy_path, load_policy

    return load_policy(path or str(bundled_policy_path("default")))


def policy_or_exit(path: str | None) -> Policy:
    """The policy at `path` (or the default); exit 2 with the loader's message when broken."""
    from proxy.errors import PolicyError

    try:
        return load_policy_or_default(path)
    except PolicyError as e:
        print(f"pixelgate: {e}", file=sys.stderr)
        raise SystemExit(2) from None
