"""Everything that runs inside mitmproxy: the addon and what it needs to meet the wire.

`runner` starts mitmproxy with the `addon`; `layering` chooses what is decrypted and never
relayed raw; `destination` names the provider a request goes to; `flows` turns a flow into a
wire request and back; `workers` runs the engine's gate off the event loop; `failsafe` makes
every hook that decides a flow refuse and audit on failure; `admin` and `metrics` serve
/metrics and the health checks; `reload`, `drain`, `memory`, `login`, `logsafe`, `trailers`,
`decoding` and `ca` are the smaller pieces of running a proxy for real.
"""
