"""The commands printed in the READMEs, read one way for every test that runs them.

A command is a line of a fenced shell block (```sh, ```bash, ```console, ```shell), with backslash
continuations joined (``a \\`` + ``    b`` -> ``a b``) and its trailing comment split off: a ``#`` at
the start of a word and outside quotes starts the comment, as in the shell. Tests run ``command.text`` through
``bash -c``; bash would ignore the comment anyway, so the text run is the text printed.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHELL_LANGUAGES = frozenset({"sh", "bash", "console", "shell"})
_FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.M | re.S)


@dataclass(frozen=True)
class ReadmeCommand:
    readme: str  # path from the repository root, e.g. "loadtests/README.md"
    section: str  # the heading above the block ("" before the first heading)
    text: str  # the command as bash runs it
    comment: str  # its trailing comment without the "#" ("" when none)

    @property
    def expected(self) -> str | None:
        """The ``# -> TEXT`` convention: what the command's output must contain."""
        return self.comment[2:].strip() or None if self.comment.startswith("->") else None


def split_comment(line: str) -> tuple[str, str]:
    """(command, comment) of one shell line: ``#`` starts a comment at a word start outside quotes."""
    quote = ""
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].strip(), line[index + 1 :].strip()
    return line.strip(), ""


def block_commands(body: str) -> list[tuple[str, str]]:
    """(command, comment) for every command of one block's text."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in body.splitlines():
        line = raw.rstrip()
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending += line[:-1].strip() + " "
            continue
        text, comment = split_comment(pending + line.strip())
        pending = ""
        if text:
            out.append((text, comment))
    if pending.strip():
        out.append(split_comment(pending.strip()))
    return out


def _headings(text: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group(1).strip()) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)]


def code_blocks(readme: str) -> list[tuple[str, str, str]]:
    """(language, section, body) of every fenced block of a README (path from the repository root)."""
    text = (ROOT / readme).read_text(encoding="utf-8")
    headings = _headings(text)
    blocks = []
    for match in _FENCE.finditer(text):
        section = ""
        for start, title in headings:
            if start < match.start():
                section = title
        blocks.append((match.group(1).lower(), section, match.group(2)))
    return blocks


def readme_commands(readme: str, section: str | None = None) -> list[ReadmeCommand]:
    """Every command of the README's shell blocks (of one section, when given: the heading's text starts
    with ``section``), in order."""
    return [
        ReadmeCommand(readme, title, text, comment)
        for language, title, body in code_blocks(readme)
        if language in SHELL_LANGUAGES and (section is None or title.startswith(section))
        for text, comment in block_commands(body)
    ]


def readme_command(readme: str, prefix: str, section: str | None = None) -> ReadmeCommand:
    """The one command of the README that is ``prefix``, else the one that starts with it."""
    commands = readme_commands(readme, section)
    found = [c for c in commands if c.text == prefix] or [c for c in commands if c.text.startswith(prefix)]
    found = list({c.text: c for c in found}.values())  # a command printed twice is one command
    assert len(found) == 1, f"{readme}: {len(found)} commands start with {prefix!r}: {found}"
    return found[0]


def tracked_readmes() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "*README.md"],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return sorted(name for name in listed.splitlines() if (ROOT / name).is_file())
