"""Start the proxy on mitmproxy's own engine with the PixelGate addon."""

from __future__ import annotations

import asyncio
import copy
import logging
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from proxy.mitm.ca import DEFAULT_CONFDIR

if TYPE_CHECKING:
    from mitmproxy import options
    from mitmproxy.master import Master

    from proxy.mitm.addon import PixelGate

SWITCH_INTERVAL_S = 0.001


def build_master(
    policy: str | None, host: str, port: int, settings: Sequence[str]
) -> tuple[Master, PixelGate]:
    """mitmproxy's master with PixelGate configured; raises OptionsError when options
    or the policy are invalid. Must be called with an event loop running."""
    from mitmproxy import exceptions, hooks, options

    from proxy.mitm.addon import PixelGate, refuse_content_leaking
    from proxy.mitm.drain import InFlight

    opts = options.Options(listen_host=host, listen_port=port, confdir=DEFAULT_CONFDIR)
    master = _master(opts)
    # mitmproxy's save addons open their file as soon as their option is set, before our
    # configure could refuse it: try the settings on a copy that no addon watches first.
    trial = copy.deepcopy(opts)
    trial.set(*settings, defer=True)
    refuse_content_leaking(trial, trial.keys())
    # Deferred, so the addon's own option is set before its first configure.
    opts.set(f"pixelgate_policy={policy or ''}", *settings, defer=True)
    addon = PixelGate()
    # Declares PixelGate's options: what is still deferred is unknown.
    master.addons.add(InFlight(), addon)
    if opts.deferred:
        unknown = ", ".join(sorted(opts.deferred))
        raise exceptions.OptionsError(f"unknown option(s): {unknown}")
    # mitmproxy configures only addons already in its chain when options change, so
    # configure ours once with every option, as its script loader does.
    master.addons.invoke_addon_sync(addon, hooks.ConfigureHook(set(opts.keys())))
    if addon.gate is None:
        raise exceptions.OptionsError("PixelGate did not load its policy")
    return master, addon


def run_proxy(policy: str | None, host: str, port: int, settings: Sequence[str]) -> int:
    """Run until SIGINT/SIGTERM, then let requests in flight finish (proxy.mitm.drain).
    Returns 2 when options or the policy are invalid."""
    from proxy.mitm import logsafe

    logsafe.install()  # before mitmproxy is imported: its records quote client bytes
    from mitmproxy import exceptions

    async def main() -> int:
        # Inspection runs in worker threads; whenever one holds the GIL, the event loop (every
        # other connection) waits for the interpreter's switch interval, 5 ms by default, on
        # each of the many wake-ups one request needs. 1 ms keeps the loop responsive.
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        # Termlog filters by its own verbosity; the root logger must let records through.
        logging.getLogger().setLevel(logging.DEBUG)
        for noisy in ("asyncio", "hpack", "quic", "tornado"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        try:
            master, addon = build_master(policy, host, port, settings)
        except exceptions.OptionsError as e:
            print(f"pixelgate: {_without_secrets(str(e), settings)}", file=sys.stderr)
            return 2
        from proxy.mitm.drain import Drain, InFlight

        loop = asyncio.get_running_loop()
        inflight = master.addons.get("inflight")
        assert isinstance(inflight, InFlight)  # added by build_master
        drain = Drain(master.options, master.shutdown, inflight)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, drain.request)
        loop.add_signal_handler(signal.SIGHUP, addon.request_reload)
        await master.run()
        return 0

    return asyncio.run(main())


def _without_secrets(message: str, settings: Sequence[str]) -> str:
    """mitmproxy quotes a bad proxyauth value whole, and an LDAP one holds a password."""
    for setting in settings:
        name, _, value = setting.partition("=")
        if name.strip() == "proxyauth" and len(value) > 1:
            message = message.replace(value, "<the proxyauth value>")
    return message


def _master(opts: options.Options) -> Master:
    """mitmdump's master without its flow dumper (no console or web view either: nothing
    keeps a flow once it is answered), and with PixelGate's `Login` in the place of
    mitmproxy's proxyauth addon, so logins are checked at the same point of the chain."""
    from mitmproxy import addons
    from mitmproxy.addons import errorcheck, keepserving, proxyauth, readfile
    from mitmproxy.master import Master

    from proxy.mitm.login import Login

    master = Master(opts, with_termlog=True)
    chain = [Login() if isinstance(a, proxyauth.ProxyAuth) else a for a in addons.default_addons()]
    master.addons.add(*chain)
    master.addons.add(keepserving.KeepServing(), readfile.ReadFileStdin(), errorcheck.ErrorCheck())
    return master
