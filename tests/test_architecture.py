"""The house keeps its shape: one door for money, pages that never pay, a sandbox that stands alone.

Read from the code itself (its imports, its sizes, its templates), so the structure described in
docs/architecture.md is checked on every run rather than trusted.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "research"


def modules():
    """{dotted name: path} of every app module (migrations aside)."""
    found = {}
    for path in sorted(APP.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name, path):
    """The research modules `name` imports, resolved to dotted names."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("research"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("research"):
                continue
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)  # `from . import jobs`
    return {module for module in found if module in MODULES}


MODULES = modules()
GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}

# The faces a person or a script uses: pages, the API, admin, the command line, forms, template helpers.
FACES = [
    name
    for name in MODULES
    if name.startswith(("research.views", "research.management", "research.templatetags", "research.api"))
    or name in ("research.admin", "research.forms", "research.context_processors", "research.urls")
]
# What spends or writes money state: only the job machinery reaches these.
SPENDING_SIDE = {
    "research.payments",
    "research.ledger",
    "research.clado",
    "research.claims",
    "research.poller",
}


def test_only_the_clado_seam_imports_the_paying_module():
    importers = {name for name, imported in GRAPH.items() if "research.payments" in imported}
    assert importers == {"research.clado"}


@pytest.mark.parametrize("face", FACES)
def test_pages_admin_and_the_command_line_act_through_jobs_and_never_reach_the_spending_side(face):
    assert not GRAPH[face] & SPENDING_SIDE, f"{face} imports {GRAPH[face] & SPENDING_SIDE}"


def test_the_job_machinery_catches_the_seams_errors_only():
    for name in ("research.jobs", "research.poller", "research.outcomes"):
        assert not GRAPH[name] & {"research.payments", "research.wallet", "research.ledger"}, name


def test_the_read_side_never_spends_and_only_reconciliation_closes_charges():
    paying = SPENDING_SIDE - {"research.ledger"}
    for name in (
        "research.wallet",
        "research.spend",
        "research.leads",
        "research.exports",
        "research.pricing",
    ):
        assert not GRAPH[name] & paying, name
    closers = {name for name, imported in GRAPH.items() if "research.ledger" in imported}
    assert closers == {"research.payments", "research.wallet"}


def test_the_sandbox_imports_nothing_of_the_app():
    for name, imported in GRAPH.items():
        if name.startswith("research.sandbox"):
            outside = {module for module in imported if not module.startswith("research.sandbox")}
            assert not outside, f"{name} imports {outside}"


def test_no_module_is_over_400_lines():
    too_long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 400}
    assert too_long == {}


def test_no_template_writes_a_price_of_its_own():
    prices = re.compile(r"\$\s?\d")
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if prices.search(path.read_text())
    ]
    assert offenders == []


def test_every_row_of_the_fault_table_is_backed_by_a_test_that_exists():
    table = (ROOT / "docs" / "reliability.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "test_" in line]
    assert len(rows) >= 20
    sources = "".join(path.read_text() for path in (ROOT / "tests").rglob("test_*.py"))
    for row in rows:
        names = re.findall(r"::(test_\w+)", row)
        assert names, row
        for name in names:
            assert f"def {name}(" in sources, f"{name} is named in docs/reliability.md but does not exist"
