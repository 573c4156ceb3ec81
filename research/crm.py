"""What a CRM import needs of a lead that a LinkedIn profile gives as one string: a first and a last
name, a city, region and country.

Names are split as a person would: "Dr. Anna van der Berg" is Anna / van der Berg (salutation
Dr.), "Martin Luther King Jr." is Martin Luther / King Jr., a single name is a first name only,
credentials after a comma ("…, PhD"), nicknames in quotes and emoji are dropped, and names in
Chinese, Japanese or Korean script put the family name first. The gateway's own `first_name` /
`last_name` win when it sends them.
"""

import re
import unicodedata
from dataclasses import dataclass

from . import profiles

SALUTATIONS = {
    "dr": "Dr.",
    "prof": "Prof.",
    "mr": "Mr.",
    "mrs": "Mrs.",
    "ms": "Ms.",
    "mx": "Mx.",
    "miss": "Miss",
    "sir": "Sir",
    "dame": "Dame",
}
GENERATIONAL = {"jr", "sr", "ii", "iii", "iv", "v"}  # part of the surname in a CRM
CREDENTIALS = {"phd", "mba", "md", "cpa", "cfa", "pmp", "esq", "msc", "bsc", "ma", "ba", "dds", "jd", "pe"}
PARTICLES = {
    "van", "von", "der", "den", "de", "del", "della", "da", "di", "do", "dos", "das", "du", "la", "le",
    "ter", "ten", "te", "bin", "ibn", "al", "el", "st", "st.", "mac", "ap", "af", "zu", "y",
}  # fmt: skip
CJK = re.compile(r"[\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
QUOTED = re.compile(r"[\"“”«»][^\"“”«»]*[\"“”«»]|\([^)]*\)")


@dataclass(frozen=True)
class Name:
    first: str
    last: str
    salutation: str = ""


def _bare(token):
    return token.strip(".,").casefold()


def _clean(name):
    """Drop emoji and symbols, nicknames in quotes or brackets, and spaces that are not one space."""
    kept = "".join(ch for ch in name if not unicodedata.category(ch).startswith(("S", "C")) or ch == " ")
    return re.sub(r"\s+", " ", QUOTED.sub(" ", kept)).strip(" ,")


def split_name(full, first="", last=""):
    """A Name from one string. `first`/`last`, when the gateway gave them, are taken as they are."""
    if first.strip() or last.strip():
        return Name(_clean(first), _clean(last))
    name = _clean(profiles.text(full))
    head, _, tail = name.partition(",")
    suffixes = [t for t in re.split(r"[\s,]+", tail) if _bare(t) in GENERATIONAL]  # "…, Jr." stays
    tokens = head.split() + suffixes
    salutation = ""
    while len(tokens) > 1 and _bare(tokens[0]) in SALUTATIONS:
        salutation = salutation or SALUTATIONS[_bare(tokens[0])]
        tokens.pop(0)
    tokens = [t for t in tokens if _bare(t) not in CREDENTIALS] or tokens
    if not tokens:
        return Name("", "", salutation)
    if CJK.search(" ".join(tokens)):
        return _family_first(tokens, salutation)
    suffix = []
    while len(tokens) > 2 and _bare(tokens[-1]) in GENERATIONAL:
        suffix.insert(0, tokens.pop())
    if len(tokens) == 1:
        return Name(tokens[0], " ".join(suffix), salutation)
    start = len(tokens) - 1
    for index in range(1, len(tokens) - 1):  # the surname starts at its first particle: "van der Berg"
        if _bare(tokens[index]) in PARTICLES:
            start = index
            break
    return Name(" ".join(tokens[:start]), " ".join(tokens[start:] + suffix), salutation)


def _family_first(tokens, salutation):
    if len(tokens) > 1:  # "田中 太郎": family name, then given name
        return Name(" ".join(tokens[1:]), tokens[0], salutation)
    word = tokens[0]
    if 2 <= len(word) <= 4:  # "李伟", "김민준": a one-syllable family name first
        return Name(word[1:], word[0], salutation)
    return Name(word, "", salutation)


def name_of(lead):
    fields = profiles.profile(lead.raw) if lead.raw else {}
    return split_name(
        lead.name, profiles.text(fields.get("first_name")), profiles.text(fields.get("last_name"))
    )


@dataclass(frozen=True)
class Place:
    city: str
    region: str
    country: str


def split_location(location, country="", city="", region=""):
    """ "San Francisco, California, United States" -> San Francisco / California / United States."""
    parts = [p.strip() for p in profiles.text(location).split(",") if p.strip()]
    country = country.strip()
    if not country and len(parts) > 1:
        country = parts[-1]
    if parts and parts[-1].casefold() == country.casefold():
        parts = parts[:-1]
    guessed_city = parts[0] if parts else ""
    guessed_region = ", ".join(parts[1:])
    return Place(city.strip() or guessed_city, region.strip() or guessed_region, country)


def place_of(lead):
    fields = profiles.profile(lead.raw) if lead.raw else {}
    return split_location(
        lead.location,
        lead.country,
        profiles.text(fields.get("location_city")),
        profiles.text(fields.get("location_state")),
    )
