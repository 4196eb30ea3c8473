"""The README's commands name things that exist: make targets, CLI commands, scripts, flags.

Every ``bash`` block of the README is read; for each command that runs project code
(``make``, ``lakehouse``, ``python -m <module>``, a script under ``bench/``, and the
command after ``ray job submit ... --``) the target, the module or file and every ``--flag``
must exist — flags are looked up in the command's own ``--help``. This catches a README
that drifted from the code (flags renamed or never built), which a reader finds only by
pasting. What the commands then do against a server is tested by the tests of each route.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakehouse.cli import app as cli_app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PYTHONS = {"python", "python3", ".venv/bin/python"}


def bash_commands() -> list[str]:
    """Each command line of the README's bash blocks, continuations joined, comments cut."""
    text = README.read_text()
    lines: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        block = re.sub(r"\\\n\s*", " ", block)
        heredoc = None
        for line in block.splitlines():
            if heredoc:  # the body of a heredoc is not a command line
                heredoc = None if line.strip() == heredoc else heredoc
                continue
            found = re.search(r"<<-?'?(\w+)'?", line)
            heredoc = found.group(1) if found else None
            line = re.split(r"\s+#\s", line)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def words(line: str) -> list[str]:
    """The words of the first command of ``line`` (before a pipe), env assignments dropped."""
    try:
        parts = shlex.split(line.split(" | ")[0])
    except ValueError:
        return []
    while parts and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", parts[0]):
        parts = parts[1:]
    if parts[:3] == ["ray", "job", "submit"] and "--" in parts:
        parts = parts[parts.index("--") + 1 :]
    return parts


def flags(parts: list[str]) -> list[str]:
    return [p.split("=")[0] for p in parts if p.startswith("--") and len(p) > 2]


@cache
def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", text, re.M))


@cache
def python_help(target: tuple[str, ...]) -> str:
    done = subprocess.run(
        [sys.executable, *target, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{' '.join(target)} --help failed: {done.stderr[-2000:]}"
    return done.stdout


def cli_help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli_app, [*path, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, f"lakehouse {' '.join(path)} --help: {result.output}"
    return result.output


def cli_path(parts: list[str]) -> tuple[str, ...]:
    """The command path of a ``lakehouse`` line: words until the first argument or flag."""
    path: list[str] = []
    for word in parts[1:]:
        if word.startswith("-") or not re.fullmatch(r"[a-z][a-z0-9-]*", word):
            break
        candidate = (*path, word)
        if CliRunner().invoke(cli_app, [*candidate, "--help"]).exit_code != 0:
            break
        path.append(word)
    return tuple(path)


def python_target(parts: list[str]) -> tuple[str, ...] | None:
    """``("-m", module)`` or ``(script,)`` for a python line that runs project code."""
    if parts[0] not in PYTHONS or len(parts) < 2:
        return None
    if parts[1] == "-m" and parts[2].split(".")[0] in {"actors", "deployments", "bench"}:
        return ("-m", parts[2])
    if parts[1].endswith(".py"):
        return (parts[1],)
    return None


COMMANDS = bash_commands()


def test_the_readme_has_commands_to_check():
    runnable = [c for c in COMMANDS if words(c)[:1] in (["make"], ["lakehouse"])]
    assert len(runnable) >= 10, COMMANDS


@pytest.mark.parametrize("line", [c for c in COMMANDS if words(c)[:1] == ["make"]])
def test_make_targets_exist(line):
    targets = [w for w in words(line)[1:] if "=" not in w and not w.startswith("-")]
    assert set(targets) <= make_targets(), line


@pytest.mark.parametrize("line", [c for c in COMMANDS if words(c)[:1] == ["lakehouse"]])
def test_cli_commands_and_flags_exist(line):
    parts = words(line)
    path = cli_path(parts)
    assert path, f"no such command: {line}"
    shown = cli_help(path)
    for flag in flags(parts):
        assert re.search(rf"{re.escape(flag)}\b", shown), f"{flag} is not an option of {line}"


PYTHON_LINES = [c for c in COMMANDS if words(c) and python_target(words(c))]


@pytest.mark.parametrize("line", PYTHON_LINES)
def test_python_entry_points_and_flags_exist(line):
    parts = words(line)
    target = python_target(parts)
    shown = python_help(target)
    for flag in flags(parts):
        assert re.search(rf"{re.escape(flag)}\b", shown), f"{flag} is not an option of {line}"
