"""The documentation holds together: every local link and anchor resolves, the error messages'
README anchors exist, and the performance targets shown are the ones the benchmark checks."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", document.read_text(), flags=re.S)  # not comments in code
    return {slug(m[1]) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def local_links() -> list[tuple[Path, str]]:
    return [
        (document, target)
        for document in DOCUMENTS
        for target in LINK.findall(document.read_text())
        if not target.startswith(("http://", "https://", "mailto:"))
    ]


def test_there_are_docs_and_links_to_check() -> None:
    assert len(DOCUMENTS) >= 5 and len(local_links()) >= 8


@pytest.mark.parametrize(
    ("document", "target"), local_links(), ids=lambda v: v if isinstance(v, str) else v.name
)
def test_every_local_link_and_anchor_resolves(document: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    linked = (document.parent / path).resolve() if path else document
    assert linked.exists(), f"{document.name} links to {path}, which does not exist"
    if anchor:
        assert anchor in anchors(linked), f"{document.name}: no heading #{anchor} in {linked.name}"


def test_slug_follows_github() -> None:
    assert slug("How it hooks botocore") == "how-it-hooks-botocore"
    assert slug("The `sscstub serve` endpoint (HTTP)") == "the-sscstub-serve-endpoint-http"


def test_the_performance_page_shows_the_benchmark_targets() -> None:
    spec = importlib.util.spec_from_file_location("targets", ROOT / "benchmarks" / "targets.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = (ROOT / "docs" / "performance.md").read_text()
    targets = {
        **module.TARGETS,
        **module.ENDPOINT_TARGETS,
        **module.COMPOSE_TARGETS,
        **module.CQL_TARGETS,
    }
    for key, target in targets.items():
        assert target.row(key) in page, f"docs/performance.md lacks or misstates {key!r}"
    shown = re.findall(
        r"^\| ([a-z][\w-]*) \| [^|]* \| [<>]= [0-9.]+ \S+ \| (?:gate \(#\d+\)|aim) \|$", page, re.M
    )
    assert sorted(shown) == sorted(targets), "a target shown that the benchmark lacks"


def test_no_paragraph_is_a_wall_of_text() -> None:
    """Prose paragraphs (not tables or code) stay under 600 characters."""
    walls = []
    for document in DOCUMENTS:
        prose = re.sub(r"```.*?```", "", document.read_text(), flags=re.S)
        for line in prose.splitlines():
            if len(line) > 600 and not line.startswith("|"):
                walls.append(f"{document.name}: {line[:80]}... ({len(line)} characters)")
    assert walls == []


def test_the_readme_opens_with_install_and_an_example_and_stays_short() -> None:
    text = (ROOT / "README.md").read_text()
    first_screen = text.split("\n## ", 1)[0]
    assert "pip install" in first_screen and "# examples/test_readme.py" in first_screen
    assert len(text.encode()) <= 12 * 1024
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings.index("Ways to use it") < headings.index("Quickstart for contributors")
    assert "In CI" in headings
