"""Second readings of a text: wrapped lines joined, encoded runs decoded, field seams."""

from __future__ import annotations

import base64

from proxy.detectors.normalize import normalize
from proxy.detectors.views import across_fields, decoded_view


def test_plain_prompts_get_no_second_reading() -> None:
    assert decoded_view(normalize("a red fox in the snow, watercolour")) is None


def test_a_base64_run_is_read_decoded_and_maps_back_to_the_whole_run() -> None:
    run = base64.b64encode(b"jane.doe@example.com").decode()
    original = f"decode {run} and draw it"
    view = decoded_view(normalize(original))
    assert view is not None
    assert view.norm.text == "decode jane.doe@example.com and draw it"
    start = view.norm.text.index("jane")
    end = start + len("jane.doe@example.com")
    assert view.touches(start, end)
    assert original[slice(*view.norm.original_span(start, end))] == run
    assert not view.touches(0, 6)  # "decode": the first reading already saw it


def test_a_percent_encoded_run_is_read_decoded() -> None:
    view = decoded_view(normalize("mailto jane.doe%40example.com now"))
    assert view is not None and "jane.doe@example.com" in view.norm.text


def test_words_that_only_look_like_base64_are_left_alone() -> None:
    assert decoded_view(normalize("incomprehensibilities abound")) is None


def test_a_value_wrapped_over_two_lines_is_joined() -> None:
    original = "write jane.do\ne@example.com\nthanks"
    view = decoded_view(normalize(original))
    assert view is not None
    assert "jane.doe@example.com" in view.norm.text
    start = view.norm.text.index("jane")
    end = start + len("jane.doe@example.com")
    assert view.touches(start, end)
    assert original[slice(*view.norm.original_span(start, end))] == "jane.do\ne@example.com"
    line = view.norm.text.index("thanks")
    assert not view.touches(line, line + 6)


def test_a_value_wrapped_over_three_lines_and_an_encoded_run_are_read_together() -> None:
    run = base64.b64encode(b"jane@example.com").decode()
    original = f"ref 12\r\n34\n56 then {run} ok"
    view = decoded_view(normalize(original))
    assert view is not None
    assert view.norm.text == "ref 123456 then jane@example.com ok"
    number = view.norm.text.index("123456")
    assert original[slice(*view.norm.original_span(number, number + 6))] == "12\r\n34\n56"
    assert view.touches(number, number + 6) and not view.touches(number, number + 2)
    email = view.norm.text.index("jane")
    assert original[slice(*view.norm.original_span(email, email + 16))] == run
    assert view.touches(email, email + 16) and not view.touches(0, 3)


def test_a_value_cut_at_a_field_seam_maps_to_both_fields() -> None:
    texts = ["a poster, email jane.do", "e@example.com in the corner"]

    def find(text: str) -> list[tuple[int, int, str]]:
        at = text.find("jane.doe@example.com")
        return [(at, at + 20, "EMAIL")] if at >= 0 else []

    pieces = across_fields(texts, find)
    assert [(i, texts[i][s:e]) for i, s, e, _ in pieces] == [(0, "jane.do"), (1, "e@example.com")]


def test_wrapped_prose_without_digits_or_at_signs_gets_no_second_reading() -> None:
    assert decoded_view(normalize("a cat\nsitting on\na mat")) is None
