"""Leak-set prompts for bench/quality.py, and the rule that says whether a planted value leaked.

Templates and fake identities come from the presidio-evaluator 0.3.2 wheel (read with zipfile;
the package itself is never installed: its dependencies conflict with mitmproxy's pins). Values
the identity CSV cannot give (its card numbers are in scientific notation) come from a seeded
Faker. Every prompt records the values planted in it and their entity class.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import random
import re
import subprocess
import sys
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faker import Faker

WHEEL = "presidio_evaluator-0.3.2-py3-none-any.whl"
RAW = "presidio_evaluator/data_generator/raw_data/"
HEADLINE = tuple("PERSON EMAIL PHONE CREDIT_CARD IBAN US_SSN IP_ADDRESS STREET_ADDRESS "
                 "US_DRIVER_LICENSE DATE_OF_BIRTH".split())  # fmt: skip
CONTEXT = ("CITY", "COUNTRY", "ORGANIZATION", "URL", "AGE", "ZIP_CODE", "STREET_NAME")
# Compared on alphanumerics only: "4111 1111-1111 1111" leaks as 4111111111111111.
NUMERIC = {"CREDIT_CARD", "PHONE", "IBAN", "US_SSN", "IP_ADDRESS", "US_DRIVER_LICENSE"}
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}|\{(\w+)\}")
_STREET = "{{building_number}} {{street_name}}"  # one STREET_ADDRESS value, not two parts
_BORN = (datetime.date(1935, 1, 1), datetime.date(2006, 12, 31))  # fixed: not "today"-relative
_DOB_FORMATS = ("%m/%d/%Y", "%B %d, %Y", "%d.%m.%Y", "%Y-%m-%d", "%d %b %Y")


@dataclass
class LeakPrompt:
    id: str
    template: int  # index into the template list
    text: str
    literal: str  # the template's own words, placeholders removed (a baseline for counting)
    planted: list[tuple[str, str]] = field(default_factory=list)  # (entity class, value)


def ensure_wheel(cache: Path) -> Path:
    wheel = cache / WHEEL
    if not wheel.exists():
        cache.mkdir(parents=True, exist_ok=True)
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet"]
        subprocess.run([*pip, "presidio-evaluator==0.3.2", "-d", str(cache)], check=True)
    return wheel


def load_templates(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        text = z.read(RAW + "templates.txt").decode("utf-8", errors="replace")
    lines = [line.strip().lstrip("\ufeff") for line in text.splitlines()]
    return [line.replace("\\n", "\n").replace("\\,", ",") for line in lines if line]


def _csv(z: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.TextIOWrapper(z.open(RAW + name), encoding="utf-8-sig")))


def _split_street(street: str) -> tuple[str, str] | None:
    """'1659 Hoog St' -> ('1659', 'Hoog St'); 'Avenida Noruega 42' -> ('42', 'Avenida Noruega')."""
    if m := re.fullmatch(r"(\d+[A-Za-z]?)\s+(\D{3,})", street):
        return m[1], m[2]
    if m := re.fullmatch(r"(\D{3,}?)\s+(\d+[A-Za-z]?)", street):
        return m[2], m[1]
    return None


class Filler:
    """One value per placeholder occurrence, each from a fresh random identity."""

    def __init__(self, wheel: Path, seed: int) -> None:
        with zipfile.ZipFile(wheel) as z:
            self.rows = _csv(z, "FakeNameGenerator.com_3000.csv")
            self.licenses = [r["us_driver_license"] for r in _csv(z, "us_driver_licenses.csv")]
            self.nations = _csv(z, "nationalities.csv")
            self.orgs = [r["organization"] for r in _csv(z, "companies_and_organizations.csv")]
        self.streets = [r for r in self.rows if _split_street(r["StreetAddress"])]
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.count = 0

    def _row(self, gender: str | None = None) -> dict[str, str]:
        while True:
            row = self.rng.choice(self.rows)
            if gender is None or row["Gender"] == gender:
                return row

    def _card(self) -> str:
        kind = self.rng.choice(["visa16", "mastercard", "amex", "discover"])
        digits = self.fake.credit_card_number(card_type=kind)
        style = self.count % 3  # plain, spaced groups, dashed groups
        return digits if style == 0 else (" " if style == 1 else "-").join(_groups(digits))

    def _address(self, name: str) -> tuple[str, list[tuple[str, str]]]:
        row = self.rng.choice(self.streets)
        number, street = _split_street(row["StreetAddress"]) or ("1", "Main St")
        if name == "street_name":
            return street, [("STREET_NAME", street)]
        if name == "building_number":
            return number, []
        if name == "street_address":
            return f"{number} {street}", [("STREET_ADDRESS", f"{number} {street}")]
        line, city, zipcode = row["StreetAddress"], row["City"], row["ZipCode"]
        sep = "\n" if self.rng.random() < 0.3 else ", "
        text = f"{line}{sep}{zipcode} {city}" if self.rng.random() < 0.5 else None
        text = text or f"{line}{sep}{city}, {row['State']} {zipcode}"
        return text, [("STREET_ADDRESS", line), ("CITY", city), ("ZIP_CODE", zipcode)]

    def value(self, name: str) -> tuple[str, list[tuple[str, str]]]:
        """The text for one placeholder and what it plants."""
        self.count += 1
        rng, fake = self.rng, self.fake
        if name in ("address", "street_address", "street_name", "building_number"):
            return self._address(name)
        gender = "male" if "_male" in name else "female" if "_female" in name else None
        row = self._row(gender)
        given, surname = row["GivenName"], row["Surname"]
        if name in ("person", "name", "name_male", "name_female"):
            middle = f" {row['MiddleInitial']}." if rng.random() < 0.2 else ""
            return f"{given}{middle} {surname}", [("PERSON", f"{given}{middle} {surname}")]
        if name.startswith(("first_name", "last_name")):
            one = given if name.startswith("first") else surname
            return one, [("PERSON", one)]
        phone, iban, ssn = row["TelephoneNumber"], fake.iban(), fake.ssn()
        planting: dict[str, tuple[str, Callable[[], str]]] = {
            "email": ("EMAIL", lambda: row["EmailAddress"]),
            "phone_number": ("PHONE", lambda: f"+{row['TelephoneCountryCode']} {phone.lstrip('0')}"
                             if rng.random() < 0.4 else phone),
            "city": ("CITY", lambda: row["City"]),
            "country": ("COUNTRY", lambda: row["CountryFull"]),
            "organization": ("ORGANIZATION", lambda: row["Company"] if rng.random() < 0.5
                             else rng.choice(self.orgs)),
            "credit_card_number": ("CREDIT_CARD", self._card),
            "iban": ("IBAN", lambda: " ".join(_groups(iban)) if rng.random() < 0.5 else iban),
            "ssn": ("US_SSN", lambda: ssn if rng.random() < 0.75 else ssn.replace("-", "")),
            "ip_address": ("IP_ADDRESS", lambda: fake.ipv4() if rng.random() < 0.8
                           else fake.ipv6()),
            "us_driver_license": ("US_DRIVER_LICENSE", lambda: rng.choice(self.licenses)),
            "date_of_birth": ("DATE_OF_BIRTH", lambda: fake.date_between(
                _BORN[0], _BORN[1]).strftime(rng.choice(_DOB_FORMATS))),
            "url": ("URL", lambda: fake.url() + (fake.uri_path() if rng.random() < 0.5 else "")),
            "age": ("AGE", lambda: str(rng.randint(18, 95))),
            "zipcode": ("ZIP_CODE", lambda: row["ZipCode"]),
            "postcode": ("ZIP_CODE", lambda: row["ZipCode"]),
        }  # fmt: skip
        if name in planting:
            entity, make = planting[name]
            text = make()
            return text, [(entity, text)]
        nation = rng.choice(self.nations)
        silent: dict[str, Callable[[], str]] = {
            "year": lambda: str(rng.randint(1950, 2023)),
            "date_time": lambda: fake.date_time_between(_BORN[0], _BORN[1]).strftime(
                "%B %d, %Y %H:%M"
            ),
            "day_of_week": fake.day_of_week,
            "job": lambda: row["Occupation"] or fake.job(),
            "secondary_address": fake.secondary_address,
            "state_abbr": fake.state_abbr,
            "nationality": lambda: nation["nationality"].title(),
            "nation_woman": lambda: nation["woman"].title(),
            "nation_plural": lambda: nation["plural"].title(),
        }
        return silent.get(name, lambda: row["Title"] or fake.prefix())(), []


def _groups(text: str) -> list[str]:
    return [text[i : i + 4] for i in range(0, len(text), 4)]


# Placeholders that plant nothing, and the rare ones whose templates are weighted up.
_SILENT = set("year date_time day_of_week job secondary_address state_abbr nationality "
              "nation_woman nation_plural building_number".split())  # fmt: skip
_RARE = {"email", "iban", "ssn", "ip_address", "us_driver_license", "date_of_birth"}


def _names(template: str) -> set[str]:
    return {a or b for a, b in _PLACEHOLDER.findall(template) if not (a or b).startswith("prefix")}


def generate(n: int, seed: int, cache: Path) -> tuple[list[str], list[LeakPrompt]]:
    """`n` prompts, cycling through the templates (shuffled by `seed`) that plant something."""
    wheel = ensure_wheel(cache)
    templates = load_templates(wheel)
    filler = Filler(wheel, seed)
    usable = [i for i, t in enumerate(templates) if _names(t) - _SILENT]
    # Templates for the rare classes are few (1-6 each): weight them so that their rates rest
    # on more than a handful of values.
    usable += [i for i in list(usable) for _ in range(3) if _RARE & _names(templates[i])]
    random.Random(seed).shuffle(usable)
    prompts = []
    for k in range(n):
        index = usable[k % len(usable)]
        template = templates[index].replace(_STREET, "{{street_address}}")
        planted: list[tuple[str, str]] = []

        def fill(m: re.Match[str], planted: list[tuple[str, str]] = planted) -> str:
            text, values = filler.value(m[1] or m[2])
            planted.extend(values)
            return text

        text = _PLACEHOLDER.sub(fill, template)
        literal = _PLACEHOLDER.sub(" ", template)
        prompts.append(LeakPrompt(f"leak-{k}", index, text, literal, planted))
    return templates, prompts


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower())


def alnum(text: str) -> str:
    return "".join(ch for ch in normalise(text) if ch.isalnum())


def _words(needle: str, haystack: str) -> int:
    return len(re.findall(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", haystack))


def leaks(prompt: LeakPrompt, received: str) -> list[tuple[str, str, bool]]:
    """(entity class, unit, leaked) per planted unit. Names count per token of >= 3 characters.

    A unit leaks when it occurs in what the upstream received more often than in the
    template's own words, so a first name "Will" is not a leak because the template says "will".
    """
    got, base = normalise(received), normalise(prompt.literal)
    got_alnum, base_alnum = alnum(received), alnum(prompt.literal)
    out = []
    for entity, value in prompt.planted:
        if entity == "PERSON":
            for token in re.findall(r"\w{3,}", normalise(value)):
                out.append((entity, token, _words(token, got) > _words(token, base)))
        elif entity in NUMERIC:
            v = alnum(value)
            out.append((entity, v, got_alnum.count(v) > base_alnum.count(v)))
        else:
            v = normalise(value).strip()
            out.append((entity, v, _words(v, got) > _words(v, base)))
    return out


def forwarded_text(body: bytes) -> str:
    """Every string the upstream got, JSON-decoded (so \\u escapes cannot hide a value)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body.decode("utf-8", errors="replace")

    def walk(v: Any) -> list[str]:
        items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else []
        return [v] if isinstance(v, str) else [s for x in items for s in walk(x)]

    return "\n".join(walk(doc))


