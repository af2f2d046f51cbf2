"""The accusation scorer: a learnt second opinion that only ever raises doubt about the cadre detector's
"no", rides in the model file, and leaves the rules alone when there is no model.

Sentences here are our own, not the cadre sets' (which the scorer learns from)."""

from dataclasses import replace
from datetime import UTC, datetime

import joblib
import numpy as np
import pytest

from handlers import learning, texts
from handlers.classify import Classifier, accusation, examples
from handlers.classify import model as learnt
from handlers.classify.cadre import ASK, NO, YES
from handlers.classify.combine import Combined, combine
from tests import township
from tests.conftest import T0
from tests.test_case_flow import CORP, KEY, TOKEN
from tests.test_cadre import rows, the_case
from tests.test_chat_commands import say
from tests.test_intake import code_in
from tests.wxclient import Aes, Peer

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SLICE = examples.shipped()[::5]  # the general fields on a slice: seconds, not a minute
# Accusations in words the rule table lacks: a nickname and a description, no title, no sign it knows.
UNKNOWN_WORDS = ("二愣子这两年在屯里说一不二，修路那几十万谁也不知道花哪了",
                 "村东头那个一把抓的，去年谁家评啥都得先往他家送两条烟")
HARMLESS = ("今天下午村里组织清理河道垃圾，来了三十多人，干到天黑",
            "王大妈家的狗丢了三天了，麻烦大家帮忙留意一下",
            "书记带着大伙去县医院看望受伤的张叔，还垫了医药费")


@pytest.fixture(scope="module")
def rules():
    return Classifier.load()


@pytest.fixture(scope="module")
def model_file(rules, tmp_path_factory):
    """A model as `gridline classify train` writes it (the general fields on a slice of the shipped
    examples, the scorer on the cadre sets and that slice)."""
    path = tmp_path_factory.mktemp("accusation") / "classifier.model"
    learning.retrain(None, rules, path, NOW, SLICE)
    return path


@pytest.fixture(scope="module")
def model(model_file):
    return learnt.load(model_file)


def constant(p: float) -> accusation.Scorer:
    """A scorer that holds every text accused with probability p."""
    logit = float(np.log(p / (1 - p)))
    return accusation.Scorer((1, 1), {}, np.zeros(0), np.zeros(0), 0.0, 1.0, logit, {})


def test_the_scorer_raises_doubt_on_an_accusation_in_words_the_table_lacks(rules, model):
    without, with_model = Combined(rules), Combined(rules, model)
    for text in UNKNOWN_WORDS:
        assert without.read(text).labels.cadre_verdict == NO  # the detector alone lets it through
        labels = with_model.read(text).labels
        assert (labels.cadre_verdict, labels.involves_cadre) == (ASK, True), text
        assert not labels.cadre_accused  # a doubt, like the detector's ask: the category stays the text's
        assert "scorer" in labels.cadre_reason
    for text in HARMLESS:
        assert with_model.read(text).labels.cadre_verdict == NO, text


def test_an_accusation_in_unknown_words_gets_the_cadre_question_in_chat(serve, db, model_file):
    township.load(db)
    server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, model_file=str(model_file))
    wecom = Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)
    reply = say(wecom, "gw", UNKNOWN_WORDS[1])
    assert "村干部" in reply and texts.CONFIRM_PROMPT not in reply
    asked = say(wecom, "gw", "不清楚")  # fails closed: unclear counts as yes — on who may see it, not on
    if "哪一类" in asked:  # what it is about: the category is then the model's to be sure of, or to ask
        asked = say(wecom, "gw", "不清楚")
    assert "涉及村干部：是" in asked, asked


