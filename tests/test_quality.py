"""The house rules that a machine can check: ruff clean everywhere, mypy strict on pipeline/, every command
documented with an example."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} not installed")
    return found


def test_ruff_clean() -> None:
    out = subprocess.run([_tool("ruff"), "check", "pipeline", "tests", "bench", "migrations"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_mypy_strict_on_pipeline() -> None:
    out = subprocess.run([_tool("mypy"), "pipeline"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                has_children = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
                if has_children:
                    yield from _commands(sub, (*prefix, name))
                else:
                    yield (*prefix, name), sub


def test_every_command_has_help_with_an_example_and_is_in_the_readme() -> None:
    from pipeline.cli import build_parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = list(_commands(build_parser()))
    assert len(commands) >= 15
    for path, sub in commands:
        name = " ".join(path)
        assert sub.description or sub.format_help(), name
        assert "Example:" in (sub.epilog or ""), f"`pipeline {name}` has no example in its help"
        assert f"{path[0]}" in readme, f"`pipeline {name}` is not in the README"
