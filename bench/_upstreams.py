"""TLS upstreams on loopback for the benchmarks, in a spawned process of their own (so their
CPU is not the load generator's), one server per name, sharing one certificate.

`answer(name, request)` (a module-level function, as it crosses into the spawned process)
gives each server's answers; without one, every server answers like OpenAI Images. The
servers keep no request body: a benchmark's thousands of photos would grow them by GBs.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from helpers.e2e import Received, Upstream, make_cert, openai_answer, serve_upstream  # noqa: E402

NamedAnswer = Callable[[str, Received], tuple[int, dict[str, str], bytes]]


class _Discard(list):  # type: ignore[type-arg]
    def append(self, item: object) -> None:
        pass


def _main(directory: str, names: Sequence[str], answer: NamedAnswer | None, conn: Any) -> None:
    keypair = make_cert(Path(directory))
    servers, ports = [], {}
    for name in names:
        reply = openai_answer if answer is None else (lambda r, n=name: answer(n, r))
        upstream, server = serve_upstream(Path(directory), reply, keypair)
        upstream.received = _Discard()
        servers.append(server)
        ports[name] = upstream.port
    conn.send((ports, str(keypair[0])))
    conn.recv()  # anything, or EOF when the parent goes away, ends them
    for server in servers:
        server.shutdown()


class Upstreams:
    def __init__(
        self, directory: Path, names: Sequence[str] = ("openai",), answer: NamedAnswer | None = None
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self.process = context.Process(
            target=_main, args=(str(directory), tuple(names), answer, child)
        )
        self.process.start()
        if not self._conn.poll(60):
            self.process.kill()
            raise RuntimeError("the upstreams did not start")
        self.ports: dict[str, int]
        self.ports, cert = self._conn.recv()
        self.cert = Path(cert)

    def upstream(self, name: str = "openai") -> Upstream:
        return Upstream(self.ports[name], self.cert)

    def stop(self) -> None:
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
