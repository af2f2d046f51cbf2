"""The classifier learns from the county's decisions; the server keeps serving through retrains and
broken model files; questions come only when the classifier is unsure, never for what the text says."""

import logging
import multiprocessing
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli
from handlers import intake, learning, texts
from handlers.classify import Classifier, examples
from handlers.classify import model as learnt
from handlers.classify.combine import Combined, Reading, combine
from handlers.questions import CATEGORY, ONLINE, POSTER, URGENT
from models import LabelledExample, OutboxMessage
from tests import township
from tests.conftest import T0
from tests.test_case_flow import CORP, KEY, TOKEN, later
from tests.test_chat_commands import code_in, say
from tests.township import liaison
from tests.wxclient import Aes, Peer

ADMIN = {"Authorization": "Bearer adm"}
NOW = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
# A small slice of the shipped examples keeps each training to seconds.
SLICE = examples.shipped()[::5]
MISROUTED = "东山村垃圾堆了好几天没人拉，臭得很"


@pytest.fixture
def model_path(tmp_path):
    return tmp_path / "classifier.model"


@pytest.fixture
def server(serve, db, model_path):
    township.load(db)
    return serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, mp_token=TOKEN, mp_allow_plaintext=True,
                 admin_token="adm", model_file=str(model_path))


@pytest.fixture
def wecom(server):
    return Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)


@pytest.fixture(scope="module")
def rules():
    return Classifier.load()


def file(wecom, text: str) -> str:
    reply = say(wecom, "gw", text)
    for _ in range(3):
        if texts.CONFIRM_PROMPT in reply:
            break
        reply = say(wecom, "gw", "不清楚")
    return code_in(say(wecom, "gw", "确认"))


# -- learning from the office --------------------------------------------------------------------

def test_a_redispatch_by_the_office_changes_the_model_after_training(server, wecom, db, clock, rules, model_path):
    learning.retrain(db, rules, model_path, NOW, SLICE)
    before = learnt.load(model_path).text_proba(MISROUTED)["category"]["涉贫政策"]

    code = file(wecom, MISROUTED)
    lead = liaison("党政办")
    later(wecom, clock, minutes=5)
    say(wecom, lead, f"退回 {code} 这是低保户的事，归乡村振兴办")
    assert say(wecom, "office", f"分派 {code} 乡村振兴办") == texts.dispatched(code, "乡村振兴办")
    with db() as s:
        row = s.scalars(select(LabelledExample).where(LabelledExample.source == "redispatch")).one()
        assert (row.decided, row.labels["lead_department"], row.text) == (["lead_department"], "乡村振兴办", MISROUTED)
        assert row.actor_id is not None and row.case_id is not None
    info = learning.retrain(db, rules, model_path, NOW, SLICE)
    assert info["county_examples"] == 1
    after = learnt.load(model_path).text_proba(MISROUTED)["category"]["涉贫政策"]
    assert after > before + 0.02, (before, after)


def test_patch_and_the_reporters_answers_are_kept_as_labelled_examples(server, wecom, db):
    code = file(wecom, "东山村垃圾堆了好几天没人拉，臭得很")
    response = httpx.patch(server.url + f"/api/cases/{code}", json={"category": "涉贫政策", "severity": "紧急"},
                           headers=ADMIN)
    assert response.status_code == 200
    say(wecom, "gw", "西岔村有人在河里电鱼")
    say(wecom, "gw", "紧急 是")  # a correction at the summary: one field
    code_in(say(wecom, "gw", "确认"))
    with db() as s:
        rows = s.scalars(select(LabelledExample).order_by(LabelledExample.id)).all()
    assert [(r.source, r.decided) for r in rows] == [("patch", ["category", "urgent"]), ("reporter", ["urgent"])]
    assert rows[0].labels["category"] == "涉贫政策" and rows[0].actor_id is None
    assert rows[1].labels["urgent"] is True and rows[1].text == "西岔村有人在河里电鱼"


# -- the server through retrains and broken files -----------------------------------------------

def train_into(database_url: str, path: str) -> None:
    from app.db import make_engine, session_factory

    engine = make_engine(database_url)
    learning.retrain(session_factory(engine), Classifier.load(), path, NOW, SLICE)
    engine.dispose()


