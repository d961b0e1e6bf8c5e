"""The identities file's format: which policy applies to whom.

```yaml
version: 1
user_ids: {key_env: PIXELGATE_USER_ID_KEY}   # the HMAC key for pseudonymous user ids
groups:                                      # group: [user, ...] (names as proxyauth knows them)
  legal: [carol, dan]
ldap:                                        # and/or: groups from a directory attribute
  url: ldap://directory.example.com:389
  base: ou=people,dc=example,dc=com
  bind_dn: cn=pixelgate,ou=services,dc=example,dc=com
  password_env: PIXELGATE_LDAP_PASSWORD
  attribute: memberOf
select:                                      # first match wins
  - {name: legal, groups: [legal], policy: strict}
  - {name: lab, networks: [10.20.0.0/16], policy: lab.yaml}
default: default                             # everyone else (else the proxy's --policy)
```

A `policy` is a bundled policy's name or a file path relative to the identities file. Unknown
keys are errors; messages name fields, never a value.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

NonEmpty = Annotated[str, Field(min_length=1)]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(text: str) -> str:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError("must be an IP address or a network like 10.0.0.0/8") from None
    return text


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class UserIdsFile(_File):
    key_env: NonEmpty = "PIXELGATE_USER_ID_KEY"


class LdapFile(_File):
    url: Annotated[str, Field(pattern=r"^ldaps?://[^/\s]+/?$")]
    base: NonEmpty
    bind_dn: NonEmpty | None = None
    password_env: NonEmpty | None = None
    user_filter: Annotated[str, Field(pattern=r"\{user\}")] = "(uid={user})"
    attribute: NonEmpty = "memberOf"
    cache_s: Annotated[float, Field(ge=0, strict=False)] = 300.0
    timeout_s: Annotated[float, Field(gt=0, strict=False)] = 5.0
    ca_file: NonEmpty | None = None
    on_failure: Literal["block", "default"] = "block"


class SelectFile(_File):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    users: list[NonEmpty] = []
    groups: list[NonEmpty] = []
    networks: list[Annotated[str, AfterValidator(_network)]] = []
    policy: NonEmpty

    @model_validator(mode="after")
    def _says_whom(self) -> SelectFile:
        if not (self.users or self.groups or self.networks):
            raise ValueError("an entry needs `users`, `groups` or `networks`")
        return self


class IdentitiesFile(_File):
    version: Literal[1]
    user_ids: UserIdsFile = UserIdsFile()
    groups: dict[NonEmpty, list[NonEmpty]] = {}
    ldap: LdapFile | None = None
    select: list[SelectFile] = []
    default: NonEmpty | None = None
