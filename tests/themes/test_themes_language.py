"""The theme definition language, one feature at a time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.themes import Matcher, MatcherSettings, compile_themes, parse_themes


def matcher(rules: list[Any], **theme: Any) -> Matcher:
    """A matcher with one theme 't' holding ``rules`` (and any other theme keys)."""
    return compile_themes(parse_themes([{"id": "t", "rules": rules, **theme}], "test"))


def fires(m: Matcher, text: str, title: str = "", lang: str | None = None) -> bool:
    return any(h.theme == "t" for h in m.match(text, title, lang))


# ---- terms ----------------------------------------------------------------------------------

def test_plain_term_is_case_insensitive_and_whole_word() -> None:
    m = matcher(["returnee"])
    assert fires(m, "A RETURNEE was arrested.")
    assert fires(m, "a Returnee")
    assert not fires(m, "the returnees")  # no wildcard: the word must be exactly that
    assert not fires(m, "nonreturnee")


def test_wildcard_matches_any_word_ending() -> None:
    m = matcher(["repatriat*"])
    for text in ("repatriated", "Repatriation", "repatriate", "REPATRIATING", "repatriat"):
        assert fires(m, f"They were {text} last week."), text
    assert not fires(m, "the expatriates")


def test_wildcard_inside_and_before_a_word() -> None:
    assert fires(matcher(["neighbo*rhood*"]), "the neighbourhoods of Mosul")
    assert fires(matcher(["neighbo*rhood*"]), "the neighborhood")
    assert fires(matcher(["*terrorism"]), "counterterrorism police")
    assert not fires(matcher(["*terrorism"]), "terrorist")


def test_exact_case_term() -> None:
    m = matcher([{"exact": "IS"}])
    assert fires(m, "Fighters loyal to IS seized the town.")
    assert fires(m, "the IS-held districts")  # a hyphen separates words
    assert not fires(m, "The town is held by rebels.")
    assert not fires(m, "Is it over?")


def test_isis_never_matches_inside_crisis_nor_the_goddess() -> None:
    m = matcher([{"exact": ["ISIS", "ISIL"]}])
    assert fires(m, "ISIS claimed the attack")
    assert not fires(m, "The CRISIS deepened; the crisis in Yemen")
    assert not fires(m, "Isis, the Egyptian goddess")
    assert not fires(m, "ISISX and XISIS")
    # A case-insensitive term still respects word boundaries.
    assert not fires(matcher(["isis"]), "the humanitarian crisis")


def test_not_in_caps_skips_shouting_text() -> None:
    m = matcher([{"exact": "IS", "not_in_caps": True}])
    assert not fires(m, "WHAT IS NEXT")
    assert not fires(m, "IS THIS THE END")
    assert fires(m, "IS fighters retreated")
    assert fires(m, "AFP: IS claimed it")  # one neighbour in capitals, the other not
    assert fires(matcher([{"exact": "IS"}]), "WHAT IS NEXT")  # without the option it matches


def test_phrase_matches_across_any_separators_and_typographic_punctuation() -> None:
    m = matcher(["al-Qaeda", "da'esh", "foreign fighter*"])
    for text in ("al Qaeda", "Al-Qaeda's", "al\u2011Qaeda", "al \u2014 qaeda", "Da\u2019esh", "Da\u02bcesh",
                 "da-esh", "foreign  fighters", "FOREIGN\nFIGHTER"):
        assert fires(m, f"news about {text} today"), text
    assert not fires(m, "alQaeda")  # one word is not the two-word phrase
    assert not fires(m, "foreign policy fighters")


def test_phrase_words_must_be_consecutive_and_in_order() -> None:
    m = matcher(["islamic state"])
    assert fires(m, "the Islamic State group")
    assert not fires(m, "state islamic")
    assert not fires(m, "Islamic and State")


# ---- combinations ------------------------------------------------------------------------------

def test_near_within_n_words_either_order() -> None:
    m = matcher([{"near": ["fighter*", "return*"], "within": 3}])
    assert fires(m, "fighters returning")  # adjacent words are 1 apart
    assert fires(m, "they returned, the fighters said")
    assert fires(m, "fighters who had returned")  # 3 apart
    assert not fires(m, "fighters who had since returned")  # 4 apart


def test_near_ordered() -> None:
    m = matcher([{"near": ["return*", "fighter*"], "within": 3, "ordered": True}])
    assert fires(m, "returning fighters")
    assert not fires(m, "fighters returning")


def test_near_stays_in_one_sentence_unless_allowed() -> None:
    text = "Many fighters died. Refugees returned."
    assert not fires(matcher([{"near": ["fighter*", "return*"], "within": 8}]), text)
    assert fires(matcher([{"near": ["fighter*", "return*"], "within": 8, "across_sentences": True}]), text)
    # Abbreviations and initials do not end a sentence.
    assert fires(matcher([{"near": ["officials", "fighter*"], "within": 5}]), "U.S. officials said fighters fled")
    assert fires(matcher([{"near": ["gen", "fighter*"], "within": 5}]), "Gen. Smith said fighters fled")


def test_near_nests_and_takes_lists() -> None:
    rule = {"near": [["militant*", "jihadi*"], {"near": ["seiz*", ["town*", "city"]], "within": 3}], "within": 4}
    m = matcher([rule])
    assert fires(m, "Jihadists seized the city")
    assert fires(m, "the militants have now seized two towns")
    assert not fires(m, "militants seized weapons in a raid near the town")


def test_any_all_not() -> None:
    m = matcher([{"all": [{"any": ["amaq", "naba"]}, "offline", {"not": "restored"}]}])
    assert fires(m, "Amaq went offline on Friday.")
    assert fires(m, "Offline since May: al-Naba.")
    assert not fires(m, "Amaq went offline, but was restored.")
    assert not fires(m, "Amaq published a video.")


def test_a_theme_may_rest_on_absence_alone() -> None:
    m = matcher([{"not": "caliphate"}])
    (hit,) = m.match("nothing of the kind")
    assert hit.score == 1.0 and hit.evidence == ()  # nothing to point at
    assert not fires(m, "the caliphate")


def test_a_list_is_any() -> None:
    m = matcher([["caliphate", "daesh"]])
    assert fires(m, "the Daesh group")
    assert not fires(m, "the group")


def test_except_drops_occurrences_inside_excluded_terms() -> None:
    m = matcher([{"near": [{"any": ["fighter*"], "except": ["fighter jet*", "kurdish fighter*"]}, "return*"],
                  "within": 4}])
    assert fires(m, "the fighters returned home")
    assert not fires(m, "fighter jets returned to base")
    assert not fires(m, "Kurdish fighters returned home")
    assert fires(m, "Kurdish fighters and foreign fighters returned")  # the second occurrence counts


def test_except_on_near() -> None:
    m = matcher([{"near": ["propaganda", "collaps*"], "within": 5, "except": ["could collapse"]}])
    assert fires(m, "the propaganda machine collapsed")
    assert not fires(m, "its propaganda said the dam could collapse")


# ---- scope, weights, threshold ----------------------------------------------------------------------

def test_scope_gate() -> None:
    m = matcher(["returnee*"], scope={"any": ["jihadi*", {"exact": "ISIS"}]})
    assert fires(m, "Returnees from Syria joined ISIS in 2014.")
    assert fires(m, "Returnees face trial.", title="Jihadists back in Europe")
    assert not fires(m, "Returnees from Pakistan were counted by the refugee agency.")


def test_scope_may_name_a_definition() -> None:
    data = {"define": {"groups": ["daesh", "caliphate"]},
            "themes": [{"id": "t", "scope": "groups", "rules": ["returnee*"]}]}
    m = compile_themes(parse_themes(data, "test"))
    assert fires(m, "Daesh returnees")
    assert not fires(m, "returnees")


def test_weights_add_up_to_the_threshold_each_rule_once() -> None:
    m = matcher([{"any": ["caliphate"], "weight": 0.5}, {"any": ["territory"], "weight": 0.5},
                 {"any": ["retreat*"], "weight": -1}], threshold=1)
    assert not fires(m, "the caliphate, the caliphate, the caliphate")  # a rule counts once
    hits = m.match("the caliphate lost territory")
    assert [h.score for h in hits] == [1.0]
    assert not fires(m, "the caliphate lost territory and retreated")  # a negative weight subtracts


def test_threshold_defaults_to_one() -> None:
    m = matcher([{"any": ["caliphate"], "weight": 0.9}])
    assert not fires(m, "the caliphate")


def test_definitions_are_reusable_with_ref() -> None:
    data = {
        "define": {"groups": {"any": [{"exact": "ISIS"}, "daesh"]},
                   "fighters": {"near": [{"ref": "groups"}, "fighter*"], "within": 2}},
        "themes": [{"id": "t", "rules": [{"near": [{"ref": "fighters"}, "return*"], "within": 5}]}],
    }
    m = compile_themes(parse_themes(data, "test"))
    assert fires(m, "ISIS fighters are returning")
    assert not fires(m, "Kurdish fighters are returning")


# ---- other languages ---------------------------------------------------------------------------------

def test_languages_map_adds_rules_per_language() -> None:
    m = matcher(["returnee*"], scope=["daesh", "jihadi*"],
                languages={"fr": {"rules": [{"near": ["combattant*", "retour*"], "within": 5}],
                                  "scope": ["daech", "djihadist*"]},
                           "de": {"rules": ["rückkehrer*"], "threshold": 1}})
    assert m.themes[0].languages == ("en", "fr", "de")
    french = "Le retour des combattants djihadistes inquiète Paris."
    assert fires(m, french)
    assert fires(m, french, lang="fr")
    assert not fires(m, french, lang="en")  # only the English block is tried
    assert fires(m, "Die Rückkehrer aus Syrien sind Dschihadisten.", lang="de") is False  # scope: jihadi*
    assert fires(m, "Die Rückkehrer des Daesh", lang="de")  # the theme's scope is inherited
    assert fires(m, "RÜCKKEHRER des Daesh")  # case-folding works beyond ASCII


def test_theme_lang_names_the_language_of_its_own_rules() -> None:
    m = matcher(["combattant*"], lang="fr")
    assert fires(m, "des combattants", lang="fr")
    assert not fires(m, "des combattants", lang="en")


# ---- hits and evidence -----------------------------------------------------------------------------

def test_hit_carries_score_version_and_evidence_offsets_into_title_and_text() -> None:
    m = matcher([{"name": "coming home", "near": ["jihadi*", "home"], "within": 4}, "caliphate"])
    title, text = "Jihadists head home", "The caliphate has fallen."
    (hit,) = m.match(text, title)
    assert hit.theme == "t"
    assert hit.score == 2.0
    assert hit.version == m.themes[0].version
    combined = title + "\n\n" + text
    spans = {e.term: combined[e.start:e.end] for e in hit.evidence}
    assert spans == {"coming home": "Jihadists head home", "caliphate": "caliphate"}
    for e in hit.evidence:
        assert combined[e.start:e.end] in e.snippet


def test_evidence_is_capped_per_rule_and_snippets_are_short() -> None:
    m = compile_themes(parse_themes([{"id": "t", "rules": ["caliphate"]}], "test"),
                       MatcherSettings(max_evidence_per_rule=2, snippet_chars=10))
    text = " ".join(["word"] * 50 + ["caliphate"] * 5 + ["word"] * 50)
    (hit,) = m.match(text)
    assert len(hit.evidence) == 2
    assert all(len(e.snippet) <= len("caliphate") + 2 * 10 + 2 for e in hit.evidence)
    assert hit.evidence[0].snippet.startswith("…") and hit.evidence[0].snippet.endswith("…")


def test_only_themes_carried_are_returned_in_definition_order() -> None:
    data = [{"id": "b", "rules": ["beta"]}, {"id": "a", "rules": ["alpha"]}, {"id": "c", "rules": ["gamma"]}]
    m = compile_themes(parse_themes(data, "test"))
    assert [h.theme for h in m.match("gamma alpha beta")] == ["b", "a", "c"]
    assert [h.theme for h in m.match("alpha")] == ["a"]
    assert m.match("nothing here") == []
    assert [t.id for t in m.themes] == ["b", "a", "c"]


def test_text_longer_than_the_limit_is_matched_on_its_first_part() -> None:
    m = compile_themes(parse_themes([{"id": "t", "rules": ["caliphate"]}], "test"),
                       MatcherSettings(max_text_chars=1000))
    assert not m.match("x " * 600 + "caliphate")
    assert m.match("caliphate " + "x " * 600)


@pytest.mark.parametrize("text", ["", " ", "\n\n", "...", "\x00\ud800", "🙂" * 10])
def test_degenerate_texts(text: str) -> None:
    m = matcher(["caliphate", {"near": ["a*", "b*"], "within": 1}])
    assert m.match(text) == []
    assert m.match(text, text) == []


def test_the_readme_example_is_valid_and_does_what_it_says() -> None:
    readme = (Path(__file__).resolve().parents[2] / "pipeline" / "themes" / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml")[1].split("```")[0]
    m = compile_themes(parse_themes(yaml.safe_load(example), "README.md"))
    assert m.themes[0].languages == ("en", "fr")
    assert [h.theme for h in m.match("ISIS fighters are coming back home")] == ["returning_fighters"]
    assert m.match("Fighter jets came back home, away from the ISIS front") == []
    assert m.match("WHAT IS NEXT: fighters coming back home") == []
    assert [h.theme for h in m.match("Le retour des combattants djihadistes", lang="fr")] == ["returning_fighters"]