def test_the_scorer_never_lowers_a_yes_nor_a_no_below_ask_nor_overrides_the_reporter(rules):
    sure_no, sure_yes = constant(0.001), constant(0.999)
    for text in (*UNKNOWN_WORDS, *HARMLESS, "村会计把低保名额给了他小舅子", *ASKED):
        labels = rules.classify(text)
        for scorer in (sure_no, sure_yes):
            out = accusation.second_opinion(scorer, text, labels, given=False)
            if labels.cadre_verdict == YES:
                assert out == labels
            if labels.cadre_verdict == NO:
                assert out.involves_cadre >= labels.involves_cadre and out.cadre_verdict in (NO, ASK)
        given = rules.classify(text, involves_cadre=False)  # the reporter said 否: nothing reopens it
        assert accusation.second_opinion(sure_yes, text, given, True) == given
        said_yes = rules.classify(text, involves_cadre=True)  # …nor does anything close a 是
        assert accusation.second_opinion(sure_no, text, said_yes, True) == said_yes
    no = replace(rules.classify(HARMLESS[1]), cadre_verdict=NO)
    raised = accusation.second_opinion(sure_yes, HARMLESS[1], no, False)
    assert (raised.cadre_verdict, raised.involves_cadre, raised.cadre_accused) == (ASK, True, False)
    assert raised.category == no.category  # a doubt: who may see it fails closed, what it is about stays
    assert accusation.second_opinion(sure_no, HARMLESS[1], no, False) == no
    assert accusation.second_opinion(None, HARMLESS[1], no, False) == no


# The detector asks about these (a cadre named beside a list, nobody accused of anything): our sentences.
ASKED = ("西岔村村主任说今年的低保名单下周公示", "会计说低保的事回头再说")


@pytest.mark.parametrize("text", ASKED)
def test_the_detectors_ask_is_settled_only_when_the_scorer_is_very_sure(rules, text):
    labels = rules.classify(text)
    assert (labels.cadre_verdict, labels.involves_cadre) == (ASK, True)
    keep, sure = accusation.KEEP_BELOW, accusation.SURE_FROM
    assert 0 < keep < accusation.THRESHOLD < sure < 1
    kept = accusation.second_opinion(constant(keep * 0.9), text, labels, False)
    assert (kept.cadre_verdict, kept.involves_cadre, kept.cadre_accused) == (NO, False, False)
    assert kept.category == labels.category
    for p in (keep * 1.1, 0.3, 0.5, 0.8, sure - 0.01):  # not sure enough either way: the question stays
        assert accusation.second_opinion(constant(p), text, labels, False) == labels, p
    bypassed = accusation.second_opinion(constant(min(sure + 0.01, 0.999)), text, labels, False)
    assert (bypassed.cadre_verdict, bypassed.involves_cadre, bypassed.cadre_accused) == (YES, True, True)
    for scorer in (constant(keep * 0.9), constant(0.999), None):  # the reporter's word and a missing scorer
        assert accusation.second_opinion(scorer, text, labels, True) == labels
    assert accusation.second_opinion(None, text, labels, False) == labels


def test_a_sure_bypass_is_the_cadre_category_as_the_detectors_yes(rules, model):
    # the scorer's yes is an accusation, not a doubt: 违规违纪 led by 纪委, like the detector's yes or a 是
    reading = Combined(rules, replace(model, accusation=constant(0.999))).read(ASKED[0])
    labels = reading.labels
    assert (labels.cadre_verdict, labels.involves_cadre, labels.cadre_accused) == (YES, True, True)
    assert (labels.category, labels.lead_department) == ("违规违纪", "纪委") and not reading.unsure("category")
    asked = Combined(rules, replace(model, accusation=constant(0.5))).read(ASKED[0]).labels
    assert (asked.cadre_verdict, asked.category) == (ASK, rules.classify(ASKED[0]).category)


def test_a_mention_becomes_one_placeholder_whoever_the_cadre_is(model):
    one = accusation.normalise("刘书记把修路钱揣兜里了", ["刘书记", "书记"])
    other = accusation.normalise("欧阳书记把修路钱揣兜里了", ["欧阳书记"])
    assert one == other == accusation.PLACEHOLDER + "把修路钱揣兜里了"
    scorer = model.accusation
    assert scorer.proba("刘书记把修路钱揣兜里了", ["刘书记"]) == scorer.proba("欧阳书记把修路钱揣兜里了", ["欧阳书记"])


