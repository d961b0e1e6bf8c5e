from __future__ import annotations

import pytest

from proxy.detectors.normalize import NormalizedText, normalize


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain ascii", "plain ascii"),
        ("jane\u200b.doe@exa\u200dmple.org", "jane.doe@example.org"),
        ("\u202ejane@example.org\u202c", "jane@example.org"),
        ("\uff14\uff11\uff11\uff11 1111", "4111 1111"),
        ("jane\uff20example\uff0eorg", "jane@example.org"),
        ("soft\u00adhyphen", "softhyphen"),
        ("non\u00a0breaking", "non breaking"),
        ("\ufb01le", "file"),
        ("emoji\ufe0f variation", "emoji variation"),
    ],
)
def test_normalised_text_defeats_invisible_and_compatibility_characters(
    text: str, expected: str
) -> None:
    assert normalize(text).text == expected


def test_offsets_map_back_to_the_original_span() -> None:
    original = "mail: jane\u200b.doe\uff20example.org ok"
    norm = normalize(original)
    start = norm.text.index("jane")
    end = start + len("jane.doe@example.org")
    o_start, o_end = norm.original_span(start, end)
    assert original[o_start:o_end] == "jane\u200b.doe\uff20example.org"


def test_ascii_text_is_its_own_map() -> None:
    norm = normalize("abc")
    assert norm.origin == (0, 1, 2)
    assert norm.original_span(1, 3) == (1, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("j\u0430ne@ex\u0430mple.\u0441\u043em", "jane@example.com"),  # Cyrillic a, c, o
        ("\u039f\u03bder", "Over"),  # Greek capital omicron, small nu
        ("GB82 \u0412\u0415ST 1234", "GB82 BEST 1234"),
        ("\u0664\u0661\u0661\u0661 \u06f1\u06f1\u06f1\u06f1", "4111 1111"),  # Arabic-Indic, Persian
        ("\u096a\u0967 \u0e54\u0e51", "41 41"),  # Devanagari, Thai
    ],
)
def test_look_alike_letters_and_digits_of_other_scripts_fold_to_ascii(
    text: str, expected: str
) -> None:
    assert normalize(text).text == expected


def test_folding_keeps_one_original_character_per_folded_one() -> None:
    original = "mail j\u0430ne@ex\u0430mple.com"
    norm = normalize(original)
    start = norm.text.index("jane")
    assert original[slice(*norm.original_span(start, len(norm.text)))] == original[5:]


def test_right_to_left_override_is_read_in_display_order_on_request() -> None:
    original = "write \u202emoc.elpmaxe@enaj\u202c on it"
    assert normalize(original).text == "write moc.elpmaxe@enaj on it"  # as stored
    norm = normalize(original, display_order=True)
    assert norm.text == "write jane@example.com on it"
    start = norm.text.index("jane")
    o_start, o_end = norm.original_span(start, start + len("jane@example.com"))
    assert original[o_start:o_end] == "moc.elpmaxe@enaj"


def test_an_override_ends_with_its_paragraph() -> None:
    assert normalize("\u202ecba\nabc", display_order=True).text == "abc\nabc"


def test_a_character_standing_for_a_run_maps_back_to_the_whole_run() -> None:
    norm = NormalizedText("x@", (0, 4), 9, (4, 9))
    assert norm.original_span(0, 2) == (0, 9)
