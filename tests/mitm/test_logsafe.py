"""Records of other libraries lose what the client wrote; PixelGate's own stay as written."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest

from proxy.mitm import logsafe

EMAIL = "zofia.wrzesniewska@example.net"
CARD = "4539148803436467"
KEY = "sk-live-Qm7hX2pL9vR4"
HOST = "imagegen.internal-corp.example"
PROMPT = "portrait of Zofia Wrzesniewska"
PLANTED = (EMAIL, CARD, KEY, HOST, PROMPT, "Zofia", "Wrzesniewska", "4539", "6467")

HEAD = (
    f"POST /v1/images/generations?user={EMAIL} HTTP/1.1\r\nHost: {HOST}\r\n"
    f"Authorization: Bearer {KEY}\r\ncontent-length: 40\r\n\r\n"
    f'{{"prompt": "{PROMPT}, card {CARD}"}}'
).encode()

# (message as mitmproxy, h2 or asyncio builds it, words of the template that must stay);
# each f-string is copied from the library's source with planted values in its fields.
MESSAGES = [
    (  # mitmproxy/proxy/layers/http/_http1.py
        f"Client closed connection before completing request headers: {HEAD!r}",
        "Client closed connection before completing request headers",
    ),
    (  # mitmproxy/net/http/http1/read.py, wrapped by _http1.py
        "HTTP/1 protocol error: Bad HTTP request line: "
        f"{f'POST /v1/images?card={CARD} HTTP/1.1 {EMAIL}'.encode()!r}",
        "protocol error: Bad HTTP request line",
    ),
    (  # mitmproxy/net/http/http1/read.py: a header line without a colon
        f"HTTP/1 protocol error: Invalid header line: {f'Bearer {KEY}'.encode()!r}",
        "protocol error: Invalid header line",
    ),
    (  # h2/utilities.py through mitmproxy/proxy/layers/http/_http2.py
        "HTTP/2 protocol error: Received header value surrounded by whitespace "
        f"{f' {KEY} '.encode()!r}",
        "protocol error: Received header value surrounded by whitespace",
    ),
    (  # h2/utilities.py through _http2.py: an uppercase header name
        "Invalid HTTP/2 request headers: Received uppercase header name "
        f"{b'X-Card-' + CARD.encode()!r}.",
        "Invalid request headers: Received uppercase header name",
    ),
    (  # mitmproxy/proxy/layers/tls.py
        f"Client TLS handshake failed. The client does not trust the proxy's certificate for "
        f"{HOST} (('SSL routines', '', 'sslv3 alert certificate unknown'))",
        "Client TLS handshake failed. The client does not trust the proxy",
    ),
    (  # mitmproxy/proxy/server.py
        f"server connect {HOST}:443 (10.1.2.3:443)",
        "server connect",
    ),
    (  # mitmproxy/proxy/server.py
        f"connection handler has crashed: {ValueError(EMAIL, CARD)}",
        "connection handler has crashed:",
    ),
    (  # mitmproxy/master.py
        f"Unhandled asyncio error: {{'message': 'Exception in callback', 'handle': '{PROMPT}'}}",
        "Unhandled asyncio error",
    ),
]


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Records of every logger, made with logsafe installed (restored afterwards)."""
    factory = logging.getLogRecordFactory()
    hooks = (sys.excepthook, threading.excepthook, sys.unraisablehook, warnings.showwarning)
    seen: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = seen.append  # type: ignore[method-assign]
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logsafe.install()
    try:
        yield seen
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        logging.setLogRecordFactory(factory)
        sys.excepthook, threading.excepthook, sys.unraisablehook, warnings.showwarning = hooks


def written(record: logging.LogRecord) -> str:
    return logging.Formatter().format(record)


@pytest.mark.parametrize(("message", "template"), MESSAGES)
def test_planted_values_leave_library_messages_and_template_words_stay(
    records: list[logging.LogRecord], message: str, template: str
) -> None:
    logging.getLogger("mitmproxy.proxy.server").info(message, extra={"client": ("10.0.0.7", 5)})
    (record,) = records
    text = written(record)
    assert not [value for value in PLANTED if value in text]
    for word in template.split():
        assert word in text
    assert record.name == "mitmproxy.proxy.server"
    assert record.levelno == logging.INFO
    assert record.client == ("10.0.0.7", 5)  # type: ignore[attr-defined]


def test_arguments_are_folded_in_before_the_rewrite(records: list[logging.LogRecord]) -> None:
    logging.getLogger("h2.connection").debug("Process received data %r", HEAD)
    (record,) = records
    assert record.args == ()
    assert not [value for value in PLANTED if value in written(record)]


def test_addresses_with_ports_are_kept(records: list[logging.LogRecord]) -> None:
    logging.getLogger("mitmproxy").info(
        "server connect [2001:db8::7]:8443 (127.0.0.1:443), listening at *:8080."
    )
    assert written(records[0]) == (
        "server connect [2001:db8::7]:8443 (127.0.0.1:443), listening at *:8080."
    )


