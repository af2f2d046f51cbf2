"""Tip-offs of a labelled file, filed through the real chat flow by two simulated reporters.

    python bench/classify.py FILE.jsonl [--model var/classifier.model] [--rules FILE.toml]

Each tip-off is sent message by message to the conversation (bot/conversation.py: intake, questions,
summary, 确认) by a grid worker of a made-up township whose villages are those the file names; the
filed case's labels are compared with the file's. Two reporters:

* naive — answers every question 不清楚 (the cadre question then counts as yes: it fails closed);
* truthful — answers from the file's labels: the category if offered (else 其他), 是/否 for
  gathering, online and cadre, the village's name, 不清楚 to where-and-who-posted.

Printed: per-field accuracy for each, mean messages per tip-off, the questions asked by field (the reporter's, from the first to
确认, answers included), and the classifier's time per tip-off (rules and model, without the
conversation). No corrections at the summary: what is measured is what Gridline gets by itself
and by asking.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FIELDS = ("category", "lead_department", "urgent", "online", "involves_cadre", "village")
HOME = "甲乙村"  # the reporter's own village: a name no tip-off uses
TOWNSHIP = "测评乡"
T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in the county


def roster(villages: list[str]) -> bytes:
    from handlers.org import DEPARTMENTS

    rows = ["乡镇,村,网格,姓名,手机号,角色,部门,包联村,企业微信账号"]
    n = 0

    def person(village, grid, name, role, dept="", covers="", userid=None):
        nonlocal n
        n += 1
        rows.append(f"{TOWNSHIP},{village},{grid},{name},139{n:08d},{role},{dept},{covers},{userid or f'u{n:04d}'}")

    person(HOME, "一网格", "测评网格员", "网格员", userid="gw")
    for i, village in enumerate([HOME, *villages]):
        person(village, "", f"书记{i:03d}", "村书记")
    for i, dept in enumerate(d for d in DEPARTMENTS if d != "领导小组办公室"):
        person("", "", f"联络员{i:02d}", "部门联络员", dept=dept)
    person("", "", "办公室甲", "办公室", userid="office")
    person("", "", "主要领导甲", "主要领导")
    return ("\n".join(rows) + "\n").encode()


class Reporter:
    """Answers the bot's questions, naive or truthful."""

    def __init__(self, truthful: bool):
        self.truthful = truthful

    def answer(self, reply: str, expect: dict, texts, last_question) -> str:
        if not self.truthful:
            return "不清楚"
        field, options = last_question
        if field == "category":
            return expect["category"] if expect["category"] in options else "其他"
        if field == "village":
            return expect["village"] or "不清楚"
        if field in ("urgent", "online", "involves_cadre"):
            return "是" if expect[field] else "否"
        return "不清楚"