def score_leaks(prompts: list[LeakPrompt], outcomes: Mapping[str, Any]) -> dict[str, Any]:
    """Leaks per class, prompt and template; outcomes[id] has .received, .code, .message."""
    planted, leaked, status, block_reasons = (Counter[str]() for _ in range(4))
    per_template: dict[int, Counter[str]] = defaultdict(Counter)
    prompts_with, prompts_leaking = 0, 0
    for p in prompts:
        o = outcomes[p.id]
        if o.received is not None:
            status["forwarded"] += 1
            units = leaks(p, forwarded_text(o.received))
        else:
            status["blocked" if o.code == "pii_blocked" else f"error:{o.code}"] += 1
            if o.code == "pii_blocked":
                block_reasons[o.message.rsplit("; ", 1)[-1][:60]] += 1
            units = [(e, u, False) for e, u, _ in leaks(p, "")]
        mine = [leak for e, _, leak in units if e in HEADLINE]
        prompts_with += bool(mine)
        prompts_leaking += any(mine)
        for entity, _, leak in units:
            planted[entity] += 1
            leaked[entity] += leak
            per_template[p.template]["planted"] += entity in HEADLINE
            if leak and entity in HEADLINE:
                per_template[p.template]["leaked"] += 1
                per_template[p.template][entity] += 1
    classes = {e: {"planted": planted[e], "leaked": leaked[e]} for e in (*HEADLINE, *CONTEXT)}
    total = {k: sum(c[h] for h in HEADLINE) for k, c in (("planted", planted), ("leaked", leaked))}
    head = {**total, "prompts": prompts_with, "prompts_leaking": prompts_leaking}
    return {"classes": classes, "headline": head, "requests": dict(status),
            "block_reasons": dict(block_reasons.most_common()),
            "templates": {str(k): dict(v) for k, v in per_template.items()}}  # fmt: skip
