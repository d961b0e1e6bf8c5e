"""Who sends a request, and which policy applies to them.

mitmproxy's `proxyauth` authenticates (a user and password, an htpasswd file, or LDAP); the
identities file (option `pixelgate_identities`) maps users, groups (listed in the file or read
from a directory attribute) and client networks to policy files. A user's name is never
written anywhere: audit events carry an HMAC of it (`UserIds`).
"""
