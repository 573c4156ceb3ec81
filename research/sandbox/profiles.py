"""Deterministic fake Clado deep-research results.

``profile(query, index)`` always returns the same result for the same arguments
(seeded with a SHA-256 of both, never Python's salted ``hash()``). Every query's
first results deliberately carry the nasty data real scraped profiles contain:
non-Latin and accented names, emoji, commas, double quotes, embedded newlines,
2000+ character descriptions, and values starting with ``=``, ``+``, ``-``, ``@``
(spreadsheet formula injection), plus criteria as plain strings and as objects.
"""

import hashlib
import random
from typing import Any

__all__ = ["profile", "profiles", "query_seed", "result_fraction", "TRICKY_COUNT"]

FIRST_NAMES = [
    "Alex",
    "Maria",
    "Jonas",
    "Priya",
    "Chen",
    "Fatima",
    "Lukas",
    "Sofia",
    "Mateo",
    "Aisha",
    "Noah",
    "Emma",
    "Hiroshi",
    "Ingrid",
    "Olu",
    "Camille",
    "Diego",
    "Yuki",
    "Lena",
    "Omar",
    "Zoë",
    "José",
    "Łukasz",
    "Ørjan",
    "Siobhán",
    "Björn",
    "Renée",
    "François",
    "Dvořák",
    "Ana",
]
LAST_NAMES = [
    "Johnson",
    "Müller",
    "Schmidt",
    "Garcia",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Dubois",
    "Smith",
    "O'Brien",
    "van der Berg",
    "Ångström",
    "Núñez",
    "Øverås",
    "Żółć",
    "Papadopoulos",
    "Kim",
    "Silva",
    "Novak",
    "Hernández",
    "Okafor",
    "Tanaka",
    "Jensen",
    "Lefèvre",
    "Brown",
]
NON_LATIN_NAMES = ["李伟", "王芳", "田中 太郎", "Дмитрий Иванов", "محمد علي", "김민준", "Γιώργος Παπάς"]
EMOJI = ["🚀", "✨", "📈", "🤖", "🌍", "☕"]

TITLES = [
    "Head of Sales",
    "VP Engineering",
    "Account Executive",
    "Founder & CEO",
    "CTO",
    "Principal Engineer",
    "Growth Marketing Lead",
    "Director of Partnerships",
    "Senior Product Manager",
    "Chief Revenue Officer",
    "Data Scientist",
    "Sales Development Rep",
]
COMPANIES = [
    "TechCorp Inc",
    "Acme, Inc.",
    "Globex GmbH",
    "Initech",
    "Umbrella Labs",
    "Stark Industries",
    "Müller & Söhne KG",
    "Société Générale de Logiciel",
    '"Quoted" Ventures',
    "Hooli",
    "北京科技有限公司",
    "Nordisk Data AS",
    "Wayne Enterprises",
    "Pied Piper",
]
LOCATIONS = [
    ("Berlin, Berlin, Germany", "Germany"),
    ("Munich, Bavaria, Germany", "Germany"),
    ("San Francisco, California, United States", "United States"),
    ("New York, New York, United States", "United States"),
    ("Austin, Texas, United States", "United States"),
    ("London, England, United Kingdom", "United Kingdom"),
    ("Manchester, England, United Kingdom", "United Kingdom"),
    ("Paris, Île-de-France, France", "France"),
    ("Lyon, Auvergne-Rhône-Alpes, France", "France"),
    ("Kraków, Lesser Poland, Poland", "Poland"),
    ("Oslo, Norway", "Norway"),
    ("Shanghai, China", "China"),
    ("São Paulo, Brazil", "Brazil"),
    ("Toronto, Ontario, Canada", "Canada"),
    ("Bengaluru, Karnataka, India", "India"),
]
SKILLS = [
    "Python",
    "Sales",
    "SaaS",
    "B2B",
    "Negotiation",
    "Go-to-Market",
    "Kubernetes",
    "Rust",
    "Machine Learning",
    "CRM",
    "Salesforce",
    "Public Speaking",
    "C++",
    "Leadership",
    "Enterprise Sales",
    "Product Strategy",
    "SQL",
    "Growth",
    "Fundraising",
    "Design",
]
SCHOOLS = [
    ("Stanford University", "MBA", "Business Administration"),
    ("Technische Universität München", "M.Sc.", "Informatik"),
    ("University of Oxford", "BA", "Philosophy, Politics and Economics"),
    ("École Polytechnique", "Diplôme d'ingénieur", "Mathématiques"),
    ("MIT", "BS", "Computer Science"),
    ("清华大学", "Bachelor", "Electrical Engineering"),
    ("Uniwersytet Jagielloński", "Magister", "Ekonomia"),
]
ANSWERS = ["YES", "MAYBE", "NO"]
# Values a spreadsheet would execute or mangle; each is used somewhere in every query.
FORMULA_HEADLINES = [
    '=HYPERLINK("http://evil")',
    "+49 sales lead",
    "-growth hacker-",
    "@acme",
    "=1+1",
    "+1 (555) 010-9999, call me",
]
TRICKY_COUNT = 8


