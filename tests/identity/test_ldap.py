"""LdapGroups against a real slapd on loopback (tests/helpers/ldap_server.py)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from helpers.ldap_server import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, LdapServer, start_ldap

from proxy.errors import IdentityLookupFailed
from proxy.identity import ldap
from proxy.identity.ldap import LdapGroups, LdapSettings

USERS = {
    "alice": ("alice-password", ["Legal", "Design Team", "R&D, Nordics"]),
    "bob": ("bob-password", []),
}
ALICE_GROUPS = frozenset({"legal", "design team", "r&d, nordics"})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    with start_ldap(tmp_path_factory.mktemp("slapd"), USERS, tls=True) as handle:
        yield handle


def settings(server: LdapServer, **changes: Any) -> LdapSettings:
    values: dict[str, Any] = {
        "url": server.url, "base": PEOPLE, "bind_dn": SERVICE_DN, "password": SERVICE_PASSWORD,
    }  # fmt: skip
    return LdapSettings(**{**values, **changes})


@contextmanager
def stopped(server: LdapServer) -> Iterator[None]:
    """The server down for the block, back up (same port, same data) afterwards."""
    server.stop()
    try:
        yield
    finally:
        server.start()


def test_member_of_dns_give_their_first_rdn_casefolded(server: LdapServer) -> None:
    assert LdapGroups(settings(server)).groups_of("alice") == ALICE_GROUPS


def test_plain_values_are_the_group_names(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, attribute="businessCategory"))
    assert groups.groups_of("alice") == ALICE_GROUPS


def test_a_user_in_no_group_has_none(server: LdapServer) -> None:
    assert LdapGroups(settings(server)).groups_of("bob") == frozenset()


def test_an_unknown_user_has_no_groups(server: LdapServer) -> None:
    assert LdapGroups(settings(server)).groups_of("mallory") == frozenset()


@pytest.mark.parametrize("name", ["*)(uid=*", "*", "alice)(uid=*", "al*"])
def test_filter_metacharacters_in_a_user_name_match_no_one(server: LdapServer, name: str) -> None:
    assert LdapGroups(settings(server)).groups_of(name) == frozenset()


def test_an_anonymous_bind_reads_groups(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, bind_dn=None, password=None))
    assert groups.groups_of("alice") == ALICE_GROUPS


def test_a_url_ending_in_a_slash_works(server: LdapServer) -> None:
    assert LdapGroups(settings(server, url=server.url + "/")).groups_of("alice") == ALICE_GROUPS


def test_ldaps_with_the_servers_ca_reads_groups(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, url=server.ldaps_url, ca_file=str(server.ca)))
    assert groups.groups_of("alice") == ALICE_GROUPS


def test_ldaps_with_an_untrusted_certificate_fails(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, url=server.ldaps_url))  # system roots only
    with pytest.raises(IdentityLookupFailed):
        groups.groups_of("alice")


def test_a_filter_matching_several_entries_fails(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, user_filter="(|(uid={user})(uid=bob))"))
    with pytest.raises(IdentityLookupFailed, match="more than one entry"):
        groups.groups_of("alice")


def test_a_wrong_service_password_fails_without_naming_it(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, password="not-the-service-secret"))
    with pytest.raises(IdentityLookupFailed) as raised:
        groups.groups_of("alice")
    assert "refused the bind" in str(raised.value)
    assert "not-the-service-secret" not in str(raised.value)
    assert "alice" not in str(raised.value)


def test_a_search_base_that_does_not_exist_fails(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, base="ou=nowhere,dc=example,dc=com"))
    with pytest.raises(IdentityLookupFailed):
        groups.groups_of("alice")


def test_a_server_down_fails_naming_only_the_server(
    server: LdapServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    groups = LdapGroups(settings(server))
    with stopped(server), pytest.raises(IdentityLookupFailed) as raised:
        groups.groups_of("alice")
    message = str(raised.value)
    assert f"127.0.0.1:{server.port}" in message
    assert "alice" not in message and SERVICE_PASSWORD not in message
    assert raised.value.status == 503
    assert "alice" not in caplog.text and SERVICE_PASSWORD not in caplog.text


def test_a_cached_answer_needs_no_server(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, cache_s=60))
    assert groups.groups_of("alice") == ALICE_GROUPS
    assert groups.groups_of("mallory") == frozenset()
    with stopped(server):
        assert groups.groups_of("alice") == ALICE_GROUPS
        assert groups.groups_of("mallory") == frozenset()  # an empty answer is cached too


def test_after_cache_s_a_stopped_server_fails(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, cache_s=0.1))
    groups.groups_of("alice")
    with stopped(server):
        time.sleep(0.2)
        with pytest.raises(IdentityLookupFailed):
            groups.groups_of("alice")


def test_a_failed_lookup_is_not_cached(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, cache_s=60))
    with stopped(server), pytest.raises(IdentityLookupFailed):
        groups.groups_of("alice")
    assert groups.groups_of("alice") == ALICE_GROUPS


def test_the_cache_drops_the_oldest_user_first(
    server: LdapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ldap, "MAX_CACHED_USERS", 2)
    groups = LdapGroups(settings(server, cache_s=60))
    for user in ("alice", "bob", "mallory"):
        groups.groups_of(user)
    with stopped(server):
        assert groups.groups_of("mallory") == frozenset()
        assert groups.groups_of("bob") == frozenset()
        with pytest.raises(IdentityLookupFailed):
            groups.groups_of("alice")


def test_lookups_from_many_threads_agree(server: LdapServer) -> None:
    groups = LdapGroups(settings(server, cache_s=0))
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(groups.groups_of, ["alice", "bob"] * 16))
    assert answers == [ALICE_GROUPS, frozenset()] * 16


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        accepted: list[socket.socket] = []
        thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]))
        thread.start()
        url = f"ldap://127.0.0.1:{listener.getsockname()[1]}"
        groups = LdapGroups(LdapSettings(url=url, base=PEOPLE, timeout_s=0.5))
        try:
            with pytest.raises(IdentityLookupFailed):
                groups.groups_of("alice")
        finally:
            thread.join(timeout=5)
            for connection in accepted:
                connection.close()


@pytest.mark.parametrize(
    "changes",
    [{"url": "http://127.0.0.1:389"}, {"url": "ldap://"}, {"user_filter": "(uid=alice)"}],
)
def test_settings_reject_what_cannot_work(changes: dict[str, str]) -> None:
    values = {"url": "ldap://127.0.0.1:389", "base": PEOPLE, **changes}
    with pytest.raises(ValueError):
        LdapSettings(**values)


def test_a_missing_ca_file_is_refused_at_start(server: LdapServer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ca_file"):
        LdapGroups(settings(server, url=server.ldaps_url, ca_file=str(tmp_path / "none.pem")))