def test_the_server_keeps_serving_through_a_retrain_and_a_corrupt_model(server, wecom, db, rules, model_path,
                                                                        database_url, caplog):
    caplog.set_level(logging.INFO, logger="gridline.classify")
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "东山村垃圾堆了好几天没人拉，臭得很")  # no model: rules alone
    assert "no classifier model file" in caplog.text
    say(wecom, "gw", "取消")

    # `gridline classify train` is another process: the server answers throughout and then changes models.
    trainer = multiprocessing.get_context("spawn").Process(target=train_into, args=(database_url, str(model_path)))
    trainer.start()
    replies = []
    while trainer.is_alive():
        replies.append(say(wecom, "gw", "帮助"))
    assert trainer.exitcode == 0
    assert replies and all(r and "上报" in r for r in replies)
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "东山村垃圾堆了好几天没人拉，臭得很")
    assert "classifier model loaded" in caplog.text  # picked up without a restart
    say(wecom, "gw", "取消")

    model_path.write_bytes(b"\x80\x04 not a model at all")
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "东山村垃圾堆了好几天没人拉，臭得很")
    assert "classifier model unusable" in caplog.text
    assert httpx.get(server.url + "/healthz").status_code == 200


def test_the_fast_path_reads_a_text_as_scikit_learn_does(rules):
    # the fast path does the vectorizer's arithmetic itself (scikit-learn's checks cost ~1 ms a text):
    # on texts it never saw — grams it does not know, none at all, full-width and upper-case letters —
    # it must give scikit-learn's probabilities
    ex = learning.shipped(SLICE[:80])
    model = learnt.train(ex, [rules.classify(e.text) for e in ex], rules.categories)
    assert model.fast is not None
    texts = ["ＡＢＣ村口的路灯坏了半个月 晚上黑灯瞎火", "🙂🙂🙂", "", "昨天有人在抖音上发视频说乡里不管事 https://v.douyin.com/x1/",
             "俺们组那几户为了补偿款的事商量着要去县里 都说好了"]
    fast = model.fast
    for text in texts:
        reading = rules.classify(text)
        quick = model.proba(text, reading), model.text_proba(text)
        model.fast = None
        slow = model.proba(text, reading), model.text_proba(text)
        model.fast = fast
        for a, b in zip(quick, slow):
            assert a.keys() == b.keys()
            for name in a:
                assert a[name] == pytest.approx(b[name], abs=1e-9), (text, name)


def test_a_model_file_is_replaced_atomically(tmp_path, rules):
    path = tmp_path / "m.model"
    items = SLICE[:60]
    ex = learning.shipped(items)
    model = learnt.train(ex, [rules.classify(e.text) for e in ex], rules.categories)
    learnt.save(model, path)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left
    assert isinstance(learnt.load(path), learnt.Model)
    with pytest.raises(learnt.ModelError):
        learnt.load(tmp_path / "absent.model")
    # A write that fails part-way leaves the old model whole (a plain write_bytes would not).
    before = path.read_bytes()

    def broken_dump(obj, out):
        out.write(b"\x80\x04 half a model")
        raise OSError("disk full")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(learnt.joblib, "dump", broken_dump)
        with pytest.raises(OSError):
            learnt.save(model, path)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]
    assert isinstance(learnt.load(path), learnt.Model)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(learnt.ModelError):
        learnt.load(path)


# -- questions only when unsure ------------------------------------------------------------------

class Stub:
    """A model whose probabilities the test sets."""

    def __init__(self, **proba):
        self.proba_ = proba

    def proba(self, text, rules):
        return self.proba_


def reading(rules, text: str, **proba) -> Reading:
    return Combined(rules, Stub(**proba)).read(text)


def asked(rules, text: str, villages=(), village_known=True, **proba) -> list[str]:
    r = reading(rules, text, **proba)
    return [q.field for q in intake.questions(r.labels, intake.Doubts(r, tuple(villages), village_known))]


SURE = {"category": {"民生环境": 0.9, "其他": 0.1}, "urgent": {False: 0.95, True: 0.05},
        "online": {False: 0.97, True: 0.03}, "involves_cadre": {False: 0.99, True: 0.01}}


def test_no_question_when_the_classifier_is_sure(rules):
    assert asked(rules, "东山村垃圾堆了好几天没人拉", **SURE) == []


