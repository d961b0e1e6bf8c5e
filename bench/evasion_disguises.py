"""More disguises for bench/evasion_data.py (issue #15 item 8), and the undoing of each.

Digits: spelled out in English words, in Chinese numerals, as full-width digits, with the
letters O/o and l/I in place of 0 and 1, parted by unusual separators (_ | , · + and
dashes of every kind). Emails: the "@" between blanks, in brackets, spelled ("at-sign",
"{at}", "period"), wrapped in HTML or markdown, as an HTML entity, in full-width or with
ideographic full stops, letter by letter, the whole address backwards. Street addresses
in Japanese, Chinese, Russian and Ukrainian, and Arabic, from word lists of this file
(independent of proxy/).
"""

from __future__ import annotations

import html
import random
import re

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
HAN = "〇一二三四五六七八九"
CARD_SEPARATORS = ("_", "|", ",", "·", "+", " _ ", " | ", ", ", " · ", " + ", "__", ",")
DASHES = ("\u2013", "\u2014", "\u2012", "\u2212", " \u2013 ", "\u2010", "\u2011")


def _digits_only(value: str) -> str:
    return re.sub(r"\D", "", value)


def _groups(value: str, rng: random.Random) -> list[str]:
    """The value's own groups (phones) or groups of four (cards, IBAN digits)."""
    if " " in value.strip():
        return value.split(" ")
    compact = value.replace(" ", "")
    return [compact[i : i + 4] for i in range(0, len(compact), 4)]


def spelled_digits(value: str, rng: random.Random) -> str:
    sep = rng.choice((" ", " ", ", ", "-", " - "))
    oh = rng.random() < 0.3
    words = []
    for group in _groups(value, rng):
        if group.isdigit() and rng.random() < 0.85:
            spelled = [("oh" if oh and d == "0" else WORDS[int(d)]) for d in group]
            if rng.random() < 0.3:
                spelled = [w.capitalize() for w in spelled]
            words.append(sep.join(spelled))
        else:
            words.append(group)
    return sep.join(words)


def han_digits(value: str, rng: random.Random) -> str:
    zero = rng.choice(("〇", "零"))
    return "".join(zero if ch == "0" else HAN[int(ch)] if ch.isdigit() else ch for ch in value)


def fullwidth_digits(value: str, rng: random.Random) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in value)


def letter_digits(value: str, rng: random.Random) -> str:
    out = "".join(
        rng.choice("Oo") if ch == "0" and rng.random() < 0.8
        else rng.choice("lI") if ch == "1" and rng.random() < 0.8
        else ch
        for ch in value
    )  # fmt: skip
    return out


def card_separated(value: str, rng: random.Random, seps: tuple[str, ...]) -> str:
    sep = rng.choice(seps)
    digits = _digits_only(value)
    return sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))


def _local_domain(value: str) -> tuple[str, str]:
    local, domain = value.split("@")
    return local, domain


def spaced_at(value: str, rng: random.Random) -> str:
    local, domain = _local_domain(value)
    return local + rng.choice((" @ ", "  @  ", " @", "@ ", "\t@ ")) + domain


def bracketed_at(value: str, rng: random.Random) -> str:
    local, domain = _local_domain(value)
    at = rng.choice(("[@]", "(@)", "{@}", "<@>", " [@] ", " (@) ", " { @ } "))
    return local + at + domain


def spelled_at_sign(value: str, rng: random.Random) -> str:
    local, domain = _local_domain(value)
    at, dot = rng.choice(
        (("{at}", "{dot}"), (" at-sign ", " period "), (" at sign ", " dot "),
         ("(at-sign)", "(period)"), (" at symbol ", " point "), (" [at sign] ", " [dot] "),
         (" AT-SIGN ", " PERIOD "), ("{at}", "."))
    )  # fmt: skip
    return local.replace(".", dot) + at + domain.replace(".", dot)


def letter_spaced(value: str, rng: random.Random) -> str:
    return rng.choice((" ", "  ", " ")).join(value)


def markup_at(value: str, rng: random.Random) -> str:
    local, domain = _local_domain(value)
    at = rng.choice(("<b>@</b>", "**@**", "<span>@</span>", "_@_", "`@`", "<i>@</i>",
                     "<strong>@</strong>", "*@*", '<span class="x">@</span>', "~~@~~"))  # fmt: skip
    return local + at + domain


def entity_at(value: str, rng: random.Random) -> str:
    local, domain = _local_domain(value)
    at = rng.choice(("&#64;", "&commat;", "&#x40;", "&#064;"))
    if rng.random() < 0.4:
        domain = domain.replace(".", rng.choice(("&#46;", "&period;")))
    return local + at + domain


