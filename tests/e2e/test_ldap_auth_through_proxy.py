"""Proxy authentication against a real slapd: mitmproxy's `proxyauth` option in LDAP mode,
the official OpenAI SDK as the client with credentials in the proxy URL."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from helpers.e2e import (
    Proxy,
    Upstream,
    openai_sdk,
    policy_text,
    proxied_http,
    start_proxy,
    stop_proxy,
)
from helpers.ldap_server import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, LdapServer, start_ldap

pytestmark = pytest.mark.e2e

PASSWORD = "alice-Pa55-w0rd"
WRONG = "not-alices-password"
BOB = "bob-Pa55-w0rd"
RULES = "mode: enforce\nrules:\n  - {id: contact, entities: [EMAIL_ADDRESS], action: redact}\n"


@pytest.fixture(scope="module")
def ldap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    users = {"alice": (PASSWORD, ["Legal"]), "bob": (BOB, [])}
    with start_ldap(tmp_path_factory.mktemp("slapd"), users) as s:
        yield s


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream, ldap_server: LdapServer
) -> Iterator[Proxy]:
    handle = start_proxy(
        tmp_path_factory.mktemp("ldap-auth"),
        policy_text(upstream, RULES),
        upstream,
        "--set",
        f"proxyauth={ldap_server.proxyauth_spec()}",
    )
    yield handle
    stop_proxy(handle)


def sdk(proxy: Proxy, upstream: Upstream, credentials: str | None) -> openai.OpenAI:
    """The SDK through the proxy, `credentials` ("user:password") in the proxy URL."""
    userinfo = f"{credentials}@" if credentials else ""
    return openai_sdk(upstream, proxied_http(f"http://{userinfo}127.0.0.1:{proxy.port}", proxy.ca))


def test_the_right_password_reaches_the_upstream(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    with sdk(proxy, upstream, f"alice:{PASSWORD}") as client:
        answer = client.images.generate(model="gpt-image-1", prompt="A lighthouse at dawn")
    assert answer.data and answer.data[0].b64_json
    assert [r.path for r in upstream.received] == ["/v1/images/generations"]
    assert "proxy-authorization" not in upstream.received[0].headers


@pytest.mark.parametrize("credentials", [f"alice:{WRONG}", "mallory:anything", None])
def test_without_valid_credentials_the_connect_is_refused(
    proxy: Proxy, upstream: Upstream, credentials: str | None
) -> None:
    upstream.clear()
    with sdk(proxy, upstream, credentials) as client, pytest.raises(openai.APIConnectionError) as e:
        client.images.generate(model="gpt-image-1", prompt="A lighthouse at dawn")
    assert isinstance(e.value.__cause__, httpx.ProxyError)
    assert "407" in str(e.value.__cause__)
    assert upstream.received == []


def test_no_password_reaches_the_logs_or_the_audit(proxy: Proxy, upstream: Upstream) -> None:
    for credentials in (f"alice:{PASSWORD}", f"alice:{WRONG}"):
        with sdk(proxy, upstream, credentials) as client:
            try:
                client.images.generate(model="gpt-image-1", prompt="A harbour at night")
            except openai.APIConnectionError:
                pass
    assert proxy.events(), "the allowed request was audited"
    written = {
        "stdout": proxy.stdout.read_text(errors="replace"),
        "stderr": proxy.stderr.read_text(errors="replace"),
        "audit": proxy.audit.read_text(errors="replace"),
    }
    secrets = [PASSWORD, WRONG, SERVICE_PASSWORD]
    secrets += [base64.b64encode(f"alice:{p}".encode()).decode() for p in (PASSWORD, WRONG)]
    for name, text in written.items():
        for secret in secrets:
            assert secret not in text, f"a password in the proxy's {name}"


@pytest.mark.parametrize("name", ["ali*", "*", "al*)(uid=*"])
def test_a_name_with_filter_characters_is_refused_even_with_a_right_password(
    proxy: Proxy, upstream: Upstream, name: str
) -> None:
    # mitmproxy's LDAP check puts the name into its search filter unescaped: `ali*` would log
    # in as alice under a name no identities entry names (and get the default policy).
    upstream.clear()
    with (
        sdk(proxy, upstream, f"{name}:{PASSWORD}") as client,
        pytest.raises(openai.APIConnectionError) as e,
    ):
        client.images.generate(model="gpt-image-1", prompt="A lighthouse at dawn")
    assert "407" in str(e.value.__cause__)
    assert upstream.received == []


def test_a_name_typed_in_another_case_is_the_same_pseudonymous_user(
    proxy: Proxy, upstream: Upstream
) -> None:
    users = []
    for name in ("alice", "ALICE"):
        with sdk(proxy, upstream, f"{name}:{PASSWORD}") as client:
            client.images.generate(model="gpt-image-1", prompt="A lighthouse at dawn")
        users.append(proxy.events()[-1]["user"])
    assert users[0] == users[1] and str(users[0]).startswith("u-")


def test_logins_work_again_after_the_directory_restarts(
    proxy: Proxy, upstream: Upstream, ldap_server: LdapServer
) -> None:
    # mitmproxy's own LDAP check keeps one connection from start-up and never re-opens it.
    ldap_server.stop()
    ldap_server.start()
    with sdk(proxy, upstream, f"bob:{BOB}") as client:
        answer = client.images.generate(model="gpt-image-1", prompt="A lighthouse at dawn")
    assert answer.data


def test_a_hanging_directory_holds_up_no_other_connection(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream
) -> None:
    # A directory that takes connections and never answers. mitmproxy's own LDAP check would
    # not even start (it binds at start-up, without a timeout); PixelGate's waits at most
    # its timeout, in a worker thread, while other connections are served.
    with socket.socket() as hole:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        spec = f"ldap:127.0.0.1:{hole.getsockname()[1]}:{SERVICE_DN}:x:{PEOPLE}"
        handle = start_proxy(
            tmp_path_factory.mktemp("hanging-directory"),
            policy_text(upstream, RULES),
            upstream,
            "--set",
            f"proxyauth={spec}",
        )
        try:
            with ThreadPoolExecutor(1) as pool:
                login = pool.submit(refused_in, handle, upstream, f"alice:{PASSWORD}")
                time.sleep(0.5)  # the login is waiting for the directory now
                assert refused_in(handle, upstream, None) < 1.5  # not queued behind it
                assert login.result() >= 4.0  # it waited for the directory's timeout
        finally:
            stop_proxy(handle)


def refused_in(proxy: Proxy, upstream: Upstream, credentials: str | None) -> float:
    """Seconds until the proxy refuses a login (407 on CONNECT)."""
    started = time.monotonic()
    with sdk(proxy, upstream, credentials) as client, pytest.raises(openai.APIConnectionError):
        client.images.generate(model="gpt-image-1", prompt="A lighthouse at dawn")
    return time.monotonic() - started
