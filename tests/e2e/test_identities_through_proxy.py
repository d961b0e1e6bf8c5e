"""Identities end to end: proxy authentication (an htpasswd file), a policy per group (from
the identities file and from a real slapd's memberOf) and per client network, pseudonymous
user ids in the audit, a directory outage, and a hot reload of the identities file. The
official OpenAI SDK is the client, with its credentials in the proxy URL."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx
import openai
import pytest
from helpers.e2e import Proxy, Upstream, openai_sdk, policy_text, start_proxy, stop_proxy
from helpers.ldap_server import PEOPLE, SERVICE_DN, SERVICE_PASSWORD, LdapServer, start_ldap
from passlib.apache import HtpasswdFile

from proxy.identity.selection import UserIds

pytestmark = pytest.mark.e2e

KEY = "identities-e2e-user-id-key"
# Distinctive names, so a search of every written file for them cannot hit by chance.
USERS = {
    "ursula-kowalczyk": "pw-ursula-7",  # in the file's group `legal`
    "gina-marchetti": "pw-gina-7",  # in the directory's group `Legal`
    "viktor-petrov": "pw-viktor-7",  # in no group: the default policy
}
EMAIL = "contact me at dana.whitfield@example.com"
DEFAULT_RULES = (
    "mode: enforce\nrules:\n  - {id: contact, entities: [EMAIL_ADDRESS], action: redact}\n"
)
LEGAL_RULES = (
    "mode: enforce\nrules:\n  - {id: legal-block, entities: [EMAIL_ADDRESS], action: block}\n"
)
LAB_RULES = "mode: audit\nrules:\n  - {id: lab-contact, entities: [EMAIL_ADDRESS], action: block}\n"


def identities_yaml(ldap: LdapServer, legal: list[str]) -> str:
    return f"""version: 1
user_ids: {{key_env: PG_E2E_USER_KEY}}
groups: {{legal: {json.dumps(legal)}}}
ldap:
  url: {ldap.url}
  base: "{PEOPLE}"
  bind_dn: "{SERVICE_DN}"
  password_env: PG_E2E_LDAP_PASSWORD
  attribute: memberOf
  cache_s: 0
  timeout_s: 2
select:
  - {{name: lab, networks: [127.0.0.2/32], policy: lab.yaml}}
  - {{name: legal, groups: [legal], policy: legal.yaml}}
"""


@pytest.fixture(scope="module")
def ldap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LdapServer]:
    users = {"gina-marchetti": ("directory-only", ["Legal"])}
    with start_ldap(tmp_path_factory.mktemp("slapd"), users) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(
    tmp_path_factory: pytest.TempPathFactory, upstream: Upstream, ldap: LdapServer
) -> Iterator[Proxy]:
    workdir = tmp_path_factory.mktemp("identities")
    for name, rules in (("legal.yaml", LEGAL_RULES), ("lab.yaml", LAB_RULES)):
        (workdir / name).write_text(policy_text(upstream, rules))
    (workdir / "identities.yaml").write_text(identities_yaml(ldap, ["ursula-kowalczyk"]))
    htpasswd = HtpasswdFile(str(workdir / "users.htpasswd"), new=True)
    for user, password in USERS.items():
        htpasswd.set_password(user, password)
    htpasswd.save()
    handle = start_proxy(
        workdir,
        policy_text(upstream, DEFAULT_RULES),
        upstream,
        "--identities", str(workdir / "identities.yaml"),
        "--set", f"proxyauth=@{workdir / 'users.htpasswd'}",
        env={"PG_E2E_USER_KEY": KEY, "PG_E2E_LDAP_PASSWORD": SERVICE_PASSWORD},
    )  # fmt: skip
    yield handle
    stop_proxy(handle)


class FromAddress(httpcore.SyncBackend):
    def __init__(self, source: str) -> None:
        self.source = source

    def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        return super().connect_tcp(*args, **{**kwargs, "local_address": self.source})


def sdk(proxy: Proxy, upstream: Upstream, user: str, source: str = "127.0.0.1") -> openai.OpenAI:
    """The SDK through the proxy as `user`, connecting from the loopback address `source`."""
    trust = ssl.create_default_context(cafile=str(proxy.ca))
    url = f"http://127.0.0.1:{proxy.port}"
    transport = httpx.HTTPTransport(proxy=httpx.Proxy(url, auth=(user, USERS[user])), verify=trust)
    # Neither httpx nor httpcore applies `local_address` to a proxy tunnel: the same pool,
    # with a network backend that connects from `source`.
    transport._pool = httpcore.HTTPProxy(
        proxy_url=url,
        proxy_auth=(user, USERS[user]),
        ssl_context=trust,
        network_backend=FromAddress(source),
    )
    return openai_sdk(upstream, httpx.Client(transport=transport, timeout=60))


def generate(proxy: Proxy, upstream: Upstream, user: str, source: str = "127.0.0.1") -> object:
    """The SDK's answer, or the exception it raised."""
    with sdk(proxy, upstream, user, source) as client:
        try:
            return client.images.generate(model="gpt-image-1", prompt=f"A poster, {EMAIL}")
        except openai.APIError as e:
            return e


