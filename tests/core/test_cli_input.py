"""Bad input gets a clear error naming what and where, with exit code 2, and loses nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(f"database:\n  url: sqlite:///{tmp_path / 'x.db'}\nsources: []\nthemes: []\n")
    assert main(["--config", str(p), "db", "upgrade"]) == 0
    return p


def good(i: int) -> str:
    return json.dumps({"url": f"https://a.example/{i}", "title": f"Story {i}", "text": f"Body of story {i}.",
                       "published": "2026-03-01T10:00:00Z", "source": "A"})


def test_import_reports_bad_lines_and_stores_the_good_ones(cfg: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "in.jsonl"
    f.write_text("\n".join([
        good(1),
        "{not json",
        json.dumps({"url": "https://a.example/x", "title": "t", "text": "b", "source": "A"}),  # no date
        json.dumps({"url": "ftp://a.example/y", "title": "t", "text": "b", "published": "2026-03-01",
                    "source": "A"}),
        json.dumps({"url": "https://a.example/z", "title": "t", "text": "b", "published": "yesterday",
                    "source": "A"}),
        json.dumps(["not", "an", "object"]),
        good(2),
    ]) + "\n")
    capsys.readouterr()
    assert main(["--config", str(cfg), "import", str(f), "--json"]) == 2
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert summary["inserted"] == 2 and summary["invalid"] == 5
    for line in (2, 3, 4, 5, 6):
        assert f"in.jsonl:{line}:" in out.err
    assert "published" in out.err and "url" in out.err
    # Nothing stored is lost by the bad lines: importing the good ones again changes nothing.
    f.write_text(good(1) + "\n" + good(2) + "\n")
    assert main(["--config", str(cfg), "import", str(f), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["inserted"] == 0 and again["unchanged"] == 2


def test_import_missing_file_is_exit_2(cfg: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(cfg), "import", str(tmp_path / "nope.jsonl")]) == 2
    assert "nope.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize("args, needle", [
    (["detect", "--from", "2026-13-01", "--to", "2026-03-02"], "--from"),
    (["detect", "--from", "2026-03-05", "--to", "2026-03-01"], "--to"),
    (["themes", "retag", "--since", "soon"], "--since"),
])
def test_bad_dates_are_exit_2(cfg: Path, args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(cfg), *args]) == 2
    assert needle in capsys.readouterr().err


def test_themes_match_reports_bad_lines_and_keeps_stdout_json(cfg: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": "a", "text": "hello"}\nnope\n{"id": "b"}\n'))
    assert main(["--config", str(cfg), "themes", "match"]) == 2
    out = capsys.readouterr()
    assert [json.loads(line)["id"] for line in out.out.splitlines()] == ["a"]
    assert "<stdin>:2" in out.err and "<stdin>:3" in out.err


def test_unmigrated_database_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "config.yaml"
    p.write_text(f"database:\n  url: sqlite:///{tmp_path / 'fresh.db'}\nsources: []\nthemes: []\n")
    assert main(["--config", str(p), "sources", "list", "--json"]) == 1
    assert "pipeline db upgrade" in capsys.readouterr().err