def run(items, combined, truthful: bool, show_wrong: bool = False) -> dict:
    from sqlalchemy import select
    from sqlmodel import Session, SQLModel

    import models  # noqa: F401 — registers the tables
    from bot.conversation import Chat
    from bot.inbound import InboundMessage
    from handlers import texts
    from handlers.classify.evaluate import villages_of
    from handlers.policy import Policy
    from handlers.roster import import_roster
    from models import Case, Conversation, Unit
    from app.db import make_engine
    from zoneinfo import ZoneInfo

    tmp = tempfile.mkdtemp(prefix="bench-classify-")
    engine = make_engine(f"sqlite:///{tmp}/bench.db")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        report = import_roster(s, "roster.csv", roster(villages_of(items)))
        assert not report.refused, [str(e) for e in report.errors]
        s.commit()
    chat = Chat(combined, Policy.load(None, ZoneInfo("Asia/Shanghai")))
    reporter = Reporter(truthful)
    right = dict.fromkeys(FIELDS, 0)
    messages: list[int] = []
    asked: Counter = Counter()
    now = T0
    serial = 0

    def say(text: str) -> str:
        nonlocal now, serial
        serial += 1
        now += timedelta(seconds=20)
        msg = InboundMessage("work", "bench", "gw", "text", now, msg_id=f"m{serial}", text=text)
        with Session(engine) as s:
            reply = chat(s, msg, now) or ""
            s.commit()
        return reply

    def pending() -> tuple[str, tuple]:
        with Session(engine) as s:
            convo = s.scalars(select(Conversation)).first()
            q = (convo.draft or {}).get("pending") if convo else None
        return (q["field"], tuple(q.get("options", ()))) if q else ("", ())

    for item in items:
        expect = item.expect.model_dump()
        expect["lead_department"] = expect["lead_department"] or combined.lead_for(expect["category"])
        sent = 0
        reply = ""
        for message in item.messages:
            reply = say(message)
            sent += 1
        for _ in range(6):  # questions, one at a time, until the summary
            if texts.CONFIRM_PROMPT in reply:
                break
            question = pending()
            asked[question[0]] += 1
            reply = say(reporter.answer(reply, expect, texts, question))
            sent += 1
        if texts.CONFIRM_PROMPT not in reply:
            say("取消")
            messages.append(sent + 1)
            continue  # never reached the summary: every field counts as wrong
        receipt = say(texts.CONFIRM_WORD)
        sent += 1
        messages.append(sent)
        with Session(engine) as s:
            case = s.scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()
            assert case.code in receipt, receipt
            village = s.get(Unit, case.village_id).name if case.village_id else None
            got = {"category": case.category, "lead_department": case.lead_department, "urgent": case.urgent,
                   "online": case.online, "involves_cadre": case.involves_cadre, "village": village}
        want = dict(expect, village=expect["village"] or HOME)  # none named: the reporter's own
        for f in FIELDS:
            right[f] += got[f] == want[f]
        wrong = [f"{f} {want[f]}→{got[f]}" for f in ("category", "urgent", "online", "involves_cadre", "village")
                 if got[f] != want[f]]
        if show_wrong and wrong:
            print(f"{'truthful' if truthful else 'naive'} {item.id}: {', '.join(wrong)}")
    engine.dispose()
    n = len(items)
    return {"accuracy": {f: right[f] / n for f in FIELDS}, "messages": statistics.mean(messages), "asked": asked}


def timing(items, combined) -> float:
    from handlers.classify.evaluate import villages_of

    villages = villages_of(items)
    for item in items[:20]:  # warm up
        combined.read(item.text, villages)
    start = time.perf_counter()
    for item in items:
        combined.read(item.text, villages)
    return (time.perf_counter() - start) / len(items) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--model", default="var/classifier.model", help="model file; missing: the rules alone")
    parser.add_argument("--rules", default=None, help="rule table (default: the shipped one)")
    parser.add_argument("--wrong", action="store_true", help="print each tip-off with a field wrong")
    args = parser.parse_args()

    from handlers.classify import Classifier
    from handlers.classify.combine import Combined
    from handlers.classify.examples import read
    from handlers.classify.model import ModelFile

    items = read(args.file).items
    combined = Combined(Classifier.load(args.rules), ModelFile(args.model))
    print(f"{args.file.name}: {len(items)} tip-offs; model: {'yes' if combined.model else 'none (rules alone)'}")
    results = {who: run(items, combined, who == "truthful", args.wrong) for who in ("naive", "truthful")}
    print(f"{'field':<16}{'naive':>10}{'truthful':>10}")
    for f in FIELDS:
        print(f"{f:<16}" + "".join(f"{results[w]['accuracy'][f]:>10.1%}" for w in ("naive", "truthful")))
    print(f"{'messages/tip-off':<16}" + "".join(f"{results[w]['messages']:>10.2f}" for w in ("naive", "truthful")))
    for w in ("naive", "truthful"):
        print(f"questions ({w}): " + ", ".join(f"{f} {k}" for f, k in results[w]["asked"].most_common()))
    print(f"classification: {timing(items, combined):.2f} ms per tip-off (rules + model)")


if __name__ == "__main__":
    main()
