"""The README and docs/*.md link to files that exist and to headings that exist (GitHub's anchors), and the
README lists every docs page: a moved section or a renamed file breaks a test, not a reader's click.

Code the docs quote from a file ("From `path`:" ending the paragraph before a fenced block) is that file's code:
every line of the block is in the file, in the same order ("..." lines stand for what is left out), so a change
to the code breaks a test, not a reader's copy."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose(path: Path) -> list[str]:
    """The page's lines outside fenced code blocks, with inline code removed (links there are not links). A code
    span may go on over a line break, so spans are removed per paragraph, then the paragraph is split again."""
    lines, fenced, paragraph = [], False, []

    def flush() -> None:
        lines.extend(re.sub(r"`[^`]*`", "", "\n".join(paragraph)).split("\n"))
        paragraph.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            flush()
            fenced = not fenced
            continue
        if fenced:
            continue
        if line.strip():
            paragraph.append(line)
        else:
            flush()
    flush()
    return lines


def anchors(path: Path) -> set[str]:
    """GitHub's heading ids: markup dropped, lower case, punctuation other than - and _ removed, spaces to -,
    repeats numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    out = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not heading:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading.group(1)).replace("`", "").lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links(path: Path) -> list[str]:
    return [target for line in prose(path) for target in LINK.findall(line)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_an_existing_file_and_heading(page: Path):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        file_part = file_part.split("?")[0]
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no file {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
            continue
        if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.relative_to(ROOT)}")
        if anchor.startswith("L") and dest.suffix != ".md" and not re.fullmatch(r"L\d+(-L\d+)?", anchor):
            broken.append(f"{target}: not a line anchor")
    assert broken == [], f"{page.relative_to(ROOT)}: broken links:\n" + "\n".join(broken)


def test_the_readme_links_every_docs_page():
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(ROOT / "README.md") if t.startswith("docs/")}
    missing = [p.name for p in PAGES[1:] if p.resolve() not in linked]
    assert missing == [], f"README.md does not link these docs pages: {missing}"


def test_the_readme_keeps_the_two_command_quick_start():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "scripts/quickstart.sh   #" in text and "scripts/test.sh         #" in text


def test_a_code_span_over_a_line_break_hides_its_text_but_not_the_links_after_it(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("A span `over a\nline [not](a.md) break` then [a link](b.md) and `one more`.\n\n```\n[fenced](c.md)\n```\n")
    assert links(page) == ["b.md"]


WALKTHROUGHS = ("adding-a-pipeline.md", "adding-a-resource-kind.md")


@pytest.mark.parametrize("name", WALKTHROUGHS)
def test_the_walkthrough_pages_exist_and_the_readme_links_them(name: str):
    assert (ROOT / "docs" / name).is_file(), f"docs/{name} is missing"
    assert f"docs/{name}" in [t.partition("#")[0] for t in links(ROOT / "README.md")], f"README.md does not link docs/{name}"


QUOTED_FROM = re.compile(r"\bfrom `([^`\s]+)`:$", re.IGNORECASE)
ELISION = {"...", "…"}


def quotes(path: Path) -> list[tuple[int, str, list[str]]]:
    """Fenced blocks the paragraph before them says are quoted from a file ("From `path`:"): (line, path, lines).
    A path that is a directory ("run, from `deploy/`:") quotes nothing."""
    found, paragraph, last_paragraph, block, start = [], [], "", None, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            if block is None:
                block, start = [], number
                match = QUOTED_FROM.search(" ".join(paragraph or [last_paragraph]).strip())
                source = match.group(1) if match and not (ROOT / match.group(1)).is_dir() else None
            else:
                if source:
                    found.append((start, source, block))
                block, paragraph, last_paragraph = None, [], ""
            continue
        if block is not None:
            block.append(line)
        elif line.strip():
            paragraph.append(line)
        elif paragraph:
            last_paragraph, paragraph = " ".join(paragraph), []
    return found


def not_in_order(quoted: list[str], source: list[str]) -> list[str]:
    """The quoted lines not found in ``source``, each looked for after the previous one found (blank and "..."
    lines skipped)."""
    missing, at = [], 0
    for line in quoted:
        if not line.strip() or line.strip() in ELISION:
            continue
        hit = next((i for i in range(at, len(source)) if source[i].rstrip() == line.rstrip()), None)
        if hit is None:
            missing.append(line)
        else:
            at = hit + 1
    return missing


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_quoted_from_a_file_is_that_files_code(page: Path):
    wrong = []
    for line, source, block in quotes(page):
        path = ROOT / source
        if not path.is_file():
            wrong.append(f"line {line}: quotes {source}, which does not exist")
            continue
        missing = not_in_order(block, path.read_text(encoding="utf-8").splitlines())
        if missing:
            wrong.append(f"line {line}: not in {source} (or not in this order):\n    " + "\n    ".join(missing))
    assert wrong == [], f"{page.relative_to(ROOT)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", WALKTHROUGHS)
def test_the_walkthroughs_quote_real_code(name: str):
    assert len(quotes(ROOT / "docs" / name)) >= 3, f"docs/{name}: its code is to be quoted from the files (From `path`:)"


def test_a_quote_that_drifted_from_its_file_is_caught(tmp_path):
    source = ["def f(x):", "    y = x + 1", "    return y"]
    assert not_in_order(["def f(x):", "...", "    return y"], source) == []
    assert not_in_order(["def f(x):", "    return x + 1"], source) == ["    return x + 1"]
    assert not_in_order(["    return y", "def f(x):"], source) == ["def f(x):"], "order matters"
    page = tmp_path / "page.md"
    page.write_text("Run it from `deploy/`:\n\n```\nx\n```\n\nFrom\n`deploy/cli.py`:\n\n```python\ndef nothing_like_this():\n```\n")
    assert [(source, block) for _, source, block in quotes(page)] == [("deploy/cli.py", ["def nothing_like_this():"])]


def test_ci_runs_the_test_command_the_readme_gives():
    """.ci/run is "the README's test command": the command it execs is the quick start's."""
    ci = re.search(r"^exec\s+(\S+)", (ROOT / ".ci" / "run").read_text(encoding="utf-8"), re.MULTILINE)
    assert ci, ".ci/run execs no command"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"^{re.escape(ci.group(1))}\s+#", readme, re.MULTILINE), f"README's quick start does not give {ci.group(1)}"