def test_an_unsure_category_is_a_numbered_choice_of_the_likeliest(rules):
    proba = dict(SURE, category={"民生环境": 0.4, "涉贫政策": 0.35, "信访诉求": 0.2, "其他": 0.05})
    r = reading(rules, "东山村那几户的事一直拖着没人管", **proba)
    question = intake.questions(r.labels, intake.Doubts(r, (), True))[0]
    assert question.field == CATEGORY and question.options == ("民生环境", "涉贫政策", "信访诉求", "其他")
    assert "1 民生环境" in question.text and "4 其他" in question.text


def test_a_close_runner_up_makes_the_category_unsure(rules):
    # likely enough on its own (above the threshold), but the next one is close behind: asked
    close = dict(SURE, category={"民生环境": 0.62, "其他": 0.3, "信访诉求": 0.08})
    assert asked(rules, "东山村那几户的事一直拖着没人管", **close) == [CATEGORY]
    clear = dict(SURE, category={"民生环境": 0.62, "其他": 0.2, "信访诉求": 0.18})
    assert asked(rules, "东山村那几户的事一直拖着没人管", **clear) == []


def test_a_clear_lead_is_not_asked_however_low_its_probability(rules):
    # the runner-up's distance decides (held out, a threshold on the probability alone asked for nothing):
    # 0.5 spread thin behind it is taken, 0.7 with one close behind is asked
    spread = dict(SURE, category={"民生环境": 0.5, "信访诉求": 0.09, "涉贫政策": 0.08, "违规违纪": 0.08,
                                  "涉黑涉法": 0.08, "其他": 0.07})
    r = reading(rules, "东山村那几户的事一直拖着没人管", **spread)
    assert r.labels.category == "民生环境" and not r.unsure(CATEGORY)
    assert asked(rules, "东山村那几户的事一直拖着没人管", **spread) == []
    close = dict(SURE, category={"民生环境": 0.66, "信访诉求": 0.3, "其他": 0.04})
    assert asked(rules, "东山村那几户的事一直拖着没人管", **close) == [CATEGORY]


def test_other_takes_no_place_among_the_likeliest(rules):
    # 其他 is always offered last: ranked second, it must not push the fourth likeliest out of the choice
    proba = dict(SURE, category={"涉贫政策": 0.4, "其他": 0.25, "信访诉求": 0.15, "违规违纪": 0.12,
                                 "民生环境": 0.05, "涉黑涉法": 0.03})
    r = reading(rules, "老孟家那份钱到现在还没个准信", **proba)
    question = intake.questions(r.labels, intake.Doubts(r, (), True))[0]
    assert question.options == ("涉贫政策", "信访诉求", "违规违纪", "其他")


def test_never_asked_what_the_text_says(rules):
    unsure = dict(SURE, urgent={False: 0.5, True: 0.5}, online={False: 0.5, True: 0.5})
    # gathering is mentioned (either way): no gathering question; 抖音 is named: no online or platform question
    assert URGENT not in asked(rules, "他们说不会去上访，就想把钱要回来", **unsure)
    fields = asked(rules, "抖音上有人发视频骂乡里，网名叫老八", **unsure)
    assert ONLINE not in fields and POSTER not in fields
    assert asked(rules, "村里的钱的事大家有意见", **unsure) == [URGENT]  # unsure and not said: one question
    # a model sure that it is online on an unnamed platform: where and who, once
    online = dict(SURE, online={False: 0.1, True: 0.9})
    assert asked(rules, "有人在网上骂乡里的干部不管事", **online) == [POSTER]


def test_at_most_one_question_of_doubt(rules):
    doubtful = dict(SURE, category={"民生环境": 0.4, "其他": 0.35, "信访诉求": 0.25},
                    urgent={False: 0.5, True: 0.5}, online={False: 0.5, True: 0.5})
    r = reading(rules, "那个事大家都有意见", **doubtful)
    found = intake.questions(r.labels, intake.Doubts(r, ("东山村", "西岔村"), False))
    assert [q.field for q in found] == [CATEGORY]
    # once asked (or answered), the other doubts stand as the classifier's best guess
    assert intake.questions(r.labels, intake.Doubts(r, ("东山村", "西岔村"), False), asked={CATEGORY}) == []