def last_event(proxy: Proxy) -> dict[str, object]:
    return proxy.events()[-1]


def test_each_user_gets_the_policy_of_their_group_from_the_file_or_the_directory(
    proxy: Proxy, upstream: Upstream
) -> None:
    ids = UserIds(KEY.encode())
    for user, selection, outcome in (
        ("ursula-kowalczyk", "legal", openai.PermissionDeniedError),
        ("gina-marchetti", "legal", openai.PermissionDeniedError),
        ("viktor-petrov", "default", None),
    ):
        upstream.clear()
        answer = generate(proxy, upstream, user)
        event = last_event(proxy)
        assert (event["selection"], event["user"]) == (selection, ids.of(user))
        if outcome is None:
            assert event["action"] == "redact" and len(upstream.received) == 1
            assert b"dana.whitfield" not in upstream.received[0].body
        else:
            assert isinstance(answer, outcome), answer
            assert event["action"] == "block" and upstream.received == []


def test_a_client_network_selects_its_policy(proxy: Proxy, upstream: Upstream) -> None:
    upstream.clear()
    answer = generate(proxy, upstream, "ursula-kowalczyk", source="127.0.0.2")
    assert not isinstance(answer, Exception)
    event = last_event(proxy)
    assert event["selection"] == "lab" and event["mode"] == "audit" and event["action"] == "block"
    assert b"dana.whitfield" in upstream.received[0].body  # audit mode forwards as sent


def test_a_directory_outage_refuses_in_the_providers_error_format(
    proxy: Proxy, upstream: Upstream, ldap: LdapServer
) -> None:
    upstream.clear()
    ldap.stop()
    try:
        answer = generate(proxy, upstream, "viktor-petrov")  # only the directory can place him
        placed = generate(proxy, upstream, "ursula-kowalczyk")  # the file places her
    finally:
        ldap.start()
    assert isinstance(answer, openai.InternalServerError) and answer.status_code == 503
    assert isinstance(placed, openai.PermissionDeniedError)
    refused = [e for e in proxy.events() if e.get("error") == "pixelgate_identity_lookup_failed"]
    assert refused and refused[-1]["action"] == "block"
    assert upstream.received == []


def test_no_user_name_or_password_is_written(proxy: Proxy, upstream: Upstream) -> None:
    generate(proxy, upstream, "viktor-petrov")
    texts = [p.read_text(errors="replace") for p in proxy.written_files() if _written(p)]
    assert texts and proxy.events()
    secrets = [*USERS, *USERS.values(), SERVICE_PASSWORD, "dana.whitfield"]
    for text in texts:
        for secret in secrets:
            assert secret not in text


def _written(path: Path) -> bool:
    """Files the proxy writes (not the ones this test gave it)."""
    return path.suffix in (".log", ".jsonl")


def test_editing_the_identities_file_moves_a_user_without_a_restart(
    proxy: Proxy, upstream: Upstream, ldap: LdapServer
) -> None:
    identities = proxy.workdir / "identities.yaml"
    identities.write_text(identities_yaml(ldap, ["ursula-kowalczyk", "viktor-petrov"]))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if isinstance(generate(proxy, upstream, "viktor-petrov"), openai.PermissionDeniedError):
            break
        time.sleep(0.5)
    event = last_event(proxy)
    assert event["selection"] == "legal" and event["action"] == "block"
