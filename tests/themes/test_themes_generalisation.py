"""`except: [{ref: name}]`, and the seed themes on wording they were not first written for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ThemeDefinitionError
from pipeline.themes import Matcher, compile_themes, parse_themes
from tests.support.theme_scores import carried, f1_per_theme, load_jsonl

ROOT = Path(__file__).resolve().parents[2]


def one_theme(rules: list[Any], define: dict[str, Any]) -> Matcher:
    return compile_themes(parse_themes({"define": define, "themes": [{"id": "t", "rules": rules}]}, "test"))


def fires(m: Matcher, text: str) -> bool:
    return any(h.theme == "t" for h in m.match(text))


# ---- except: [{ref: name}] --------------------------------------------------------------------

CONTRAST = {"contrast": ["despite", "still", "grow*"]}


def test_except_ref_drops_matches_spanning_the_definitions_terms() -> None:
    m = one_theme([{"near": ["propaganda", "declin*"], "within": 8, "except": [{"ref": "contrast"}]}], CONTRAST)
    assert fires(m, "IS propaganda has declined sharply.")
    assert not fires(m, "IS propaganda thrives despite the group's decline.")
    assert not fires(m, "Propaganda is still growing, not declining.")


def test_except_ref_mixes_with_terms_and_nested_lists() -> None:
    define = {"inner": ["still"], "outer": [{"ref": "inner"}, ["despite", "yet"]]}
    m = one_theme([{"any": ["fighter*"], "except": [{"ref": "outer"}, "fighter jet*"]}], define)
    assert fires(m, "fighters came home")
    assert not fires(m, "fighter jets came home")
    m = one_theme([{"near": ["propaganda", "declin*"], "within": 8, "except": [{"ref": "outer"}]}], define)
    assert not fires(m, "propaganda yet declining")
    assert not fires(m, "propaganda still declining")


def test_except_ref_and_inline_terms_have_the_same_version() -> None:
    by_ref = parse_themes({"define": CONTRAST, "themes": [
        {"id": "t", "rules": [{"near": ["a", "b"], "within": 3, "except": [{"ref": "contrast"}]}]}]}, "x")
    inline = parse_themes([
        {"id": "t", "rules": [{"near": ["a", "b"], "within": 3, "except": ["grow*", "despite", "still"]}]}], "x")
    assert by_ref.themes[0].version == inline.themes[0].version


@pytest.mark.parametrize("define, message", [
    ({"bad": {"near": ["a", "b"], "within": 2}}, "must be a term or a list of terms"),
    ({"bad": {"any": ["a"], "except": ["b"]}}, "must be a term or a list of terms"),
    ({}, "unknown definition 'bad'"),
])
def test_except_ref_to_anything_but_terms_is_an_error(define: dict[str, Any], message: str) -> None:
    with pytest.raises(ThemeDefinitionError, match=message) as err:
        one_theme([{"any": ["x"], "except": [{"ref": "bad"}]}], define)
    assert "theme 't', rule 1 (any)" in str(err.value)


# ---- the seed themes ------------------------------------------------------------------------

@pytest.mark.parametrize("text, theme", [
    # irregular past tenses and passive voice
    ("ISIL fighters overran Ramadi in May 2015.", "territorial_focus"),
    ("Within days, IS militants took Mosul and Tikrit.", "territorial_focus"),
    ("The town was retaken from Islamic State after a two-week battle.", "territorial_focus"),
    ("The caliphate has shrunk to a sliver of land along the Euphrates.", "territorial_focus"),
    ("Al-Shabaab was driven out of the port city of Kismayo in 2012.", "territorial_focus"),
    ("Hundreds of ISIS militants slipped back into Turkey on forged passports.", "returning_fighters"),
    ("Eleven women who had joined the Islamic State were flown back to the Netherlands.", "returning_fighters"),
    ("A Briton accused of fighting for ISIL was deported from Turkey at the weekend.", "returning_fighters"),
    ("Daesh's weekly newsletter has not been published for a month, and its videos have all but vanished.",
     "propaganda_collapse"),
    # the group named later as "the group", "the jihadists"
    ("Islamic State is weaker than ever: the group has lost almost all of its territory.", "territorial_focus"),
])
def test_constructions_in_other_words_carry_their_theme(text: str, theme: str) -> None:
    assert theme in carried(text)


@pytest.mark.parametrize("text", [
    "Afghan refugees returned home from Pakistan as the Taliban fought Islamic State in the east.",
    "Three soldiers who fought against ISIS in Mosul came home to a heroes' welcome.",
    "The Taliban have seized dozens of districts, and officials warn that al-Qaeda still shelters there.",
    "Syrian troops recaptured the town from rebels, while ISIS attacks continued in the desert.",
    "IS propaganda videos have reached record audiences despite repeated takedowns.",
    "Police handed over the ISIS suspect to prosecutors after a raid in Vienna.",
    "Yazidi women freed from ISIS captivity returned to Sinjar this week.",
    "ISIS militants seized 40 hostages in the town.",
])
def test_near_misses_in_jihadist_articles_do_not_fire(text: str) -> None:
    assert carried(text) == set(), text


def test_generalisation_set() -> None:
    # Written while generalising the seeds, by probing wording the dev set does not use: positives with
    # other verbs, inflections and group names, and near-miss negatives in articles about the groups.
    # Rules were revised after some of these failed, so it guards against regressions rather than
    # measuring generalisation (the even half of the blind set below does that).
    items = load_jsonl(Path(__file__).with_name("generalisation.jsonl"))
    for theme, (p, r, f1) in f1_per_theme(items).items():
        assert f1 >= 0.9, f"{theme}: precision {p:.2f}, recall {r:.2f}, F1 {f1:.2f}"


def blind_half(parity: int) -> list[dict[str, Any]]:
    path = ROOT / "tests" / "data" / "themes_blind.jsonl"
    if not path.exists():
        pytest.skip(f"test data not present: {path}")
    return [i for i in load_jsonl(path) if int(str(i["id"]).rsplit("-", 1)[1]) % 2 == parity]


def test_blind_set_odd_half() -> None:
    # Written independently of the rules; the odd half was looked at while generalising them.
    for theme, (p, r, f1) in f1_per_theme(blind_half(1)).items():
        assert f1 >= 0.9, f"{theme}: precision {p:.2f}, recall {r:.2f}, F1 {f1:.2f}"


def test_blind_set_even_half() -> None:
    # Held out: never looked at item by item, only measured in aggregate.
    for theme, (p, r, f1) in f1_per_theme(blind_half(0)).items():
        assert p >= 0.9 and f1 >= 0.8, f"{theme}: precision {p:.2f}, recall {r:.2f}, F1 {f1:.2f}"