def test_rules_keep_their_say_where_they_are_sure(rules):
    text = "村民把通往镇上的路给堵了，拉横幅，抖音上也在传"
    labels = rules.classify(text)
    both = combine(rules, text, labels, {"urgent": {False: 0.99, True: 0.01}, "online": {False: 0.99, True: 0.01}})
    assert both.labels.urgent and both.labels.online and both.confidence["urgent"] == 1.0
    # a village cadre accused: the category stays with 纪委 whatever the model thinks
    text = "村主任把低保名额给了他亲家"
    both = combine(rules, text, rules.classify(text), {"category": {"民生环境": 0.99, "违规违纪": 0.01}})
    assert (both.labels.category, both.labels.involves_cadre) == ("违规违纪", True)


def test_no_model_means_the_rules_alone(rules, tmp_path):
    combined = Combined(rules, learnt.ModelFile(tmp_path / "none.model"))
    text = "东山村垃圾堆了好几天没人拉"
    assert combined.read(text).labels == rules.classify(text)
    assert combined.read(text).confidence == {}


# -- the command line ----------------------------------------------------------------------------

def test_a_new_install_trains_on_the_shipped_examples_without_a_database(tmp_path, monkeypatch, rules):
    # `make run` builds the first model this way: no database yet (the URL points nowhere), and the same
    # examples give the same model, so an install is reproducible
    monkeypatch.setenv("GRIDLINE_DATABASE_URL", f"sqlite:///{tmp_path}/no/such/dir/x.db")
    monkeypatch.setattr(examples, "shipped", lambda: SLICE)
    monkeypatch.setattr(examples, "general", lambda exclude=(): [])
    runner = CliRunner()
    files = []
    for name in ("a.model", "b.model"):
        monkeypatch.setenv("GRIDLINE_MODEL_FILE", str(tmp_path / name))
        trained = runner.invoke(cli, ["classify", "train", "--shipped-only"])
        assert trained.exit_code == 0, trained.output
        assert f"随附样例{len(SLICE)}条，本县判定0条" in trained.output
        files.append(learnt.load(tmp_path / name))
    assert not (tmp_path / "no").exists()
    text = "那几户的补偿款到现在也没给 说下礼拜去县里"
    a, b = (m.proba(text, rules.classify(text)) for m in files)
    assert a == b
    assert Combined(rules, learnt.ModelFile(tmp_path / "a.model")).read(text).by_model


def test_train_if_unusable_keeps_a_good_model_and_rebuilds_a_stale_one(tmp_path, monkeypatch):
    # `make run` and `make serve` call this on every start: a readable model is the county's (perhaps
    # retrained on its decisions) and stays; a missing, corrupt or older-format one is rebuilt
    monkeypatch.setenv("GRIDLINE_DATABASE_URL", f"sqlite:///{tmp_path}/no/such/dir/x.db")
    monkeypatch.setattr(examples, "shipped", lambda: SLICE)
    monkeypatch.setattr(examples, "general", lambda exclude=(): [])
    path = tmp_path / "m.model"
    monkeypatch.setenv("GRIDLINE_MODEL_FILE", str(path))
    runner = CliRunner()
    command = ["classify", "train", "--shipped-only", "--if-unusable"]
    built = runner.invoke(cli, command)
    assert built.exit_code == 0 and "随附样例" in built.output, built.output
    good = path.read_bytes()
    kept = runner.invoke(cli, command)
    assert kept.exit_code == 0 and "无需重新训练" in kept.output and "随附样例" not in kept.output
    assert path.read_bytes() == good
    for stale in (b"not a model", None):
        if stale is None:  # a Gridline model of an older format
            old = learnt.load(path)
            old.format = learnt.FORMAT - 1
            learnt.save(old, path)
        else:
            path.write_bytes(stale)
        rebuilt = runner.invoke(cli, command)
        assert rebuilt.exit_code == 0 and "模型不可用" in rebuilt.output and "随附样例" in rebuilt.output
        assert learnt.load(path).format == learnt.FORMAT


