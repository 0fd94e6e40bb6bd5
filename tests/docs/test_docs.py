"""README.md and docs/*.md speak of the repository alone: every relative link and every repository path
quoted in inline code resolves to a file or folder in it, and no text refers to files outside it or to
issue numbers."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support import ROOT

#: markdown files a reader of the repository sees.
DOC_FILES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HTML_REF = re.compile(r"""<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
#: top-level folders whose paths quoted in inline code must exist.
_TREE_PREFIXES = ("backbones/", "configs/", "tools/", "tests/", "docs/", "lab/")
_PATTERN_CHARS = set("*?{}[]<>|$")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)  # http:, https:, mailto:, ...
#: text that points outside the repository or narrates how it was built.
FORBIDDEN = [
    (re.compile(r"REFERENCE\.md"), "a file that is not in the repository (REFERENCE.md)"),
    (re.compile(r"\bissues?\s*#?\s*\d+", re.IGNORECASE), "an issue number"),
    (re.compile(r"(?<![\w/])#\d+\b"), "an issue or pull-request number"),
    (re.compile(r"\b(?:this|previous|last|earlier) session\b", re.IGNORECASE), "session narration"),
    (re.compile(r"\\n\|"), "an escaped line break in a table (rows pasted as one line)"),
]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    out, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            out.append((number, line))
    return out


def link_targets(text: str) -> list[tuple[int, str]]:
    """(line number, target) of every markdown or HTML link outside fenced code, code spans removed."""
    targets = []
    for number, line in prose_lines(text):
        line = _CODE_SPAN.sub("", line)
        for pattern in (_INLINE_LINK, _HTML_REF):
            targets += [(number, m.group(1)) for m in pattern.finditer(line)]
        m = _REF_DEF.match(line)
        if m:
            targets.append((number, m.group(1)))
    return targets


def quoted_paths(text: str) -> list[tuple[int, str]]:
    """(line number, path) of repository paths quoted in inline code (the first word of the span) outside
    fenced code; spans with glob or placeholder characters are patterns, not paths, and are skipped."""
    paths = []
    for number, line in prose_lines(text):
        for m in _CODE_SPAN.finditer(line):
            words = m.group(2).split()
            word = words[0].rstrip(".,:;") if words else ""
            if word.startswith(_TREE_PREFIXES) and not _PATTERN_CHARS & set(word) and "..." not in word:
                paths.append((number, word))
    return paths


def broken_references(doc: Path, root: Path = ROOT) -> list[str]:
    """Every relative link or quoted repository path of ``doc`` that does not resolve inside ``root``."""
    text = doc.read_text(encoding="utf-8")
    problems = []
    for number, target in link_targets(text):
        if _EXTERNAL.match(target) or target.startswith("#"):
            continue
        rel = target.split("#", 1)[0].split("?", 1)[0]
        path = (root / rel.lstrip("/")) if rel.startswith("/") else (doc.parent / rel)
        resolved = path.resolve()
        if not resolved.exists() or not resolved.is_relative_to(root.resolve()):
            problems.append(f"{doc.name}:{number}: link to {target!r} does not resolve to a file in the repository")
    for number, word in quoted_paths(text):
        if not (root / word).exists():
            problems.append(f"{doc.name}:{number}: `{word}` is not a file or folder of the repository")
    return problems


def forbidden_text(doc: Path) -> list[str]:
    """Lines of ``doc`` (code blocks included) that mention REFERENCE.md, issue numbers or sessions."""
    problems = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for pattern, what in FORBIDDEN:
            m = pattern.search(line)
            if m:
                problems.append(f"{doc.name}:{number}: {m.group(0)!r} refers to {what}")
    return problems


def test_documents_are_found() -> None:
    assert ROOT / "README.md" in DOC_FILES
    assert len(DOC_FILES) >= 2, "expected README.md and pages under docs/"


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_and_paths_resolve(doc: Path) -> None:
    assert broken_references(doc) == []


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_outside_references_or_issue_numbers(doc: Path) -> None:
    assert forbidden_text(doc) == []


def test_the_checks_catch_what_they_should(tmp_path: Path) -> None:
    """The checkers themselves: broken links and paths, anchors, externals, code blocks, forbidden text."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "real.md").write_text("x")
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "run.sh").write_text("x")
    outside = tmp_path.parent / f"{tmp_path.name}_outside.md"
    outside.write_text("x")
    doc = tmp_path / "README.md"
    doc.write_text("\n".join([
        "[ok](docs/real.md#section) [anchor](#top) [web](https://example.org/x.md) [mail](mailto:a@b.c)",
        "[gone](docs/missing.md) ![img](docs/missing.png)",
        f"[escape](../{outside.name})",
        "[ref]: docs/also_missing.md",
        "run `tools/run.sh main`, not `tools/nope.py --flag`; patterns `configs/*.py` are skipped",
        "```",
        "[in a code block](docs/not_checked.md) `tools/not_checked.py`",
        "```",
        "See REFERENCE.md; fixed in Issue 6 and #12, as this session showed.",
        "| a | b |\\n|---|---|",
    ]))
    problems = broken_references(doc, tmp_path)
    assert len(problems) == 5, problems
    for target in ("docs/missing.md", "docs/missing.png", outside.name, "docs/also_missing.md", "tools/nope.py"):
        assert any(target in p for p in problems), (target, problems)
    found = " ".join(forbidden_text(doc))
    for text in ("REFERENCE.md", "Issue 6", "#12", "this session", "\\n|"):
        assert text in found, (text, found)
