"""A draft read step by step is read exactly as its whole text (handlers/classify/text.py, line by line).

A draft is its messages joined by "\n"; the rules read each line once and remember it. The proof: many
random drafts, built from the rule table's own words, names of a committee, negations, numbers,
links and punctuation (a message may hold a "\n" of its own), classified after every step by a classifier
that reads line by line (its caches warm from the steps before) and by one that reads only whole texts.
"""

import random
import re
import tomllib

import pytest

from handlers.classify import DEFAULT_RULES, Classifier
from handlers.classify.text import line_local

COMMITTEE = {"柳湾村": ["褚长福", "邝玉珍"], "桃园村": ["欧阳启明", "何文斌"]}
ELSEWHERE = {"河口村": ["郭建军", "李强"], "马营村": ["吴海"]}
VILLAGES = ("柳湾村", "桃园村", "河口村", "马营村")


def _table() -> dict:
    return tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))


def _whole(data: dict) -> Classifier:
    """The same table read only as whole texts: the reading a draft step must equal."""
    return Classifier(data, "whole", by_line=False)


def _words(data: dict) -> list[str]:
    words = [w for cat in data["category"] for key in ("strong", "words", "weak") for w in cat.get(key, [])]
    cadre = data["cadre"]
    words += cadre["titles"] + cadre.get("slips", []) + cadre.get("strong", []) + cadre.get("bodies", [])
    words += [w for kind in cadre.get("signs", {}).values() for w in kind]
    urgent = data["urgent"]
    words += urgent["cues"] + urgent.get("soft_cues", []) + urgent.get("benign_contexts", [])
    words += urgent.get("past", []) + urgent.get("over", []) + urgent.get("denied", [])
    words += data["negation"]["before"] + data["negation"].get("after", []) + data["classify"].get("speculation", [])
    return words


FILLER = ["他", "她", "他们", "把", "说", "的", "了", "村里", "昨天", "一直", "钱", "名单", "低保", "三十多个人",
          "五六十号人", "两万块", "围在", "门口", "不是", "没有", "是不是", "听说", "书纪", "会记", "郭主人",
          "李快计", "何文彬", "老褚", "长福", "褚书记", "玉珍姐", "海子", "sj", "抖音", "网名叫“山里人”",
          "https://v.douyin.com/abc123/", "www.example.com/x", "“", "”", "《", "》"]
BREAKS = ["，", "。", "！", "？", " ", "、", "：", "；", "\n", "…", ""]


def _message(rng: random.Random, words: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(1, 9)):
        parts.append(rng.choice(words) if rng.random() < 0.6 else rng.choice(FILLER))
        if rng.random() < 0.5:
            parts.append(rng.choice(BREAKS))
    if rng.random() < 0.3:
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(VILLAGES[:2] + ("河口", "马营")))
    return "".join(parts).strip()


@pytest.fixture(scope="module")
def data() -> dict:
    return _table()


def test_the_shipped_table_is_read_line_by_line(data):
    rules = Classifier(data, "stepwise")
    assert rules._cues_by_line and rules.cadre._marks_by_line
    # three role patterns of the table name a line's edges or spaces (\n): they read the whole text
    assert 0 < len(rules.cadre._crossing_roles) < len(rules.cadre._role_patterns) / 10


@pytest.mark.parametrize("seed", range(4))
def test_every_draft_step_reads_as_its_whole_text(data, seed):
    stepwise, whole = Classifier(data, "stepwise"), _whole(data)
    words = _words(data)
    rng = random.Random(seed)
    for _ in range(40):
        messages = []
        for _ in range(rng.randint(1, 12)):
            messages.append(_message(rng, words))
            text = "\n".join(messages)
            in_play = dict(list(COMMITTEE.items())[:rng.randint(0, 2)])
            for kwargs in ({}, {"known_villages": VILLAGES, "committee_names": in_play, "elsewhere": ELSEWHERE}):
                assert stepwise.classify(text, **kwargs) == whole.classify(text, **kwargs), text
            assert stepwise.cadre.titled(messages[-1]) == whole.cadre.titled(messages[-1])
    # the steps were read from memory: each line once per committee, not once per step
    assert stepwise._line_cues.cache_info().hits > stepwise._line_cues.cache_info().misses


def test_the_same_line_again_is_not_read_again(data):
    stepwise = Classifier(data, "stepwise")
    first = "村东头河道有人倾倒垃圾，臭味很大"
    stepwise.classify(first)
    misses = stepwise._line_cues.cache_info().misses
    stepwise.classify(first + "\n已经堆了三天")
    assert stepwise._line_cues.cache_info().misses == misses + 1  # only the new line


@pytest.mark.parametrize("pattern, local", [
    ("垃圾.{0,4}堆", True), ("(?<![A-Za-z0-9])sj(?![A-Za-z0-9])", True), ("[^\\n，]+村", True),
    (r"\w+书记", True), (r"\b村\B", True), ("(?:倾倒|乱扔)+垃圾", True),
    (r"垃圾\s*堆", False), ("垃圾[^，]*堆", False), ("^村里", False), ("堆了$", False), ("(?s)垃圾.堆", False),
    (r"垃圾\W堆", False), (r"(?<=\n)村", False), (r"垃圾[\x00-\x7f]堆", False), (r"(a)?(?(1)b|\s)", False),
])
def test_a_pattern_is_read_by_line_only_when_no_line_edge_can_change_its_matches(pattern, local):
    assert line_local(re.compile(pattern)) is local


def test_a_table_whose_pattern_crosses_lines_is_read_whole(data):
    """A pattern that may match over a "\n" (a table the office edited) turns line reading off for the
    categories: the match across two messages still counts, as it does in the whole text."""
    cat = next(c for c in data["category"] if c["name"] != data["cadre"]["category"])
    cat.setdefault("patterns", []).append("斑马\\s*羚羊")
    rules = Classifier(data, "crossing")
    assert not rules._cues_by_line and rules.cadre._marks_by_line
    text = "斑马\n羚羊"
    assert dict(rules.classify(text).category_scores)[cat["name"]] > 0
    assert rules.classify(text) == _whole(data).classify(text)