def test_the_scorer_scores_as_scikit_learn_would(rules):
    # the scorer's own arithmetic stands in for the vectorizer and regression: same n-grams, same weights
    from sklearn.feature_extraction.text import TfidfVectorizer

    train = [accusation.Example(accusation.normalise(t), a) for t, a in
             [(UNKNOWN_WORDS[0], True), (UNKNOWN_WORDS[1], True), ("村会计把低保名额给了他小舅子", True),
              ("刘主任挪用扶贫款买车", True), ("支书让亲戚包了鱼塘", True), ("会计把账本藏起来不让看", True),
              *((h, False) for h in HARMLESS), ("停电三天了没人管", False), ("河里有人电鱼", False),
              ("主任帮着调解了邻里纠纷", False)]]
    scorer = accusation.fit(train)
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=scorer.ngrams, sublinear_tf=True, lowercase=False,
                                 vocabulary=scorer.vocabulary)
    vectorizer.idf_ = scorer.idf
    for text in ("老蔫儿收了钱", "完全没见过的字 ABC ａｂｃ", "", HARMLESS[0]):
        x = vectorizer.transform([accusation.normalise(text)]).toarray()[0]
        decision = x @ scorer.weights + scorer.bias
        expected = 1 / (1 + np.exp(-(scorer.slope * decision + scorer.offset)))
        assert scorer.proba(text) == pytest.approx(expected, abs=1e-9), text


def test_the_scorer_rides_in_the_model_file_and_an_old_format_is_refused(model_file, model, tmp_path):
    assert isinstance(model.accusation, accusation.Scorer) and model.format == learnt.FORMAT == 3
    assert model.info["accusation"]["accusations"] > 600  # the cadre sets were learnt from
    copy = tmp_path / "copy.model"
    learnt.save(model, copy)
    again = learnt.load(copy).accusation
    for text in (*UNKNOWN_WORDS, *HARMLESS):
        assert again.proba(text) == model.accusation.proba(text)
    old = tmp_path / "old.model"
    joblib.dump(replace(model, format=2, accusation=None), old)  # a file of the format before the scorer
    with pytest.raises(learnt.ModelError, match="format 3"):
        learnt.load(old)
    assert learnt.ModelFile(old).current() is None  # refused: the rules alone, not a model without a scorer


def test_without_a_model_the_rules_decide_alone(rules, tmp_path):
    broken = tmp_path / "broken.model"
    broken.write_bytes(b"not a model")
    for path in (tmp_path / "missing.model", broken):
        combined = Combined(rules, learnt.ModelFile(path))
        for text in (*UNKNOWN_WORDS, *ASKED):
            reading = combined.read(text)
            assert not reading.by_model and reading.labels == rules.classify(text)
        assert combined.read(UNKNOWN_WORDS[0]).labels.cadre_verdict == NO
        assert combined.read(ASKED[0]).labels.cadre_verdict == ASK  # neither kept nor bypassed unasked


def test_a_model_without_a_scorer_leaves_the_detectors_ask(rules, model):
    labels = Combined(rules, replace(model, accusation=None)).read(ASKED[0]).labels
    assert (labels.cadre_verdict, labels.involves_cadre) == (ASK, True)


def test_the_cadre_sets_are_shipped_with_their_ids_and_committees():
    items = accusation.set_items()
    towns = accusation.committees()
    assert {i.set for i in items} == set(towns)
    assert len(items) == len({(i.set, i.id) for i in items}) > 1000
    assert sum(i.accuses for i in items) > 600 and sum(not i.accuses for i in items) > 350
    assert all(i.reporter_village in towns[i.set] for i in items)
    sample = [i for i in accusation.set_items(exclude=[s for s in towns if s != "cadre_sample"])]
    assert {i.set for i in sample} == {"cadre_sample"} and sample[0].id.startswith("s-")


def chat_with_scorer(serve, db, model, tmp_path, p: float) -> Peer:
    """A server whose model file holds a scorer that gives every text p."""
    path = tmp_path / "stubbed.model"
    learnt.save(replace(model, accusation=constant(p)), path)
    township.load(db)
    server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, model_file=str(path))
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


def file_unasked_about_cadres(wecom, text: str) -> tuple[str, str]:
    """File as a naive reporter who is never asked the cadre question: the summary and the case code."""
    reply = say(wecom, "gw", text)
    for _ in range(3):
        if texts.CONFIRM_PROMPT in reply:
            break
        assert "村干部" not in reply, reply  # another question (gathering, category) is answered 不清楚
        reply = say(wecom, "gw", "不清楚")
    assert texts.CONFIRM_PROMPT in reply, reply
    return reply, code_in(say(wecom, "gw", "确认"))


