"""Log records that cannot carry what a client wrote, whichever library made them.

mitmproxy, h2 and asyncio quote what they could not parse in their messages and exception
reprs: a header block cut short, a request line, a header value, the SNI, a host name. Once
`install()` has run, every record made by a logger other than PixelGate's own ("pixelgate",
"proxy", "local_fallback" and below them) is rewritten as it is created, before any filter or
handler sees it: its message, with the arguments folded in, keeps only words of mitmproxy's,
h2's and asyncio's own message templates (`WORDS`), IPv4/IPv6 address:port tokens and
punctuation, and everything else becomes one `…` per stretch; its exception becomes type names
and frames (file, line, function), never a message, an argument or a local. The logger's name,
level and mitmproxy's `client` extra (the peer address) stay. Uncaught exceptions, thread
crashes, unraisable exceptions and warnings are routed through the same rewrite instead of
Python's printers.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
import threading
import traceback
import warnings
from types import TracebackType
from typing import Any

PLACEHOLDER = "…"
# PixelGate's code, whose messages are content-free by design: local_fallback is ours too, and
# `pixelgate fallback serve` logs served requests there (tests count those lines).
OWN_LOGGERS = ("pixelgate", "proxy", "local_fallback")
# A longer message is cut first: it is client bytes, and tokenising it would cost event-loop time.
MAX_CHARS = 2000

# Every word of the log and exception messages in mitmproxy/proxy, addons, net, utils, tools and
# its top-level modules, h2's exceptions and asyncio's log calls (taken from mitmproxy 11.0.2 by
# reading the string constants of their log calls and raise statements), lower case. Left out:
# single letters but "a" and "s" ("HTTP(S)", "proxy's"), as a content word could be spelt out
# one letter at a time, and the domain, product and format names that happen to appear there
# ("com", "org", "github", ...).
WORDS = frozenset(
    """
a accept access ack acknowledge active add added additional addon addons addr address
advertise after alert alive all allowed alpn already alt alternative altsvc an and annotated
annotation anyway api app are argument arguments as assemble assign associated async
asyncgens asynchronous asyncio at attempt attempted attempting attribute auth authority auto
automatically available away back bad be because been before behavior being below between
block bodies body bool boolean booleans both bounds browser buffer build but by byte bytes
bytestring ca call callable called can cancelling candidates cannot caught cb cert
certificate certificates certs chain change changed changelog characters check child choice
chunked cipher ciphers classes cleaned cleared cleartext client clientcert clienthello
clipped close closed closing code collected command commandcompleted commands communicate
compile completed completing compliant concepts concurrency config configuration conflicting
connect connected connection connectioninputs connections consider contains content context
continuation control cookie corrupted could crashed create created creation cryptography ctx
current currently curve custom cut cuts data dataclass datagram datapath debug decision
decode decoded decoding default deferring delete deleting depend deprecated destroyed
detached details dh dict directly disabled disconnect dns do does domain done drop dtls due
dump duplicate duplicated during early ecdh effect elliptic emitted empty enable enabled
encode encoded encoding encountered end endpoint enough eof error errored establish
established establishing even event events exceed exception executing exhausted exist
existing exists exit exited expected expects experimental expired explicitly export
expression extension extra fail failed failing failure falling false fd features feed field
fields file files filter final find flow flows focus folder following for forbidden form
format forwarded found frame frames from future garbage generator get
getqueuedcompletionstatus getsockname given global got h2 h2c half handle handled handler
handlers handles handling handshake has have header headers help hook host hostname http
httpflow https id ids if ignoring illegal immutable implementations implemented in
inactivity include incoming increase increment index indicates info information
informational initial initializing initiate initiating inject input insecure installation
instance instantiated instead int integer interface internal interpreter into invalid ip
ipv4 is issues it iterable its itself keep key keys kill killable killed knowledge label
labels large layer lazy leaf len length level libssl limit line list listen listening live
load loaded loading local log logging long loop lowercased mandatory manually many map
marker match matched max may message messages method min misconfiguration mismatch
mismatched missing mitmproxy mode modes modified modify module more ms multipart multiple
must mustn name needs negative negotiated network never new next nextlayer no non none nopop
not note notify now null number object occurred of offset omitted on one only op open
openssl option options or order origin os osproxy our out outbound outdated outside over
overlapped overlong oversized package packet pad padding parameters params parent parse
party passed passing past patch path paths pause pauses payload peer peername peers pending
pid pids ping pipe plan platform playback please pointer port preamble present previous
prior prioritize private proactor problem process processing promise properly proto protocol
provide provided proxy proxyauth proxyserver pseudo public push pushed python question queue
quic raised range rdata read reading reason receive received record recursively redirect
redirector regenerated regular related remote removal remove removed removing renamed
replacement replay report request requests required requires reserved reset resource
response responses restarting restore resume resumes retrieved return returncode returned
returning reuse reverted riding rst run running s same sans save saved scheduled scheme script
seclevel seconds see selector self send sending sendto sent sequence server servers service
serving set setting settings should shrunk shutdown side sigchld signal signalled since
single size skipped skipping sni socket socks5 spawn spec specific specification specified
specify ssl sslprotocoltransport stable stage stale standard started starthook starting
starts state status stdin stopped str strategy stream streamed streaming streaminputs
streams string strings subclass subclasses submit subprocess subprocesses such support
supported supports suppress surrounded svc swallowing sync synonym system takes task tcp te
termination text than that the third this though time tls to toggled toggler too took
trailer trailers trailing transfer transparent transport transports trigger true trust trusted
trying tun two type udp un unable unavailable uncaught unclosed unexpected unexpectedly
unhandled unicode unix unknown unpack unreachable unregister unsupported untrusted up update
upgrade upgrading uppercase upstream url use used user using valid validate value values
version versions view wait wakeup want warn warning was watcher we websocket
websocketmessage weight weren when where which while whitespace will window with within
without work workaround write writing yet you your zero""".split()
)

_SEPARATOR = r"[ \t\n!-/:-@\[-`{-~]"  # ASCII punctuation and whitespace but carriage returns
# One token at a time, separators skipped: IPv4:port, [IPv6]:port and *:port as mitmproxy's
# human.format_address writes them (the lookarounds keep a run of digits such as a card number
# from lending its middle to one), else a word, else any other character.
_TOKEN = re.compile(
    r"(?<![\w.:\[])(?P<address>(?:(?P<v4>\d{1,3}(?:\.\d{1,3}){3})|\[(?P<v6>[0-9A-Fa-f:.]{2,45})\]"
    r"|\*):(?P<port>\d{1,5}))(?!\w|[.:]\w)"
    rf"|(?P<word>[A-Za-z0-9]+)|(?!{_SEPARATOR}).",
    re.S,
)
_HIDDEN = "\0"  # stands for a hidden token until stretches of them are joined
_STRETCH = re.compile(rf"{_HIDDEN}(?:{_SEPARATOR}*{_HIDDEN})*")


def is_own(logger_name: str | None) -> bool:
    """PixelGate's own loggers, whose messages are written content-free by design."""
    name = logger_name or ""
    return any(name == own or name.startswith(own + ".") for own in OWN_LOGGERS)


