"""The docs cannot drift: every ``trirl ...`` command in README.md and docs/*.md names a real
subcommand and real flags of the CLI's argparse (nothing is run), and every relative link (file and
heading anchor) resolves."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from trirl_ros.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?$(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`(trirl [a-z][^`]*)`")  # a command, not a printed line such as `trirl 0.964 ...`
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _commands(page: Path) -> list[str]:
    text = page.read_text()
    found = []
    for block in FENCE.findall(text):
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("trirl "):
                found.append(line)
    found += INLINE.findall(FENCE.sub("", text))
    return found


def _tokens(command: str) -> list[str]:
    """Words of a documented command: comments dropped, optional ``[...]`` brackets opened,
    ``a|b`` alternatives reduced to the first, continuation backslashes removed."""
    command = command.split(" #", 1)[0].replace("\\", " ").replace("[", " ").replace("]", " ")
    try:
        words = shlex.split(command)
    except ValueError:  # an unbalanced quote in prose: take the plain words
        words = command.split()
    return [w.split("|", 1)[0] for w in words if w not in ("...", "..")]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings}


def _slug(heading: str) -> str:
    """GitHub's anchor of a markdown heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text())
    return {_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", text, re.M)}


ALL_COMMANDS = [(p, c) for p in PAGES if p.is_file() for c in _commands(p)]


def test_the_docs_document_commands():
    assert len(ALL_COMMANDS) >= 30, ALL_COMMANDS  # the pages were found and read
    assert (REPO / "docs").is_dir() and len(PAGES) >= 8


@pytest.mark.parametrize("page,command", ALL_COMMANDS,
                         ids=[f"{p.name}:{c[:60]}" for p, c in ALL_COMMANDS])
def test_documented_command_exists(page, command):
    words = _tokens(command)[1:]
    parser = build_parser()
    path = ["trirl"]
    while words and _subparsers(parser):
        name = words.pop(0)
        subs = _subparsers(parser)
        assert name in subs, f"{page.name}: `{command}`: {' '.join(path)} has no subcommand {name!r} ({sorted(subs)})"
        parser = subs[name]
        path.append(name)
    known = _options(parser)
    for word in words:
        if word.startswith("-") and not re.fullmatch(r"-\d.*", word):
            flag = word.split("=", 1)[0]
            assert flag in known, f"{page.name}: `{command}`: {' '.join(path)} has no option {flag} ({sorted(known)})"


def test_a_wrong_flag_is_caught():
    """The checker itself: a flag the CLI does not have fails."""
    with pytest.raises(AssertionError, match="has no option --no-such-flag"):
        test_documented_command_exists(REPO / "README.md", "trirl train --config x.yaml --no-such-flag")
    with pytest.raises(AssertionError, match="has no subcommand 'nope'"):
        test_documented_command_exists(REPO / "README.md", "trirl demos nope file")


@pytest.mark.parametrize("page", [p for p in PAGES if p.is_file()], ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for url in LINK.findall(FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", url):
            continue  # http(s), mailto
        path, _, anchor = url.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: link {url} -> {target} does not exist"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target), f"{page.name}: link {url}: no heading #{anchor} in {target.name}"
