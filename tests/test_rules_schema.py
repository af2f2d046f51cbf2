"""The rule table's schema (handlers/classify/schema.py, pydantic): a broken rules.toml is refused before
anything is compiled, with the file, the section, the key and every problem named."""

import tomllib

import pytest

from handlers.classify import DEFAULT_RULES, Classifier, RulesError
from handlers.classify import schema

DEFAULT = tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))


def refused(edit) -> str:
    data = tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))
    edit(data)
    with pytest.raises(RulesError) as err:
        Classifier(data, "office.toml")
    message = str(err.value)
    assert message.startswith("rules file office.toml: ")
    return message


def test_the_shipped_table_is_valid_and_typed():
    table = schema.validate(DEFAULT, "rules.toml")
    assert isinstance(table, schema.RuleTable)
    assert [c.name for c in table.category][-1] == table.classify.default_category == "其他"
    assert table.urgent.crowd.threshold >= 1 and table.cadre.signs


def test_every_problem_is_named_at_once():
    def edit(d):
        d["classify"]["min_score"] = True  # strict: a boolean is not a number
        d["negation"]["window"] = 0
        d["urgent"]["crowd"]["units"] = []
        del d["severity"]
    message = refused(edit)
    assert "[classify] min_score must be a number, not True" in message
    assert "[negation] window must be a number ≥ 1, not 0" in message
    assert "[urgent.crowd] units must not be empty" in message
    assert "missing section [severity]" in message


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d.update(extra={}), "[top level] has unknown key(s) extra"),
    (lambda d: d["online"]["platforms"].update(抖音="douyin"), "[online.platforms] 抖音 must be a list of strings"),
    (lambda d: d["online"]["words"].append(""), "[online] words: '' is too short (an empty string)"),
    (lambda d: d["urgent"].update(crowd=[1]), "[urgent.crowd] must be a table"),
    (lambda d: d["classify"].update(speculation_factor=1.5), "speculation_factor must be a number ≤ 1"),
    (lambda d: d["severity"].update(major_if_involves_cadre="是"), "major_if_involves_cadre must be true or false"),
    (lambda d: d["category"][2]["patterns"].append("(占"), "[category 信访诉求] patterns item"),
    (lambda d: d["category"].append(dict(d["category"][0])), "category '违规违纪' is defined twice"),
    (lambda d: d["category"].append({"lead_department": "纪委"}), "[category #7] is missing name"),
    (lambda d: d.update(category=[]), "[category] must not be empty"),
    (lambda d: d["severity"].update(major_online_categories=["网络"]), "major_online_categories names '网络'"),
    (lambda d: d["cadre"].update(category="纪检"), "[cadre] category names '纪检', which is not a category"),
    (lambda d: d["cadre"]["accused"].append("村里有人(打|骂)"), "must contain {C} (a cadre) or {B} (a body)"),
    (lambda d: d["cadre"]["excused"].append("magic"), "excused names 'magic', which is not a kind of [cadre.signs]"),
])
def test_a_broken_table_is_refused_with_section_and_key(edit, expected):
    assert expected in refused(edit)
