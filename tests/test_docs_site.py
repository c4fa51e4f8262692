"""The docs site carries the guide, with no section swallowed by a broken code fence.

A fence line with text after it does not close a block in Markdown: everything after it, down
to the next real fence, renders as code and vanishes from the contents (docs/cli.md's whole
`decode` section once did), and the Sphinx build passes. These tests read the pages as a
Markdown renderer would; docs/conf.py also fails the build on a rendered code block that holds
a fence line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")


def fence_problems(text: str) -> list[str]:
    """Lines that break a page's code blocks: a fence with text after it inside a block, or a block left open.

    A block opened by N backticks (or tildes) closes at a line of N or more of them and nothing
    else; a longer fence may hold shorter ones as content (a page showing Markdown).
    """
    problems = []
    opened: tuple[str, int, int] | None = None  # (the fence's character, its length, its line)
    for number, line in enumerate(text.splitlines(), start=1):
        found = FENCE.match(line)
        if found is None:
            continue
        fence, rest = found.groups()
        if opened is None:
            opened = (fence[0], len(fence), number)
            continue
        character, length, _ = opened
        if fence[0] != character or len(fence) < length:
            continue  # a shorter fence, or the other kind: content of the open block
        if rest.strip():
            problems.append(f"line {number}: text after a fence, so it does not close the block: {line.strip()!r}")
        else:
            opened = None
    if opened is not None:
        problems.append(f"line {opened[2]}: a code block that is never closed")
    return problems


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", pages(), ids=lambda path: path.name)
def test_no_page_has_a_fence_with_text_after_it_or_a_block_left_open(page: Path):
    assert fence_problems(page.read_text()) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("```text\nout\n``` In CI, check fails.\n\n## decode\n", ["line 3", "line 1"]),
        ("```python\nx = 1\n", ["line 1"]),
        ("````markdown\n```python\nx = 1\n```\n````\n", []),  # a longer fence holds shorter ones
        ("```text\n~~~\n```\n", []),
        ("text ``` inline\n", []),
    ],
)
def test_the_fence_check_finds_what_a_markdown_renderer_would_swallow(text: str, found: list[str]):
    problems = fence_problems(text)

    assert [problem.split(":")[0] for problem in problems] == found


def test_the_commands_page_shows_its_decode_and_token_sections_as_sections():
    headings = re.findall(r"^## (.+)$", strip_code(DOCS / "cli.md"), re.MULTILINE)

    assert headings == ["`check`", "`decode`", "`token`"]


def strip_code(page: Path) -> str:
    """The page without its code blocks, as the headings a renderer finds."""
    kept, inside = [], False
    for line in page.read_text().splitlines():
        if FENCE.match(line):
            inside = not inside
            continue
        if not inside:
            kept.append(line)
    return "\n".join(kept)


# -- the site's contents --------------------------------------------------------------------------------


def toctree_entries() -> list[str]:
    text = (DOCS / "index.md").read_text()
    entries = []
    for block in re.findall(r"```\{toctree\}\n(.*?)```", text, re.DOTALL):
        assert ":glob:" not in block  # a glob lists the pages already named a second time
        entries += [line.strip() for line in block.splitlines() if line.strip() and not line.startswith(":")]
    return entries


def test_the_index_lists_every_page_exactly_once():
    entries = toctree_entries()

    assert sorted(entries) == sorted(path.stem for path in DOCS.glob("*.md") if path.stem != "index")
    assert len(entries) == len(set(entries))


def test_the_guide_lives_on_the_site_and_the_readme_keeps_a_tour_with_links():
    readme = (ROOT / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", readme, re.MULTILINE)

    for moved, page in (("Helpers", "helpers.md"), ("Guards", "guards.md"), ("Logout", "logout.md")):
        assert moved not in headings  # the section moved to the site ...
        assert f"(docs/{page})" in readme  # ... and the README leads to it
        assert re.search(rf"^# {moved}", (DOCS / page).read_text(), re.MULTILINE)
    assert readme.index("make run") < readme.index("make test") < readme.index("```python")


def test_the_index_shows_the_readmes_first_app_and_calls_no_quickstart_ten_lines():
    first = re.compile(r"```python\n(.*?)```", re.DOTALL)
    index = (DOCS / "index.md").read_text()

    assert first.findall(index)[0] == first.findall((ROOT / "README.md").read_text())[0]
    assert "ten-line" not in index


def test_the_api_reference_reads_as_prose_outside_its_directives():
    text = (DOCS / "api.md").read_text()
    prose = re.sub(r"```\{eval-rst\}.*?```", "", text, flags=re.DOTALL)

    for section in re.split(r"^## ", prose, flags=re.MULTILINE)[1:]:
        title, _, body = section.partition("\n")
        words = len(re.findall(r"[A-Za-z]{2,}", body))
        assert words >= 25, f"the section {title!r} of docs/api.md says almost nothing outside its directives"


# -- links that never carry a token -----------------------------------------------------------------------


def test_no_page_or_template_builds_a_redirect_uri_from_the_current_url():
    # request_url() keeps ?token=: a login link built from it on a page that rejected that token
    # would carry it to LoginRocket. safe_this_url() is the redirect_uri back to a page.
    unsafe = re.compile(r"redirect_uri['\"]?\s*[=:]\s*[\w.]*\b(request_url|requestUri|request_uri)\(\)")
    found = {}
    for path in [*pages(), *(ROOT / "examples" / "templates").glob("*.html")]:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            # The Express guide's own pug, quoted as it is, is the one exception.
            if unsafe.search(line) and "a(href=" not in line:
                found[f"{path.name}:{number}"] = line.strip()

    assert found == {}
