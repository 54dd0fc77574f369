"""Config: one schema, unknown keys are errors naming the YAML path and line, ${ENV} substitution."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.errors import ConfigError

MINIMAL = """\
database:
  url: sqlite:///{db}
sources: []
themes: []
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_minimal_config_is_valid_and_defaults_fill_in(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, MINIMAL.format(db=tmp_path / "x.db")))
    assert cfg.database.url.endswith("x.db")
    assert cfg.sources == []
    assert cfg.web.port == 8080 and cfg.web.host == "127.0.0.1"
    assert cfg.signals.window_hours == 24


def test_unknown_key_names_path_and_line(tmp_path: Path) -> None:
    text = MINIMAL.format(db="x.db") + "web:\n  host: 127.0.0.1\n  prot: 9000\n"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    msg = str(err.value)
    assert "config.yaml:7" in msg and "web.prot" in msg and "unknown key" in msg


def test_invalid_value_in_list_names_index_and_line(tmp_path: Path) -> None:
    text = "database:\n  url: sqlite:///x.db\nthemes: []\nsources:\n  - name: a\n    url: ftp://nope\n"
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert "sources[0].url" in str(err.value) and "config.yaml:6" in str(err.value)


def test_missing_database_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="database"):
        load_config(write(tmp_path, "sources: []\nthemes: []\n"))


def test_env_substitution_and_missing_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = MINIMAL.format(db="x.db") + "web:\n  token: ${TEST_TOKEN_X}\n  port: ${TEST_PORT_X:-9001}\n"
    monkeypatch.setenv("TEST_TOKEN_X", "s3cret")
    cfg = load_config(write(tmp_path, text))
    assert cfg.web.token == "s3cret" and cfg.web.port == 9001
    monkeypatch.delenv("TEST_TOKEN_X")
    with pytest.raises(ConfigError, match=r"config.yaml:6.*TEST_TOKEN_X is not set"):
        load_config(write(tmp_path, text))


def test_env_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = write(tmp_path, MINIMAL.format(db="x.db"))
    monkeypatch.setenv("PIPELINE_DATABASE_URL", "sqlite:///other.db")
    monkeypatch.setenv("PIPELINE_WEB_PORT", "9123")
    cfg = load_config(p)
    assert cfg.database.url == "sqlite:///other.db" and cfg.web.port == 9123


def test_config_flag_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, MINIMAL.format(db=tmp_path / "x.db"), "good.yaml")
    bad = write(tmp_path, "nonsense: [", "bad.yaml")
    monkeypatch.setenv("PIPELINE_CONFIG", str(bad))
    assert main(["config", "check"]) == 2
    assert "bad.yaml:1" in capsys.readouterr().err
    assert main(["--config", str(good), "config", "check"]) == 0


def test_sources_from_file_and_duplicate_names(tmp_path: Path) -> None:
    write(tmp_path, "sources:\n  - name: A\n    url: https://a.example/feed\n", "sources.yaml")
    cfg = load_config(write(tmp_path, "database:\n  url: sqlite:///x.db\nsources: sources.yaml\nthemes: []\n"))
    assert [s.name for s in cfg.sources] == ["A"]
    dup = "database:\n  url: sqlite:///x.db\nthemes: []\nsources:\n" + (
        "  - name: A\n    url: https://a.example/feed\n" * 2)
    with pytest.raises(ConfigError, match="used twice"):
        load_config(write(tmp_path, dup))


def test_shipped_config_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "config.yaml")
    assert len(cfg.sources) >= 5
    assert cfg.themes == "seeds/themes.yaml"


def test_bad_theme_rule_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "database:\n  url: sqlite:///x.db\nsources: []\nthemes:\n  - id: t1\n    bogus_key: 1\n"
    p = write(tmp_path, text)
    assert main(["--config", str(p), "config", "check"]) == 2
    assert "t1" in capsys.readouterr().err


def test_error_path_names_yaml_keys_not_union_tags(tmp_path: Path) -> None:
    text = MINIMAL.format(db="x.db") + (
        "alerts:\n  channels:\n    - name: hook\n      type: webhook\n      url: 12\n      bogus: 1\n")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    msg = str(err.value)
    assert "alerts.channels[0].bogus" in msg and "config.yaml:10" in msg
    assert ".webhook." not in msg


def test_config_check_never_prints_the_database_password(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = write(tmp_path, "database:\n  url: postgresql://monitor:S3cretPw@db.internal/news\nsources: []\nthemes: []\n")
    assert main(["--config", str(p), "config", "check"]) == 0
    assert main(["--config", str(p), "config", "check", "--json"]) == 0
    out = capsys.readouterr().out
    assert "S3cretPw" not in out and "monitor" in out