def query_seed(query: str) -> int:
    return int.from_bytes(hashlib.sha256(query.encode("utf-8")).digest()[:8], "big")


def _rng(query: str, index: int) -> random.Random:
    digest = hashlib.sha256(f"{query}\x00{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def result_fraction(query: str) -> float:
    """Deterministic share (0.4..1.0) of the requested limit a query finds."""
    return 0.4 + 0.6 * (query_seed("fraction:" + query) % 10_000) / 9_999


def _long_description(rng: random.Random, name: str) -> str:
    sentences = [
        f"{name} has spent years building revenue engines, closing deals, and hiring teams.",
        'Known as "the closer", with a track record of 150%+ quota attainment.',
        "Passionate about B2B SaaS, developer tools, data infrastructure, and AI.",
        "Speaker at SaaStr, Web Summit, and regional meetups; mentor at two accelerators.",
        "Previously led expansion into DACH, Nordics, and the UK & Ireland.",
    ]
    parts = []
    while sum(len(p) + 1 for p in parts) < 2200:
        parts.append(rng.choice(sentences))
    return " ".join(parts)


def _criteria(rng: random.Random, index: int, criteria: list[str] | None) -> dict[str, Any]:
    names = list(criteria or []) or ["Works in sales or business development.", "Based in Europe."]
    result: dict[str, Any] = {}
    for position, name in enumerate(names):
        answer = rng.choice(ANSWERS)
        if (index + position) % 2:
            result[name] = {
                "answer": answer,
                "reasoning": f'Profile says "{rng.choice(TITLES)}", which suggests {answer}.\n'
                "Evidence: headline, experience, and skills.",
            }
        else:
            result[name] = answer
    return result


def profile(query: str, index: int, criteria: list[str] | None = None) -> dict[str, Any]:
    """The ``index``-th (0-based) result of ``query``, shaped like a Clado result."""
    rng = _rng(query, index)
    qprefix = query_seed(query) % 900_000 + 100_000
    pid = f"{qprefix}{index:05d}"  # unique within a query (index < 100000)

    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    name = f"{first} {last}"
    title = rng.choice(TITLES)
    company = rng.choice(COMPANIES)
    headline = f"{title} at {company}"
    location, country = rng.choice(LOCATIONS)
    description = (
        f"{title} with {rng.randint(3, 25)} years of experience, focused on "
        f"{rng.choice(SKILLS)}, {rng.choice(SKILLS)} and {rng.choice(SKILLS)}."
    )

    tricky = index % 50 if index >= TRICKY_COUNT else index
    if tricky == 0:
        name, headline = "Zoë Ångström", FORMULA_HEADLINES[0]
        location, country = "Berlin, Berlin, Germany", "Germany"
    elif tricky == 1:
        name, headline = "李伟", FORMULA_HEADLINES[1]
        location, country = "Shanghai, China", "China"
    elif tricky == 2:
        name, headline = "José Núñez", FORMULA_HEADLINES[2]
        location, country = "Paris, Île-de-France, France", "France"
    elif tricky == 3:
        name, headline = "Łukasz Żółć", FORMULA_HEADLINES[3]
        location, country = "Kraków, Lesser Poland, Poland", "Poland"
    elif tricky == 4:
        name = f"Ørjan Øverås {EMOJI[0]}"
        headline = 'VP Sales, EMEA | "Builder", closer,\nand coffee addict ☕'
        description = 'Line one, with a comma.\nLine two has "double quotes".\r\nLine three: =SUM(A1)'
        location, country = "Oslo, Norway", "Norway"
    elif tricky == 5:
        name = 'Mary "MJ" O\'Neil, PhD'
        description = _long_description(rng, name)
        location, country = "London, England, United Kingdom", "United Kingdom"
    elif tricky == 6:
        name = rng.choice(NON_LATIN_NAMES)
        headline = FORMULA_HEADLINES[4]
        description = "-" + description
        location, country = "New York, New York, United States", "United States"
    elif tricky == 7:
        name = f"Renée Dvořák {rng.choice(EMOJI)}"
        headline = FORMULA_HEADLINES[5]
        description = "@channel " + description
        location, country = "Munich, Bavaria, Germany", "Germany"
    elif rng.random() < 0.05:
        headline = rng.choice(FORMULA_HEADLINES)
    elif rng.random() < 0.05:
        description = _long_description(rng, name)

    slug = "".join(c for c in f"{first}{last}".lower() if c.isascii() and c.isalnum()) or "member"
    months_current = rng.randint(3, 96)
    experience = [
        {
            "title": title,
            "company_name": company,
            "start_date": f"{2025 - months_current // 12:04d}-{rng.randint(1, 12):02d}-01T00:00:00",
            "end_date": "1970-01-01T00:00:00",
            "description": f"Leading {rng.choice(SKILLS)} initiatives at {company}.",
            "location": location,
        }
    ]
    total_months = months_current
    year = 2025 - months_current // 12
    for _ in range(rng.randint(0, 3)):
        length = rng.randint(6, 60)
        end_year = year
        start_year = max(1980, end_year - max(1, length // 12))
        experience.append(
            {
                "title": rng.choice(TITLES),
                "company_name": rng.choice(COMPANIES),
                "start_date": f"{start_year:04d}-{rng.randint(1, 12):02d}-01T00:00:00",
                "end_date": f"{end_year:04d}-{rng.randint(1, 12):02d}-01T00:00:00",
                "description": rng.choice(
                    [
                        "",
                        "Closed the largest deal in company history, $2.4M ARR.",
                        "Built the team from 0 to 12, across 3 countries.",
                    ]
                ),
                "location": rng.choice(LOCATIONS)[0],
            }
        )
        total_months += length
        year = start_year
    school, degree, field = rng.choice(SCHOOLS)
    education = [{"degree": degree, "field_of_study": field, "school_name": school}]
    skills = rng.sample(SKILLS, rng.randint(2, 8))
    if tricky == 3:
        skills.append("=cmd|' /C calc'!A0")

    return {
        "profile": {
            "id": pid,
            "name": name,
            "headline": headline,
            "location": location,
            "location_country": country,
            "linkedin_url": f"https://www.linkedin.com/in/{slug}-{pid}",
            "description": description,
            "connections_count": rng.choice([rng.randint(20, 499), 500]),
            "followers_count": rng.randint(0, 50_000),
            "is_working": True,
            "is_decision_maker": rng.random() < 0.4,
            "total_experience_duration_months": total_months,
            "skills": skills,
            "criteria": _criteria(rng, index, criteria),
        },
        "experience": experience,
        "education": education,
    }


def profiles(query: str, start: int, stop: int, criteria: list[str] | None = None) -> list[dict[str, Any]]:
    return [profile(query, i, criteria) for i in range(start, stop)]
