"""The decision path, without mitmproxy: one request in, one verdict out.

`gate` takes a provider request's bytes to a verdict and its audit event; `gate_set` holds
every policy's gate and chooses one per sender; `pipeline` runs the detectors, asks the policy
and redacts (`redact`); `outcome` adds images given by link (`linked_images`) and bodies that
must not change; `envelope` reads the URL and headers; `reroute`, `fallback` and `served`
answer from the local model. Nothing here imports mitmproxy (`proxy.mitm` is the glue).
"""