def cjk_punctuation(value: str, rng: random.Random) -> str:
    at = rng.choice(("＠", "@", "＠"))
    dot = rng.choice(("。", "．", "｡", "。"))
    return value.replace("@", at).replace(".", dot)


def reversed_text(value: str, rng: random.Random) -> str:
    return value[::-1]


# --- street addresses in other scripts -----------------------------------------------

_JA = (
    ("東京都", "千代田区", "丸の内"), ("東京都", "新宿区", "西新宿"),
    ("大阪府", "大阪市北区", "梅田"), ("神奈川県", "横浜市中区", "山下町"),
    ("愛知県", "名古屋市中村区", "名駅"), ("北海道", "札幌市中央区", "北一条西"),
    ("京都府", "京都市下京区", "烏丸通"),
)  # fmt: skip
_ZH = (
    ("北京市", "朝阳区", "建国"), ("上海市", "浦东新区", "世纪"), ("广州市", "天河区", "天河"),
    ("深圳市", "南山区", "科技"), ("台北市", "信義區", "信義"), ("成都市", "锦江区", "春熙"),
)  # fmt: skip
_RU_STREETS = ("Тверская", "Ленина", "Пушкина", "Садовая", "Мира", "Гагарина", "Хрещатик")
_RU_TYPES = ("ул.", "улица", "проспект", "пер.", "бульвар", "вул.", "наб.")
_AR_STREETS = ("التحرير", "الملك فهد", "الحمراء", "الجمهورية", "النيل", "الملك فيصل", "الرشيد")
_AR_TOWNS = ("القاهرة", "الرياض", "بيروت", "عمّان", "دبي", "تونس")


def addresses(rng: random.Random, n: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"ja": [], "zh": [], "ru": [], "ar": []}
    for _ in range(n):
        a, b, c = (rng.randint(1, 9), rng.randint(1, 30), rng.randint(1, 20))
        pref, city, town = rng.choice(_JA)
        out["ja"].append(rng.choice((f"{pref}{city}{town}{a}丁目{b}番{c}号",
                                     f"{pref}{city}{town}{a}-{b}-{c}",
                                     f"〒{rng.randint(100, 999)}-{rng.randint(1000, 9999)} "
                                     f"{city}{town}{a}丁目{b}-{c}")))  # fmt: skip
        city, district, road = rng.choice(_ZH)
        num = rng.randint(1, 500)
        out["zh"].append(
            rng.choice(
                (
                    f"{city}{district}{road}路{num}号",
                    f"{road}大道{num}号",
                    f"{city}{road}街{num}號",
                    f"{district}{road}路{a}段{num}號",
                )
            )
        )
        street, kind = rng.choice(_RU_STREETS), rng.choice(_RU_TYPES)
        out["ru"].append(rng.choice((f"{kind} {street}, д. {num}", f"{kind} {street} {num}",
                                     f"{street} {kind}, {num}, кв. {b}",
                                     f"г. Москва, {kind} {street}, дом {num}")))  # fmt: skip
        street, town = rng.choice(_AR_STREETS), rng.choice(_AR_TOWNS)
        out["ar"].append(
            rng.choice(
                (
                    f"{num} شارع {street}، {town}",
                    f"شارع {street} رقم {num}",
                    f"{town}، شارع {street} {num}",
                    f"طريق {street} {num}",
                )
            )
        )
    return out


# --- undoing them (the leak rule) -----------------------------------------------------

_TAG = re.compile(r"</?[A-Za-z][^<>]{0,40}>")
_MARK_AT = re.compile(r"[*_~`]+@[*_~`]+")
_WORD_DIGIT = re.compile(r"\b(zero|oh|one|two|three|four|five|six|seven|eight|nine)\b", re.I)
_LETTER_RUN = re.compile(r"(?<![A-Za-z])[0-9OolI]*[0-9][0-9OolI]*(?![A-Za-z])")


def undo(text: str) -> str:
    text = html.unescape(_TAG.sub("", text))
    text = _MARK_AT.sub("@", text)
    text = text.replace("。", ".").replace("｡", ".")
    text = "".join(str(HAN.index(ch)) if ch in HAN else "0" if ch == "零" else ch for ch in text)
    text = _WORD_DIGIT.sub(lambda m: str(WORDS.index(m[1].lower()) if m[1].lower() != "oh"
                                         else 0), text)  # fmt: skip
    return _LETTER_RUN.sub(lambda m: m[0].translate(str.maketrans("OolI", "0011")), text)
