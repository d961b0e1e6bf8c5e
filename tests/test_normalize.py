from __future__ import annotations

import pytest

from proxy.normalize import normalize


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
