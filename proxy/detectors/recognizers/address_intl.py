"""Street-address patterns for Japanese, Chinese, Russian (and other Cyrillic) and Arabic.

They are the last of StreetAddressRecognizer's patterns (proxy.detectors.recognizers.address).

Each pattern needs a street or block word of its own script next to a house number, so a
number in running text is not an address: Japanese "区/市/町 … 1丁目2番3号" or "2-8-1"
after a ward, town or village; Chinese "…路/街/道/巷 88号" (號 in traditional writing);
Russian "ул. Тверская, д. 7", "Невский проспект, 28"; Arabic "شارع …" (street), "طريق"
(road) and the like with a number before or after. The text is normalised first
(full-width and Arabic-Indic digits read as ASCII digits). Every repetition is bounded.
"""

from __future__ import annotations

from presidio_analyzer import Pattern

from proxy.detectors.normalize import folded_class

_HAN = r"[\p{Han}\p{Hiragana}\p{Katakana}ー々]"
_CJK_NUM = r"[\d〇零一二三四五六七八九十百]{1,5}"
_DASH = r"[-‐‑–—−ー－]"

# Japanese: a municipality (市, 区, 町, 村, 郡) then a district and a block number.
_JA = (
    rf"{_HAN}{{0,12}}[都道府県市区町村郡]{_HAN}{{0,10}}?"
    rf"{_CJK_NUM}(?:丁目|{_DASH})[ \t]?\d{{1,4}}(?:(?:番地?|{_DASH})[ \t]?\d{{1,4}})?(?:号)?"
)
_JA_POSTCODE = r"〒[ \t]?\d{3}-?\d{4}"

# Chinese: a road, street or lane name then the building number with 号/號.
_ZH = (
    rf"\p{{Han}}{{1,12}}(?:路|街|道|大道|巷|弄|胡同|里)"
    rf"(?:{_CJK_NUM}段)?(?:\d{{1,4}}巷)?(?:\d{{1,4}}弄)?\d{{1,5}}(?:{_DASH}\d{{1,4}})?[号號栋棟幢座]"
)

# Russian, Ukrainian, Bulgarian, Serbian: the street type before or after the name. The
# text is normalised (Cyrillic letters drawn like Latin ones read as those): "[уy]л".
_RU_TYPES = (
    "ул.", "улица", "вул.", "вулиця", "пр-т", "пр.", "просп.", "проспект", "пер.", "переулок",
    "пр-д", "проезд", "наб.", "набережная", "ш.", "шоссе", "б-р", "бул.", "бульвар", "пл.",
    "площадь", "туп.", "тупик", "мкр.", "микрорайон", "улице", "улицу", "улицы", "проспекте",
    "переулке", "площади", "набережной", "бульваре", "вулиці",
)  # fmt: skip
_RU_TYPE = "(?i:" + "|".join(folded_class(t) for t in sorted(set(_RU_TYPES), key=len)[::-1]) + ")"
_RU_NAME = r"[\p{L}\d][\p{L}\d.'’-]*(?:[ \t]+\p{L}[\p{L}.'’-]*){0,3}?"
_RU_HOUSE = (
    rf"(?:(?i:{folded_class('д.')}|{folded_class('дом')}|{folded_class('буд.')}|№)[ \t]*)?"
    r"\d{1,5}(?:[ \t]?\p{L}\b|/\d{1,4})?"
)
_RU = (
    rf"(?<!\p{{L}}){_RU_TYPE}[ \t]*{_RU_NAME},?[ \t]*{_RU_HOUSE}"
    rf"|(?<!\p{{L}})\p{{Lu}}[\p{{L}}.'’-]*(?:[ \t]+\p{{L}}+){{0,2}}?[ \t]+{_RU_TYPE}"
    rf",?[ \t]*{_RU_HOUSE}"
)

# Arabic: street, road, avenue, square, lane, district, with a house number either side.
# Persian words too (خیابان street, کوچه alley, بلوار boulevard, پلاک house number).
_AR_TYPE = (
    r"(?:شارع|ش\.|طريق|جادة|زقاق|ميدان|ساحة|حي|درب|نهج|مبنى|عمارة|"
    r"خیابان|کوچه|بلوار|پلاک|ص\.[ \t]?ب\.?)"
)
_AR_WORDS = r"\p{Arabic}+(?:[ \t]+\p{Arabic}+){0,4}?"
_AR = (
    rf"(?<!\p{{Arabic}}){_AR_TYPE}(?:[ \t]+{_AR_WORDS})?[ \t]*[،,]?[ \t]*(?:رقم[ \t]*)?\d{{1,5}}\b"
    rf"|\b\d{{1,5}}[ \t]*[،,]?[ \t]*{_AR_TYPE}[ \t]+\p{{Arabic}}+"
)

# Patterns of other scripts, in StreetAddressRecognizer's list after the Latin-script ones.
PATTERNS = [
    Pattern("ja_block", _JA, 0.6),
    Pattern("ja_postcode", _JA_POSTCODE, 0.6),
    Pattern("zh_street", _ZH, 0.6),
    Pattern("ru_street", _RU, 0.6),
    Pattern("ar_street", _AR, 0.6),
]
