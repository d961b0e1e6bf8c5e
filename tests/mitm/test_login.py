"""DirectoryLogin (proxyauth=ldap:...) against a real slapd on loopback."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
from helpers.ldap_server import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, LdapServer, start_ldap
from mitmproxy import exceptions

from proxy.mitm import login
from proxy.mitm.login import DirectoryLogin

USERS = {"alice": ("alice-password", []), "bob": ("bob-password", []), "carl": ("c-pw", [])}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    with start_ldap(tmp_path_factory.mktemp("slapd"), USERS, tls=True) as handle:
        yield handle


def ldaps_spec(server: LdapServer) -> str:
    assert server.tls_port
    where = f"ldaps:127.0.0.1:{server.tls_port}"
    return f"{where}:{SERVICE_DN}:{SERVICE_PASSWORD}:{PEOPLE}?search_filter_key=uid"


def test_the_login_addon_builds_pixelgates_validator_for_an_ldap_spec(server: LdapServer) -> None:
    from mitmproxy.test import taddons

    auth = login.Login()
    with taddons.context(auth) as tctx:
        tctx.configure(auth, proxyauth=server.proxyauth_spec())
        assert isinstance(auth.validator, DirectoryLogin)
        assert auth.validator("alice", "alice-password")


def test_right_wrong_and_unknown(server: LdapServer) -> None:
    check = DirectoryLogin(server.proxyauth_spec())
    assert check("alice", "alice-password")
    assert check("ALICE", "alice-password")  # the directory compares uid without case
    assert not check("alice", "bob-password")
    assert not check("nobody", "alice-password")


@pytest.mark.parametrize("name", ["ali*", "*", "al*)(uid=*", "alice\\2a", "alice\x00", "  "])
def test_names_with_filter_characters_never_log_in(server: LdapServer, name: str) -> None:
    assert not DirectoryLogin(server.proxyauth_spec())(name, "alice-password")


def test_an_empty_password_is_refused_not_taken_as_an_anonymous_bind(server: LdapServer) -> None:
    assert not DirectoryLogin(server.proxyauth_spec())("alice", "")


def test_a_remembered_login_needs_no_directory_and_a_new_one_fails_fast(
    server: LdapServer, caplog: pytest.LogCaptureFixture
) -> None:
    check = DirectoryLogin(server.proxyauth_spec())
    assert check("alice", "alice-password")
    server.stop()
    try:
        with caplog.at_level(logging.DEBUG):
            assert check("alice", "alice-password")  # remembered
            assert not check("bob", "bob-password")  # the directory is down: refused
            started = time.monotonic()
            assert not check("carl", "c-pw")  # within the back-off: not even tried
            assert time.monotonic() - started < 0.1
    finally:
        server.start()
    text = caplog.text
    assert "refuses new logins" in text
    for secret in ("bob", "bob-password", "carl", "c-pw", SERVICE_PASSWORD):
        assert secret not in text


def test_logins_work_again_once_the_directory_is_back(
    server: LdapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(login, "BACKOFF_S", 0.2)
    check = DirectoryLogin(server.proxyauth_spec())
    server.stop()
    try:
        assert not check("bob", "bob-password")
    finally:
        server.start()
    time.sleep(0.3)
    assert check("bob", "bob-password")  # a fresh connection, unlike mitmproxy's


def test_ldaps_verifies_the_directorys_certificate(
    server: LdapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    assert not DirectoryLogin(ldaps_spec(server))("alice", "alice-password")  # self-signed
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca))
    assert DirectoryLogin(ldaps_spec(server))("alice", "alice-password")


def test_a_bad_spec_is_refused_without_quoting_its_password() -> None:
    with pytest.raises(exceptions.OptionsError) as raised:
        DirectoryLogin("ldap:host:not-a-port:cn=x:s3cret-pw:dc=x")
    assert "s3cret-pw" not in str(raised.value)


def test_logins_are_checked_off_the_event_loop_and_a_failed_hand_off_answers_407(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio
    import base64
    import threading

    from mitmproxy.test import taddons, tflow

    auth = login.Login()
    checked_in: list[str] = []

    def validator(user: str, password: str) -> bool:
        checked_in.append(threading.current_thread().name)
        return (user, password) == ("u", "p")

    def connect(credentials: str | None) -> object:
        flow = tflow.tflow()
        flow.request.method = "CONNECT"
        if credentials:
            token = base64.b64encode(credentials.encode()).decode()
            flow.request.headers["Proxy-Authorization"] = f"Basic {token}"
        asyncio.run(auth.http_connect(flow))
        return flow.response.status_code if flow.response else None

    with taddons.context(auth) as tctx:
        tctx.configure(auth, proxyauth="u:p")
        auth.validator = validator
        assert connect("u:p") is None  # logged in
        assert connect("u:wrong") == 407
        assert connect(None) == 407  # nothing to check: answered directly
        assert checked_in and all(n.startswith("pixelgate-login") for n in checked_in)

        def broken(flow: object) -> bool:
            raise RuntimeError("the hand-off failed")

        monkeypatch.setattr(auth, "authenticate_http", broken)
        assert connect("u:p") == 407  # never through unchecked


async def test_the_proxy_checks_logins_with_pixelgates_addon_where_mitmproxy_would() -> None:
    from mitmproxy import addons
    from mitmproxy.addons.proxyauth import ProxyAuth

    from proxy.mitm.runner import build_master

    master, _ = build_master(None, "127.0.0.1", 0, [])
    names = [getattr(a, "name", type(a).__name__.lower()) for a in master.addons.chain]
    mitmproxy_order = [type(a).__name__.lower() for a in addons.default_addons()]
    assert isinstance(master.addons.get("proxyauth"), login.Login)
    assert not any(type(a) is ProxyAuth for a in master.addons.chain)
    at = names.index("proxyauth")
    # The same neighbours as in mitmproxy's own chain: checked before any addon that answers.
    assert names[at - 1] == mitmproxy_order[mitmproxy_order.index("proxyauth") - 1]
    assert names[at + 1] == mitmproxy_order[mitmproxy_order.index("proxyauth") + 1]