def test_classify_train_and_eval(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDLINE_MODEL_FILE", str(tmp_path / "m.model"))
    monkeypatch.setattr(examples, "shipped", lambda: SLICE)
    monkeypatch.setattr(examples, "general", lambda exclude=(): [])
    runner = CliRunner()
    trained = runner.invoke(cli, ["classify", "train"])
    assert trained.exit_code == 0, trained.output
    assert f"随附样例{len(SLICE)}条" in trained.output and (tmp_path / "m.model").is_file()
    sample = tmp_path / "eval.jsonl"
    sample.write_text("\n".join(
        examples.SHIPPED.joinpath("train-b.jsonl").read_text(encoding="utf-8").splitlines()[1:40:3]), encoding="utf-8")
    result = runner.invoke(cli, ["classify", "eval", str(sample)])
    assert result.exit_code == 0, result.output
    head = result.stdout.splitlines()  # the report; log lines go to stderr
    assert head[0].startswith("eval.jsonl") and head[1].split() == ["field", "rules", "model", "combined"]
    assert any(line.startswith("category") and line.count("%") == 3 for line in head)
    assert "combined · category" in result.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "messages": []}\n', encoding="utf-8")
    refused = runner.invoke(cli, ["classify", "eval", str(bad)])
    assert refused.exit_code == 2 and "line 1" in refused.output


def test_shipped_examples_are_many_varied_and_well_formed():
    items = examples.shipped()
    assert len(items) >= 600
    assert len({"".join(it.text.split()) for it in items}) == len(items)
    by_category = {c: sum(it.expect.category == c for it in items) for c in
                   ("违规违纪", "涉黑涉法", "信访诉求", "涉贫政策", "民生环境", "其他")}
    assert min(by_category.values()) >= 50, by_category
    for flag in ("urgent", "online", "involves_cadre"):
        assert sum(getattr(it.expect, flag) for it in items) >= 50, flag


def test_the_weekly_retrain_is_a_job_run_once_and_recorded(database_url, db, tmp_path, monkeypatch):
    from app.due import run_due
    from handlers.policy import Policy
    from models import Job
    from models.clock import FixedClock
    from tests.conftest import make_settings

    monkeypatch.setattr(examples, "shipped", lambda: SLICE)
    monkeypatch.setattr(examples, "general", lambda exclude=(): [])
    path = tmp_path / "weekly.model"
    settings = make_settings(database_url, retrain_at="SUN 03:00", model_file=str(path))
    policy = Policy.load(None, ZoneInfo("Asia/Shanghai"))
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # Saturday 20:00 in the county
    run_due(settings, db, FixedClock(saturday), policy)
    assert not path.exists()
    with db() as s:
        job = s.scalars(select(Job).where(Job.kind == learning.RETRAIN)).one()
        assert job.status == "pending" and job.payload["model_file"] == str(path)
    sunday = datetime(2026, 11, 28, 19, 1, tzinfo=UTC)  # Sunday 03:01
    report = run_due(settings, db, FixedClock(sunday), policy)
    assert report.jobs.done[learning.RETRAIN] == 1
    assert isinstance(learnt.load(path), learnt.Model)
    stamp = path.stat().st_mtime_ns
    again = run_due(settings, db, FixedClock(sunday), policy)
    assert path.stat().st_mtime_ns == stamp and not again.jobs.done  # once
    with db() as s:
        kinds = [(j.status, j.due_at.astimezone(UTC)) for j in s.scalars(select(Job).where(Job.kind == learning.RETRAIN)
                                                                        .order_by(Job.due_at))]
    assert [k[0] for k in kinds] == ["done", "pending"]


def test_a_retrain_job_runs_from_the_jobs_runner_alone_and_a_failure_is_recorded_and_told(db, tmp_path, monkeypatch):
    from handlers.jobs import run_due as run_jobs
    from handlers.policy import Policy
    from models import Job

    monkeypatch.setattr(examples, "shipped", lambda: SLICE)
    monkeypatch.setattr(examples, "general", lambda exclude=(): [])
    township.load(db)
    policy = Policy.load(None, ZoneInfo("Asia/Shanghai"))
    good, bad = tmp_path / "good.model", tmp_path / "bad.model"
    bad.write_bytes(b"the old file")
    with db.begin() as s:
        # two missed weeks of one kind: one retrain, both rows done
        s.add_all([Job(kind=learning.RETRAIN, due_at=NOW.replace(day=15), payload={"model_file": str(good)}),
                   Job(kind=learning.RETRAIN, due_at=NOW.replace(day=22), payload={"model_file": str(good)})])
    report = run_jobs(db, NOW, policy)
    assert report.done[learning.RETRAIN] == 1 and isinstance(learnt.load(good), learnt.Model)
    with db.begin() as s:
        assert {j.status for j in s.scalars(select(Job))} == {"done"}
        s.add(Job(kind=learning.RETRAIN, due_at=NOW, payload={"model_file": str(bad),
                                                              "rules_file": str(tmp_path / "missing.toml")}))
    report = run_jobs(db, NOW, policy)
    assert report.failed == 1 and not report.done
    assert bad.read_bytes() == b"the old file"  # the old model stands
    with db() as s:
        failed = s.scalars(select(Job).where(Job.status == "failed")).one()
        assert failed.kind == learning.RETRAIN and "RulesError" in failed.error
    assert not run_jobs(db, NOW, policy).failed  # recorded, not retried
    with db() as s:  # the office hears that the old model goes on: no one else would know
        told = s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "office")).one()
    assert told.body == texts.LONG_JOB_FAILED[learning.RETRAIN].format(job_id=failed.id)