def test_a_sure_score_bypasses_the_village_without_asking_and_its_committee_learns_nothing(serve, db, model,
                                                                                          tmp_path):
    wecom = chat_with_scorer(serve, db, model, tmp_path, 0.999)
    summary, code = file_unasked_about_cadres(wecom, ASKED[0])
    assert "涉及村干部：是" in summary and "纪委牵头" in summary
    case = the_case(db, code)
    assert case.involves_cadre and (case.category, case.lead_department) == ("违规违纪", "纪委")
    sent = {r.recipient for r in rows(db, code)}
    assert township.liaison("纪委") in sent and "leader" in sent
    accused = {township.secretary("西岔村"), township.committee("西岔村")}
    assert not sent & accused
    for who in accused:
        assert say(wecom, who, f"进度 {code}") == texts.NO_SUCH_CASE.format(code=code)
        assert code not in say(wecom, who, "待办")


# A cadre as a victim, said in words the detector asks about (money); the general model does not doubt it.
VICTIM = "西岔村委员的车昨晚被人划了，还丢了两千块钱"


def test_a_very_unlikely_accusation_stays_with_the_village_without_asking(serve, db, model, tmp_path):
    wecom = chat_with_scorer(serve, db, model, tmp_path, 0.001)
    summary, code = file_unasked_about_cadres(wecom, VICTIM)
    assert "涉及村干部：否" in summary
    assert not the_case(db, code).involves_cadre
    assert township.secretary("西岔村") in {r.recipient for r in rows(db, code)}
    # the scorer's keep does not silence the general model's own doubt (it holds a cadre likely here)
    assert "村干部" in say(wecom, "gw", ASKED[0])


def test_the_detectors_question_stays_when_the_scorer_is_unsure(serve, db, model, tmp_path):
    wecom = chat_with_scorer(serve, db, model, tmp_path, 0.5)
    question = say(wecom, "gw", VICTIM)
    assert "村干部" in question and texts.CONFIRM_PROMPT not in question


def test_a_sure_scorer_keeps_the_detectors_yes_from_the_general_models_doubt(rules):
    text = "村会计把低保名额给了他小舅子"
    labels = rules.classify(text)
    assert labels.cadre_verdict == YES
    doubting = {"involves_cadre": {True: 0.1, False: 0.9}}  # below combine.CADRE_DOUBT: the yes becomes a question
    assert combine(rules, text, labels, doubting).labels.cadre_verdict == ASK
    kept = combine(rules, text, labels, doubting, cadre_sure=True).labels
    assert (kept.cadre_verdict, kept.involves_cadre, kept.cadre_accused) == (YES, True, True)
    assert accusation.sure(constant(0.999), text, labels, False)
    assert not accusation.sure(constant(accusation.SURE_FROM - 0.01), text, labels, False)
    assert not accusation.sure(constant(0.999), text, labels, True)  # the reporter's word is not the scorer's
    assert not accusation.sure(None, text, labels, False)
    asked = rules.classify(ASKED[0])
    assert not accusation.sure(constant(0.5), ASKED[0], asked, False)


def test_the_general_models_doubt_reopens_no_no_the_scorer_has_read(rules):
    """The detector's no that the scorer left under its THRESHOLD is not asked about on the general model's doubt
    (held out it caught no accusation the two missed: bench/cadre_doubt.py); without a scorer the doubt asks."""
    text = "村主任帮我们把塌了的院墙修好了，大家都很感激"
    labels = rules.classify(text)
    assert labels.cadre_verdict == NO
    doubting = {"involves_cadre": {True: 0.5, False: 0.5}}
    assert not combine(rules, text, labels, doubting, cadre_scored=True).unsure("involves_cadre")
    assert combine(rules, text, labels, doubting).unsure("involves_cadre")
    # the detector's own question and its yes are the scorer's to settle, not the doubt's to drop
    asked = rules.classify(ASKED[0])
    assert combine(rules, ASKED[0], asked, doubting, cadre_scored=True).unsure("involves_cadre")
