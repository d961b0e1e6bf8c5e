"""Which of mitmproxy's protocol layers a connection gets: never a raw relay towards a provider.

mitmproxy decrypts a connection and then guesses its protocol from the first bytes; what does
not look like HTTP (a request line split over two writes, tabs for spaces, no ALPN) goes to
its raw TCP layer, which forwards bytes without any HTTP hook, so without inspection. This
sub-addon runs after mitmproxy's own layer choice and corrects it: a connection whose
destination or TLS server name is a provider host is always read as TLS (when it starts like
TLS) or HTTP, and one that is neither (UDP that is not QUIC) is closed. Connections that touch
no provider are not decrypted at all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from mitmproxy import tls
from mitmproxy.net.tls import starts_like_tls_record
from mitmproxy.proxy import commands, events, layer, layers
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.http import HTTPMode
from mitmproxy.proxy.layers.tls import parse_client_hello

from proxy.mitm.destination import is_ip

log = logging.getLogger("pixelgate")

# Whether a (host, port) is a provider host under any policy in force.
Touches = Callable[[str, int], bool]
_RELAYS = (layers.TCPLayer, layers.UDPLayer, layers.DNSLayer, layers.RawQuicLayer)


class Refused(layer.Layer):
    """Closes the client connection: for traffic to a provider that HTTP cannot carry."""

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        if isinstance(event, events.Start):
            yield commands.CloseConnection(self.context.client)


class Layering:
    """Decrypts provider connections only, and keeps them off the raw relays."""

    def __init__(self, touches: Touches) -> None:
        self._touches = touches

    def must_read(self, context: Context, data: bytes) -> bool:
        """Whether the connection may carry a request to a provider: it was decrypted (only
        provider connections are), or its target, TLS server name or Host header is one."""
        if any(isinstance(layer, layers.ClientTLSLayer) for layer in context.layers):
            return True
        address = context.server.address
        port = address[1] if address else 443
        names = (
            context.client.sni,
            address[0] if address else None,
            _server_name(data),
            _host_header(data),
        )
        return any(self._touches(name, port) for name in names if name)

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        # Intercept when either the connection's target or the SNI is a provider: a client
        # cannot slip past with a misleading SNI, nor by connecting to an address directly.
        # Without a name at all (an address and no SNI) only the Host header will say where
        # the request goes, and a front end may route by it: intercept, and let it decide.
        address = data.context.server.address
        port = address[1] if address else 443
        sni = data.client_hello.sni
        target = address[0] if address else None
        if not sni and (target is None or is_ip(target)):
            return
        if not any(self._touches(name, port) for name in (sni, target) if name):
            data.ignore_connection = True

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        chosen = nextlayer.layer
        if chosen is None or not isinstance(chosen, _RELAYS):
            return
        context = nextlayer.context
        try:
            if not self.must_read(context, nextlayer.data_client()):
                return
        except Exception as e:  # noqa: BLE001 - unsure where it goes: read it as HTTP
            log.error("PixelGate could not tell a connection's destination: %s", type(e).__name__)
        nextlayer.layer = self._read_as_http(context, nextlayer.data_client())

    @staticmethod
    def _read_as_http(context: Context, data: bytes) -> layer.Layer:
        if context.client.transport_protocol != "tcp":
            log.warning("PixelGate closed a non-HTTP datagram connection to a provider host")
            return Refused(context)
        if starts_like_tls_record(data):
            server_tls = layers.ServerTLSLayer(context)
            server_tls.child_layer = layers.ClientTLSLayer(context)
            return server_tls
        return layers.HttpLayer(context, HTTPMode.transparent)


_HOST = re.compile(rb"\r\nhost[ \t]*:[ \t]*([^\r\n:]{1,255})", re.IGNORECASE)


def _server_name(data: bytes) -> str | None:
    """The SNI of a TLS ClientHello at the start of `data` (mitmproxy's options such as
    ignore_hosts may pick a raw relay before PixelGate's tls_clienthello sees it)."""
    if not starts_like_tls_record(data):
        return None
    try:
        hello = parse_client_hello(data)
    except ValueError:
        return None
    return hello.sni if hello is not None else None


def _host_header(data: bytes) -> str | None:
    """The Host header's name in the first bytes of a plaintext request, if any."""
    match = _HOST.search(data[:16384])
    return match.group(1).decode("ascii", "replace").strip() if match else None
