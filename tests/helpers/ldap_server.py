"""A real OpenLDAP `slapd` on loopback for tests: its own config, port and data directory.

The directory is `dc=example,dc=com` with `ou=people` (one inetOrgPerson per user, found by
`uid`) and `ou=groups` (one groupOfNames per group). A user's groups are readable two ways:
`memberOf` holds the group DNs (kept by the memberof overlay) and `businessCategory` holds
the plain group names. `cn=pixelgate,dc=example,dc=com` is a service account that may search;
anonymous binds may read everything but passwords.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ldap3
from helpers.e2e import free_port, make_cert

SLAPD = "/usr/sbin/slapd"
SUFFIX = "dc=example,dc=com"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SERVICE_DN = f"cn=pixelgate,{SUFFIX}"
SERVICE_PASSWORD = "pixelgate-service-secret"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

# user name -> (password, group names)
Users = dict[str, tuple[str, list[str]]]


def ssha(password: str) -> str:
    """An RFC 2307 {SSHA} hash, as slappasswd makes it."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


@dataclass
class LdapServer:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]
    tls_port: int | None = None  # ldaps:// too, with a certificate for localhost/127.0.0.1

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        assert self.tls_port, "started with tls=True"
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ca(self) -> Path:
        """The self-signed certificate ldaps:// presents (trust it as the CA)."""
        return self.workdir / "localhost-cert.pem"

    def user_dn(self, user: str) -> str:
        return f"uid={ldap3.utils.dn.escape_rdn(user)},{PEOPLE}"

    def group_dn(self, group: str) -> str:
        return f"cn={ldap3.utils.dn.escape_rdn(group)},{GROUPS}"

    def proxyauth_spec(self, password: str = SERVICE_PASSWORD) -> str:
        """mitmproxy's `proxyauth` option: users looked up by uid under ou=people."""
        return f"ldap:127.0.0.1:{self.port}:{SERVICE_DN}:{password}:{PEOPLE}?search_filter_key=uid"

    def log(self) -> str:
        return (self.workdir / "slapd.log").read_text(errors="replace")

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def start(self) -> None:
        """(Re)start on the same port and data: the directory's content is kept."""
        if self.process.poll() is None:
            return
        self.process = _spawn(self.workdir, self.port, self.tls_port)
        _wait_until_answering(self)


def slapd_config(workdir: Path, tls: bool) -> str:
    schemas = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    certificate = (
        f"TLSCertificateFile {workdir}/localhost-cert.pem\n"
        f"TLSCertificateKeyFile {workdir}/localhost-key.pem\n"
        if tls
        else ""
    )
    return f"""{schemas}
{certificate}modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {workdir}/slapd.pid
argsfile {workdir}/slapd.args

database mdb
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ssha(ADMIN_PASSWORD)}
directory {workdir}/data
maxsize 16777216
overlay memberof

access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by * read
"""


@contextmanager
def start_ldap(workdir: Path, users: Users, tls: bool = False) -> Iterator[LdapServer]:
    """slapd on a free loopback port with `users` (and ldaps:// on a second port if `tls`);
    stopped (terminate, wait) on exit."""
    assert Path(SLAPD).exists(), "slapd is installed by `make test` (Debian package slapd)"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "data").mkdir(exist_ok=True)
    if tls:
        make_cert(workdir)
    (workdir / "slapd.conf").write_text(slapd_config(workdir, tls))
    port, tls_port = free_port(), free_port() if tls else None
    server = LdapServer(port, workdir, _spawn(workdir, port, tls_port), tls_port)
    try:
        _wait_until_answering(server)
        _load(server, users)
        yield server
    finally:
        server.stop()


def _spawn(workdir: Path, port: int, tls_port: int | None) -> subprocess.Popen[bytes]:
    urls = f"ldap://127.0.0.1:{port}/" + (f" ldaps://127.0.0.1:{tls_port}/" if tls_port else "")
    # -d 0 keeps slapd in the foreground (a child we can terminate) without debug output.
    command = [SLAPD, "-d", "0", "-h", urls, "-f", str(workdir / "slapd.conf")]
    log = (workdir / "slapd.log").open("ab")
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


def _wait_until_answering(server: LdapServer) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"slapd exited: {server.log()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", server.port)) == 0:
                return
        time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"slapd did not start in time: {server.log()}")


def _load(server: LdapServer, users: Users) -> None:
    """The tree, the service account, users, then groups (so memberof sees members exist)."""
    ldap_server = ldap3.Server("127.0.0.1", port=server.port, get_info=ldap3.NONE)
    with ldap3.Connection(
        ldap_server, ADMIN_DN, ADMIN_PASSWORD, auto_bind=True, raise_exceptions=True
    ) as conn:
        conn.add(SUFFIX, ["dcObject", "organization"], {"dc": "example", "o": "Example"})
        conn.add(PEOPLE, ["organizationalUnit"], {"ou": "people"})
        conn.add(GROUPS, ["organizationalUnit"], {"ou": "groups"})
        conn.add(
            SERVICE_DN,
            ["person"],
            {"cn": "pixelgate", "sn": "PixelGate", "userPassword": ssha(SERVICE_PASSWORD)},
        )
        members: dict[str, list[str]] = {}
        for user, (password, groups) in users.items():
            attributes: dict[str, object] = {
                "uid": user, "cn": user, "sn": user, "userPassword": ssha(password),
            }  # fmt: skip
            if groups:
                attributes["businessCategory"] = list(groups)
            conn.add(server.user_dn(user), ["inetOrgPerson"], attributes)
            for group in groups:
                members.setdefault(group, []).append(server.user_dn(user))
        for group, dns in members.items():
            conn.add(server.group_dn(group), ["groupOfNames"], {"cn": group, "member": dns})
