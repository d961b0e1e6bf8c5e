"""The identities file: loading (errors with file, line and field) and choosing a policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.errors import IdentityLookupFailed, PolicyError
from proxy.identity.selection import (
    Identity,
    Selector,
    UserIds,
    load_identities,
)
from proxy.policy import bundled_policy_path

IDENTITIES = """version: 1
groups:
  Legal: [carol, dan]
  research: [erin]
select:
  - name: legal
    groups: [legal]
    policy: strict
  - name: lab
    networks: [10.20.0.0/16, "fd00::/8"]
    policy: lab.yaml
  - name: erin-in-lab
    users: [erin]
    networks: [10.30.0.0/16]
    policy: audit-only
  - name: research
    groups: [research]
    policy: policies/research.yml
default: default
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "identities.yaml"
    path.write_text(text)
    return path


def test_entries_choose_by_group_network_and_user_in_file_order(tmp_path: Path) -> None:
    selector = Selector(load_identities(write(tmp_path, IDENTITIES)))
    choose = selector.choose
    assert choose(Identity("carol", "10.20.1.1")).name == "legal"  # the first match wins
    assert choose(Identity("frank", "10.20.1.1")).name == "lab"
    assert choose(Identity(None, "fd00::5")).name == "lab"
    assert choose(Identity("erin", "10.30.0.9")).name == "erin-in-lab"
    assert choose(Identity("erin", "192.0.2.1")).name == "research"  # not in 10.30/16
    assert choose(Identity("frank", "192.0.2.1")).name == "default"
    assert choose(Identity(None, None)).name == "default"
    assert choose(Identity(" CAROL", None)).name == "legal"  # names compare as LDAP does


def test_policies_resolve_to_bundled_names_or_files_beside_the_identities_file(
    tmp_path: Path,
) -> None:
    identities = load_identities(write(tmp_path, IDENTITIES))
    policies = dict((e.name, e.policy) for e in identities.entries)
    assert policies["legal"] == str(bundled_policy_path("strict"))
    assert policies["lab"] == str(tmp_path.resolve() / "lab.yaml")
    assert policies["research"] == str(tmp_path.resolve() / "policies" / "research.yml")
    assert identities.default == str(bundled_policy_path("default"))
    assert len(identities.policies()) == 5  # each once, default first


def test_an_ipv4_client_seen_through_a_dual_stack_socket_matches_its_network(
    tmp_path: Path,
) -> None:
    selector = Selector(load_identities(write(tmp_path, IDENTITIES)))
    assert selector.choose(Identity(None, "::ffff:10.20.3.4")).name == "lab"
    assert selector.choose(Identity(None, "not an address")).name == "default"


def test_without_a_default_the_proxy_policy_applies(tmp_path: Path) -> None:
    text = "version: 1\nselect:\n  - {name: a, users: [x], policy: strict}\n"
    identities = load_identities(write(tmp_path, text))
    assert identities.default == ""
    assert Selector(identities).choose(Identity("y", None)).policy == ""


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("version: 1\nselect:\n  - {name: a, policy: strict}\n", 3, "select[0]", "needs"),
        (
            "version: 1\nselect:\n  - {name: a, networks: [10.0.0.300/8], policy: strict}\n",
            3,
            "select[0].networks[0]",
            "IP address",
        ),
        ("version: 1\nselect:\n  - {name: a, users: [x], policy: nosuch}\n", 3, "", "bundled"),
        ("version: 1\nselcet: []\n", 2, "selcet", "did you mean 'select'"),
        ("version: 1\ngroups: {a: [x]}\ngroups: {b: [y]}\n", 3, "groups", "duplicate key"),
        (
            "version: 1\nselect:\n  - {name: a, users: [x], policy: strict}\n"
            "  - {name: a, users: [y], policy: strict}\n",
            4,
            "select[1].name",
            "used twice",
        ),
        (
            "version: 1\nldap: {url: ldap://h:389, base: dc=x, password_env: NO_SUCH_VAR_PG}\n",
            2,
            "ldap.password_env",
            "not set",
        ),
        ("version: 1\nldap: {url: http://h, base: dc=x}\n", 2, "ldap.url", ""),
    ],
)
def test_a_broken_file_is_named_by_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        load_identities(write(tmp_path, text))
    error = raised.value
    assert error.line == line and message in error.message
    assert field in error.field


def test_a_file_that_cannot_be_read_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the identities file"):
        load_identities(tmp_path / "missing.yaml")


class Directory:
    """A stand-in for the directory in unit tests (the real one: tests/identity/test_ldap.py
    and the end-to-end test against slapd). Counts lookups; `down` makes it fail."""

    def __init__(self, groups: dict[str, frozenset[str]]) -> None:
        self.groups = groups
        self.lookups: list[str] = []
        self.down = False

    def groups_of(self, user: str) -> frozenset[str]:
        self.lookups.append(user)
        if self.down:
            raise IdentityLookupFailed("the directory at ldap://h:389 did not answer")
        return self.groups.get(user, frozenset())


LDAP_IDENTITIES = """version: 1
groups: {{legal: [carol]}}
ldap: {{url: "ldap://127.0.0.1:1", base: "dc=example,dc=com", on_failure: {on_failure}}}
select:
  - {{name: lab, networks: [10.20.0.0/16], policy: audit-only}}
  - {{name: legal, groups: [legal], policy: strict}}
"""


def test_the_directory_is_asked_only_when_the_file_does_not_decide(tmp_path: Path) -> None:
    identities = load_identities(write(tmp_path, LDAP_IDENTITIES.format(on_failure="block")))
    directory = Directory({"gina": frozenset({"legal"})})
    selector = Selector(identities, directory)  # type: ignore[arg-type]
    assert selector.choose(Identity("carol", None)).name == "legal"  # the file's own group
    assert selector.choose(Identity("zed", "10.20.0.1")).name == "lab"  # decided by network
    assert directory.lookups == []
    assert selector.choose(Identity("gina", None)).name == "legal"
    assert selector.choose(Identity("hal", None)).name == "default"
    assert selector.choose(Identity(None, None)).name == "default"  # no name: nothing to ask
    assert directory.lookups == ["gina", "hal"]


def test_a_directory_failure_refuses_or_falls_back_as_the_file_says(tmp_path: Path) -> None:
    for on_failure, expected in (("block", None), ("default", "default")):
        identities = load_identities(write(tmp_path, LDAP_IDENTITIES.format(on_failure=on_failure)))
        directory = Directory({})
        directory.down = True
        selector = Selector(identities, directory)  # type: ignore[arg-type]
        if expected is None:
            with pytest.raises(IdentityLookupFailed):
                selector.choose(Identity("gina", None))
        else:
            assert selector.choose(Identity("gina", None)).name == expected


def test_user_ids_are_keyed_hmacs_stable_per_key_and_never_the_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PG_TEST_KEY", "k1")
    first, again = UserIds.from_env("PG_TEST_KEY"), UserIds.from_env("PG_TEST_KEY")
    assert not first.ephemeral
    assert first.of("alice") == again.of("alice") != first.of("bob")
    assert first.of(" ALICE ") == first.of("alice")  # as the directory compares names
    assert first.of("alice").startswith("u-") and "alice" not in first.of("alice")
    monkeypatch.setenv("PG_TEST_KEY", "k2")
    assert UserIds.from_env("PG_TEST_KEY").of("alice") != first.of("alice")
    monkeypatch.delenv("PG_TEST_KEY")
    random = UserIds.from_env("PG_TEST_KEY")
    assert random.ephemeral and random.of("alice") == random.of("alice") != first.of("alice")