@pytest.mark.parametrize("value", ["SUNDAY 03:00", "SUN 25:00"])
def test_a_bad_retrain_time_stops_start_up(value):
    from tests.conftest import make_settings

    with pytest.raises(ValueError, match="retrain_at"):
        make_settings("sqlite://", retrain_at=value)
    assert make_settings("sqlite://", retrain_at="").weekly_schedules.keys() == {"weekly_update", "weekly_summary"}


def test_a_default_is_not_learnt_but_an_answer_is(server, wecom, db):
    # 不清楚 to the cadre question counts as yes (fails closed) — the reporter decided nothing
    assert "村干部" in say(wecom, "gw", "书记说今年的补贴要晚点发")
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "不清楚")
    code_in(say(wecom, "gw", "确认"))
    # a clear 否 is the reporter's word
    assert "村干部" in say(wecom, "gw", "书记说今年的补贴要晚点发，大家问问")
    assert texts.CONFIRM_PROMPT in say(wecom, "gw", "否")
    code_in(say(wecom, "gw", "确认"))
    with db() as s:
        rows = s.scalars(select(LabelledExample)).all()
    assert [(r.decided, r.labels["involves_cadre"]) for r in rows] == [(["involves_cadre"], False)]


def test_the_classification_sets_teach_the_general_fields_never_the_accusation_scorer(rules, tmp_path, monkeypatch):
    # examples/general/ (the burned classification sets) trains category, urgent and online; whether a
    # cadre is accused it never teaches — the cadre benches count false asks on exactly these tip-offs
    general = examples.general()
    assert len(general) >= 800 and not {"".join(it.text.split()) for it in general} & {
        "".join(it.text.split()) for it in examples.shipped()}
    trained = learning.shipped(SLICE, general)
    assert all("involves_cadre" in e.labels for e in trained[:len(SLICE)])
    assert all("involves_cadre" not in e.labels and e.labels["category"] for e in trained[len(SLICE):])
    taught, learnt_from = [], []
    constant = learning.accusation.Scorer((1, 1), {}, np.zeros(0), np.zeros(0), 0.0, 1.0, 0.0, {})
    monkeypatch.setattr(learning.accusation, "fit", lambda ex, **kw: taught.extend(ex) or constant)
    train = learnt.train
    monkeypatch.setattr(learnt, "train", lambda ex, *a, **kw: learnt_from.extend(ex) or train(ex, *a, **kw))
    few = general[::40]
    info = learning.retrain(None, rules, tmp_path / "m.model", NOW, SLICE[:150], few)
    assert info["general_only"] == len(few) and info["shipped_examples"] == 150 + len(few)
    # the scorer: the cadre sets and the shipped examples, none of the classification sets
    few_texts = {learning.accusation.normalise(it.text, rules.classify(it.text).cadre_mentions) for it in few}
    assert not {e.text for e in taught} & few_texts
    assert len(taught) == len(learning.accusation.set_items()) + 150
    # the model: all of them, their category, urgent and online
    assert [e.labels for e in learnt_from[150:]] == [
        {"category": it.expect.category, "urgent": it.expect.urgent, "online": it.expect.online} for it in few]
    # by default (`gridline classify train`) they are in
    assert sum("involves_cadre" not in e.labels for e in learning.shipped()) == len(general)