def clean_text(text: str) -> str:
    """`text` with every token that is not a template word, an address:port or punctuation
    hidden, and each stretch of hidden tokens (with the punctuation between) as one `…`."""
    cut = len(text) > MAX_CHARS
    kept = _TOKEN.sub(_keep_or_hide, text[:MAX_CHARS]) + (_HIDDEN if cut else "")
    return _STRETCH.sub(PLACEHOLDER, kept)


def _keep_or_hide(match: re.Match[str]) -> str:
    token = match.group()
    if match["address"]:
        return token if _is_address(match) else _HIDDEN
    return token if match["word"] and token.lower() in WORDS else _HIDDEN


def _is_address(match: re.Match[str]) -> bool:
    if int(match["port"]) > 65535:
        return False
    if v4 := match["v4"]:  # by hand: ipaddress costs more than the rest of a short message
        return all(o == "0" or (o[0] != "0" and int(o) <= 255) for o in v4.split("."))
    if v6 := match["v6"]:
        try:
            ipaddress.IPv6Address(v6)
        except ValueError:
            return False
    return True


def describe_exception(error: BaseException) -> str:
    """A traceback of `error` and the exceptions chained to it: type names and frames
    (file, line, function), no messages, no source lines, no locals."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    blocks: list[str] = []
    for exc, link in reversed(chain):
        lines = ["Traceback (most recent call last):"] if exc.__traceback__ else []
        frames = traceback.StackSummary.extract(
            traceback.walk_tb(exc.__traceback__), lookup_lines=False
        )
        lines += [f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in frames]
        lines.append(_type_name(type(exc)))
        blocks.append("\n".join(lines))
        if link:
            blocks.append(link)
    return "\n".join(blocks)


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n"


def _type_name(cls: type[BaseException]) -> str:
    module = getattr(cls, "__module__", "")
    return (
        cls.__qualname__
        if module in ("builtins", "__main__", "")
        else f"{module}.{cls.__qualname__}"
    )


def scrub(record: logging.LogRecord) -> None:
    """Rewrite `record` in place as described in the module docstring."""
    try:
        message = record.getMessage()
    except Exception:  # a message whose arguments do not fit its template
        message = PLACEHOLDER
    message = clean_text(message)
    if isinstance(record.exc_info, tuple) and record.exc_info[1] is not None:
        message = f"{message}\n{describe_exception(record.exc_info[1])}"
    # Folded into the message: mitmproxy's formatter prints exc_info but ignores exc_text.
    record.msg, record.args = message, ()
    record.exc_info, record.exc_text = None, None


class _Factory:
    """The record factory: the one that was installed before, then `scrub` for other loggers."""

    def __init__(self, previous: Any) -> None:
        self.previous = previous

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self.previous(*args, **kwargs)
        if not is_own(record.name):
            try:
                scrub(record)
            except Exception:  # a log call must not fail, nor fall back to the raw record
                record.msg, record.args = PLACEHOLDER, ()
                record.exc_info, record.exc_text = None, None
        return record


_log = logging.getLogger("pixelgate")


def install() -> None:
    """Rewrite every later record of other loggers, and send uncaught exceptions, thread
    crashes, unraisable exceptions and warnings through the same rewrite. Idempotent."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _Factory):
        logging.setLogRecordFactory(_Factory(current))
    sys.excepthook = _uncaught
    threading.excepthook = _thread_crashed
    sys.unraisablehook = _unraisable
    warnings.showwarning = _warning


def _uncaught(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
    _log.error("uncaught exception\n%s", describe_exception(error.with_traceback(tb)))


def _thread_crashed(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit and args.exc_value is not None:
        _log.error("uncaught exception in a thread\n%s", describe_exception(args.exc_value))


def _unraisable(unraisable: Any) -> None:
    if unraisable.exc_value is not None:
        _log.error("exception ignored\n%s", describe_exception(unraisable.exc_value))


def _warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    _log.warning("%s at %s:%s: %s", category.__name__, filename, lineno, clean_text(str(message)))