def test_card_number_shaped_as_an_address_is_not_kept(records: list[logging.LogRecord]) -> None:
    logging.getLogger("mitmproxy").info("server connect 4539.1488.0343.6467:443 4539148803:80")
    assert "4539" not in written(records[0])


def test_exception_keeps_its_type_and_frames_not_its_message(
    records: list[logging.LogRecord],
) -> None:
    def parse_headers() -> None:
        raise KeyError(f"Authorization: Bearer {KEY}")

    try:
        try:
            parse_headers()
        except KeyError as e:
            raise ValueError(EMAIL, CARD) from e
    except ValueError:
        logging.getLogger("mitmproxy.proxy.server").error("mitmproxy has crashed!", exc_info=True)
    (record,) = records
    text = written(record)
    assert record.exc_info is None and record.exc_text is None
    assert not [value for value in PLANTED if value in text]
    assert text.startswith("mitmproxy has crashed!\nTraceback (most recent call last):")
    assert "in parse_headers" in text and f'File "{__file__}"' in text
    assert "\nKeyError\n" in text and text.endswith("\nValueError")
    assert "direct cause" in text


def test_task_exception_never_retrieved_names_only_the_type(
    records: list[logging.LogRecord],
) -> None:
    async def upload() -> None:
        raise RuntimeError(f"{PROMPT} {CARD}")

    async def main() -> None:
        asyncio.get_running_loop().create_task(upload())
        await asyncio.sleep(0.01)

    asyncio.run(main())
    gc.collect()
    text = "\n".join(written(r) for r in records if r.name == "asyncio")
    assert "Task exception was never retrieved" in text and "RuntimeError" in text
    assert not [value for value in PLANTED if value in text]


def test_pixelgate_records_are_left_as_written(records: list[logging.LogRecord]) -> None:
    logging.getLogger("pixelgate").info("policy %s loaded", "strict.yaml")
    logging.getLogger("proxy.mitm.addon").info("kept")
    logging.getLogger("local_fallback.server").info("%s %s %s", "POST", "/v1/images/edits", 200)
    assert [written(r) for r in records] == [
        "policy strict.yaml loaded",
        "kept",
        "POST /v1/images/edits 200",
    ]


def test_a_message_whose_arguments_do_not_fit_is_still_written(
    records: list[logging.LogRecord],
) -> None:
    logging.getLogger("mitmproxy").warning("%s and %s", EMAIL)
    assert written(records[0]) == logsafe.PLACEHOLDER


def test_install_twice_rewrites_once(records: list[logging.LogRecord]) -> None:
    logsafe.install()
    logging.getLogger("mitmproxy").info("server connect 127.0.0.1:443")
    assert written(records[0]) == "server connect 127.0.0.1:443"


def test_thread_crash_and_warning_name_only_types(records: list[logging.LogRecord]) -> None:
    def crash() -> None:
        raise ValueError(EMAIL)

    thread = threading.Thread(target=crash)
    thread.start()
    thread.join()
    warnings.showwarning(UserWarning(CARD), UserWarning, __file__, 7)
    text = "\n".join(written(r) for r in records)
    assert "ValueError" in text and "in crash" in text and "UserWarning" in text
    assert not [value for value in PLANTED if value in text]


def test_a_record_that_cannot_be_rewritten_is_hidden_not_raised(
    records: list[logging.LogRecord],
) -> None:
    not_an_exception = (ValueError, EMAIL, None)
    logging.getLogger("mitmproxy").error("crashed", exc_info=not_an_exception)  # type: ignore[arg-type]
    assert written(records[0]) == logsafe.PLACEHOLDER


def test_a_long_message_is_cut_before_it_is_read(records: list[logging.LogRecord]) -> None:
    logging.getLogger("mitmproxy").info("error " * 1000 + EMAIL)
    text = written(records[0])
    assert len(text) <= logsafe.MAX_CHARS + 1 and text.endswith(logsafe.PLACEHOLDER)


def test_every_word_of_mitmproxys_proxy_log_calls_is_kept() -> None:
    """The vocabulary was read from mitmproxy's source; a new mitmproxy's new words show here."""
    import ast
    import re
    from pathlib import Path

    import mitmproxy.proxy

    words: set[str] = set()
    for path in Path(mitmproxy.proxy.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            func = getattr(node, "func", None)
            name = getattr(func, "attr", getattr(func, "id", None))
            if isinstance(node, ast.Call) and name in ("Log", "log", "debug", "info", "warning"):
                for part in ast.walk(node.args[0]) if node.args else ():
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        found = re.findall(r"[a-z0-9]{2,}", part.value.lower())
                        words.update(w for w in found if not w.isdigit())
    assert len(words) > 100
    assert sorted(words - logsafe.WORDS - {"com", "org", "github"}) == []
