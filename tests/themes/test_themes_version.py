"""A theme's version changes exactly when what decides its matches changes."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.themes import compile_themes, load_theme_file, parse_themes

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "themes.yaml"

BASE: dict[str, Any] = {
    "define": {"groups": {"any": [{"exact": "ISIS"}, "daesh"]}, "unused": ["x"]},
    "themes": [
        {
            "id": "t",
            "label": "T",
            "description": "what counts",
            "scope": "groups",
            "threshold": 1,
            "rules": [
                {"name": "near rule", "near": ["fighter*", "return*"], "within": 8},
                {"any": ["returnee*", "repatriat*"], "weight": 0.5},
            ],
        },
        {"id": "other", "rules": ["caliphate"]},
    ],
}


def versions(data: dict[str, Any]) -> dict[str, str]:
    return {t.id: t.version for t in parse_themes(data, "test").themes}


def changed(edit: Any) -> dict[str, str]:
    data = copy.deepcopy(BASE)
    edit(data)
    return versions(data)


def rules(data: dict[str, Any]) -> list[Any]:
    return data["themes"][0]["rules"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("edit", [
    lambda d: rules(d)[0].update(within=7),
    lambda d: rules(d)[0].update(ordered=True),
    lambda d: rules(d)[0].update(across_sentences=True),
    lambda d: rules(d)[0].update(near=["fighter*", "returned"]),
    lambda d: rules(d)[0].update(near=["fighters", "return*"]),
    lambda d: rules(d)[0].update({"except": ["fighter jet*"]}),
    lambda d: rules(d)[1].update(weight=0.6),
    lambda d: rules(d)[1]["any"].append("deport*"),
    lambda d: rules(d).append("extradit*"),
    lambda d: rules(d).pop(),
    lambda d: d["themes"][0].update(threshold=1.5),
    lambda d: d["themes"][0].update(scope=None),
    lambda d: d["themes"][0].update(lang="fr"),
    lambda d: d["themes"][0].update(languages={"fr": {"rules": ["combattant*"]}}),
    lambda d: d["define"]["groups"]["any"].append("caliphate"),  # a change in a shared definition
    lambda d: d["define"]["groups"]["any"].__setitem__(0, "ISIS"),  # exact case -> any case
    lambda d: d["define"]["groups"]["any"].__setitem__(0, {"exact": "ISIS", "not_in_caps": True}),
])
def test_a_change_in_the_definition_changes_the_version(edit: Any) -> None:
    before, after = versions(BASE), changed(edit)
    assert after["t"] != before["t"]
    assert after["other"] == before["other"]  # other themes keep theirs


@pytest.mark.parametrize("edit", [
    lambda d: d["themes"][0].update(label="Returning fighters", description="reworded"),
    lambda d: rules(d)[0].update(name="renamed"),
    lambda d: rules(d).reverse(),
    lambda d: rules(d)[1]["any"].reverse(),
    lambda d: rules(d)[1]["any"].append("returnee*"),  # a duplicate term
    lambda d: rules(d)[1]["any"].__setitem__(0, "Returnee*"),  # terms are case-insensitive
    lambda d: rules(d)[0].update(near=["return*", "fighter*"]),  # unordered near: order is free
    lambda d: rules(d)[0].update(ordered=False),  # the default, written out
    lambda d: d["themes"][0].update(threshold=1.0),
    lambda d: d["define"]["unused"].append("y"),
    lambda d: d["themes"][0].update(scope={"any": [{"exact": "ISIS"}, "daesh"]}),  # inline == named
    lambda d: d["themes"].reverse(),
])
def test_what_cannot_change_a_match_keeps_the_version(edit: Any) -> None:
    assert changed(edit) == versions(BASE)


def test_version_is_stable_across_runs_and_formats() -> None:
    text = yaml.safe_dump(BASE)
    assert versions(yaml.safe_load(text)) == versions(BASE)
    assert versions(BASE)["t"] == versions(copy.deepcopy(BASE))["t"]
    assert all(len(v) == 16 and int(v, 16) >= 0 for v in versions(BASE).values())


def test_hits_carry_the_version_of_their_theme() -> None:
    m = compile_themes(parse_themes(BASE, "test"))
    (hit,) = m.match("ISIS fighters are returning; returnees too")
    assert hit.version == versions(BASE)["t"] == {t.id: t.version for t in m.themes}["t"]


def test_seed_versions_differ_per_theme() -> None:
    seeds = load_theme_file(SEEDS)
    assert len({t.version for t in seeds.themes}) == len(seeds.themes) == 3
