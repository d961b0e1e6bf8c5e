"""`pixelgate policy check FILE`: a policy file validated as the proxy would load it.

`pixelgate policy test POLICY [CASES.yaml] [--junit OUT.xml]`: a policy's test cases.

Exit 0 when every case passes, 1 when any fails, 2 when the policy or the cases file is
broken. Heavy imports (detectors, pydantic) wait for the handler.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from proxy.cli.common import Commands, policy_or_exit


def add_commands(commands: Commands) -> None:
    policy = commands.add_parser("policy", help="policy tools")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_commands.add_parser("check", help="validate a policy file")
    check.add_argument("file")
    check.set_defaults(handler=lambda args: _policy_check(args.file))
    test = policy_commands.add_parser(
        "test",
        help="run a policy's test cases offline; exit 0 all pass, 1 any fails, 2 broken files",
        description="Each case (a prompt, images, other text fields) goes through the real "
        "detectors and the policy; its action (and rule, if given) must be the expected one. "
        "The local fallback counts as ready, so reroute rules report reroute.",
    )
    test.add_argument("policy", help="policy YAML, or a bundled policy's name (e.g. strict)")
    test.add_argument(
        "cases", nargs="?", help="cases YAML (default for a bundled policy: its bundled cases)"
    )
    test.add_argument("--junit", metavar="OUT.xml", help="also write the results as JUnit XML")
    test.set_defaults(handler=policy_test)


def policy_test(args: argparse.Namespace) -> int:
    from proxy.errors import PolicyError
    from proxy.offline.policy_cases import describe_failure, load_cases, run_cases, write_junit
    from proxy.policy import bundled_policy_names, bundled_policy_path, load_policy

    policy_path, cases_path = Path(args.policy), args.cases
    bundled = not policy_path.exists() and args.policy in bundled_policy_names()
    try:
        if bundled:
            policy_path = bundled_policy_path(args.policy)
        if cases_path is None:
            if not bundled:
                print("pixelgate policy test: give a cases file", file=sys.stderr)
                return 2
            cases_path = str(policy_path.parent / "cases" / f"{args.policy}.yaml")
        policy = load_policy(policy_path)
        cases = load_cases(cases_path)
    except PolicyError as e:
        print(f"pixelgate: {e}", file=sys.stderr)
        return 2
    results = run_cases(policy, cases)
    rows = [("CASE", "EXPECTED", "GOT", "RULE", "RESULT")]
    for r in results:
        expected = r.case.expect.value + (f" ({r.case.rule})" if r.case.rule else "")
        rows.append((r.case.name, expected, r.got.value, r.rule, "PASS" if r.passed else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for i, row in enumerate(rows):
        print("  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[4]]))
        if i and not results[i - 1].passed:
            for reason in results[i - 1].reasons:
                print(f"    why: {reason}")
    failed = [r for r in results if not r.passed]
    seconds = sum(r.seconds for r in results)
    print(
        f"{policy_path.name} with {Path(cases_path).name}: {len(results)} cases, "
        f"{len(results) - len(failed)} passed, {len(failed)} failed ({seconds:.1f} s)"
    )
    for r in failed:
        print(f"FAIL {r.case.name}: {describe_failure(r)}", file=sys.stderr)
    if args.junit:
        write_junit(results, policy_path.stem, args.junit)
    return 1 if failed else 0


def _policy_check(path: str) -> int:
    from proxy.providers import ADAPTERS
    from proxy.providers.routing import Router

    policy = policy_or_exit(path)
    try:
        Router(ADAPTERS, policy.providers)
    except ValueError as e:
        print(f"pixelgate: {e}", file=sys.stderr)
        return 2
    print(
        f"{path}: OK (mode {policy.mode}, on_error {policy.on_error}, "
        f"{len(policy.rules)} rules, {len(policy.recognizers)} recognizers)"
    )
    return 0
