"""Conflict of interest, end to end, over a set of tip-offs written by someone who never saw the rules.

A set is a directory with roster.csv (the roster-import format) and cases.jsonl, one tip-off a line:
{"id", "kind": "accusation" | "mention", "reporter_village", "about_village", "accused", "messages", "note"}.
tests/data/cadre_sample is our own small set (our sentences, our roster); tests/blind/cadre … cadre4 are
sets written blind, one after another, each read only after a round of rules (cadre4 with a township,
villages and people of its own).

For each tip-off a grid worker of reporter_village files it through the real encrypted WeCom callback,
answering every question with 不清楚 (a naive reporter) and confirming; the office publishes a wording
tied to the case for about_village; then the jobs run an hour, two days and eight days on (reminders,
escalations, the Friday list, the Monday summary). A committee member of about_village — 村书记 or
村两委, whatever else they are — must then have no outbox row about an accusation (cards, reminders,
escalations, lists, wordings), nor the village's group chats; and `进度`, `待办`, `我的`, `口径 CODE` and
`口径` must not show it to them. Measured: accusations leaked (target 0), mentions kept with the village
without asking (target ≥ 80 %), and messages the reporter sent per tip-off.

The server runs as production does, with a model file (the general fields and the accusation scorer)
trained once per session from the shipped examples — which include these sets: see KNOWN_SHORTFALL.
One database per engine for the whole set, all tip-offs filed at one instant. Every outbox row counts,
delivered (to a fake WeCom, by `gridline jobs run-due`) or not.
"""

import csv
import io
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, or_, select

from app.sandbox import FakeWeChat
from handlers import learning, texts
from handlers.classify import Classifier
from handlers.chats import import_chats
from handlers.roster import import_roster
from models import Case, ChatTarget, OutboxMessage, Unit
from tests.conftest import T0
from tests.test_intake import ADMIN, CORP, KEY, TOKEN, code_in, say
from tests.test_run_due import AGENT, SECRET, run_due
from tests.wxclient import HTTP, Aes, Peer

HERE = Path(__file__).parent
SETS = [HERE / "data" / "cadre_sample", *(HERE / "blind" / name for name in ("cadre", "cadre2", "cadre3", "cadre4", "cadre5", "cadre6", "cadre7", "cadre8", "cadre9", "cadre10", "cadre11", "cadre12", "cadre13", "cadre14", "cadre15"))]
# Set 3 was run blind once against the rules of 2026-11-29 (6/58 leaked, 21/31 mentions kept); after
# the general fixes of issue #11's fourth round it leaks none, and two mentions are still asked about.
# Its shortfall is pinned exactly, so a new leak or a newly asked mention fails, and a mended one fails
# too until it is struck off here.
# Set 4 (a new township, roster and writer) was run blind against the rules before and after that round:
# 9/93 then 10/93 leaked, 19/51 then 21/51 mentions kept. After the fifth round (read, so no longer
# evidence: a title's village, Latin initials, nicknames, a lone title, harmless casts that cleared a
# strong sign) it leaks none; the mentions still asked about are pinned.
# Set 5 (township 牛角塘乡) was run blind once against the fifth round: 20/89 leaked, 31/54 kept. The sixth
# round added no words for its sentences: it closed the verdict by structure (a strong sign anywhere in
# the draft, wrongdoing about collective things by someone not placed outside, a nickname with a strong
# sign → ask; the committee as a group → yes). Two leaks remain that no structure reads (a nickname
# hauling off a pigsty's bricks, 李总's company overcharging for the village's embankment), and one
# more mention of set 3 (c3-013) and of set 5 (c5-012) is asked about.
# The seventh round (who does what to whom: a third party's clause is theirs, a cadre only as a relative's,
# relaying word, leading villagers to a third party, one person under two mentions) kept more mentions
# without a new leak: set 4 21 → 27/51, set 5 30 → 38/54, set 6 22 → 28/41 (c4-135 is kept by the detector
# on the whole text but asked after its first message, a lone title, in the chat flow).
# Sets 7 (鹞子岭乡) and 8 (范集乡, northern speech) came from two more writers who saw no code. Set 7 was run
# against the sixth round before the seventh was done; its writer's scratch files stood in a folder the
# seventh round's writer also used, so its figures after the seventh are not evidence. Set 8 was written
# apart and run once against the seventh: both leak what nothing in the roster or the text names as a
# cadre — nicknames (X大个, 侯三, 二保), a given name alone, 当家嘞, 管账那个戴眼镜的, a mistyped name.
# Set 9 (榆树岗镇, northeastern speech, written apart) was run against the seventh round (4/73 leaked) and
# once against the eighth (power acts and unrecognised actors asked about): 2/73 — Latin initials and
# 一把手 with innuendo.
# The eighth round closed that class by structure (what only power in the village can do; strong wrongdoing
# by someone unrecognised and not placed outside; an office only complained to places nobody outside):
# no leak left in any set, and no mention newly asked about.
# The ninth round closed set 9's two leaks by structure (a committee member's pinyin initials are a name form;
# innuendo and public money followed at once by a purchase are strong signs; a reference that can only mean the
# power-holder — 一把手, 当家的, initials — is not cleared by a place or bystander cast) and read who does what to
# whom: a cadre telling of someone hands the rest of the clause, and the clauses after it naming no actor, to
# that someone; the passive as northern speech writes it (让人骗了); signs voided by a warning or a denial that
# the village did it; harmless acts by the cadre's place in the clause (working beside the reporter, calming two
# sides, the post's work done in the open). Kept, eighth → ninth: set 4 27 → 32/51, 5 38 → 42/54, 6 28 → 33/41,
# 7 18 → 38/52, 8 20 → 33/52, 9 19 → 34/49; no leak in any set.
# Since the accusation scorer (handlers/classify/accusation.py) the sets run in production's configuration:
# with a model file trained once per session from the shipped examples (the general fields and the scorer),
# and every set here is TRAINING DATA for the scorer (handlers/classify/examples/cadre/). The pins below are
# therefore development figures, not evidence: the scorer's evidence is bench/cadre_holdout.py, each set
# held out of its training. With the model: no leak in any set (set 9's two are asked about now); mentions
# not kept grow by what the model asks (the general model's category and cadre doubts and the scorer):
# c3-010 c3-051 c3-055 c3-083, c5-143, c6-073, c8-054 c8-084 c8-109 (and the sample's s-m05, set 1's
# men-009, set 2's acc2-049 acc2-050 acc2-062, above the 80 % these sets are held to).
# Since the general model also learns from the burned classification sets (examples/general/, never the scorer):
# c3-079, c6-085 and c8-101 are kept without asking, c6-073 and c10-199 asked about (the model's cadre doubt,
# THRESHOLDS["involves_cadre"] 0.85, moves a little with the vocabulary: 0.84 and 0.79 now).
# GRIDLINE_BLIND_MODEL=none runs the sets with the rules alone (the pins then differ: see the README).
# Set 10 (枫香坝镇, 川渝 speech, 121 accusations, 78 mentions, written apart) is the evidence for the ninth round
# and the scorer: run blind against the eighth round (19/121 leaked, 40/78 kept), the ninth round's rules alone
# (17/121, 43/78), the ninth round with the scorer (5/121, 39/78), and once against everything merged (6/121,
# 39/78, 2.81 messages). Then it joined the scorer's training sets (scripts/cadre_examples.py): the pins below
# are development figures since (0/121, 39/78, 2.83).
# The tenth round (set 10 read; an eleventh set, written apart, judges it) closed set 10's seventeen detector leaks by
# structure — any post title of village governance, descriptions of whoever holds the money or the power, nicknames
# no roster knows over public goods, wrongdoing by class in many regions' words, a helping word that clears nothing
# in an accusing clause — and kept more mentions by the cadre's place in the clause. With the model, kept: set 4
# 30 → 32/51, 5 40 → 42/54, 9 30 → 31/49, 10 39 → 58/78 (74 %, 2.69 messages); no leak, no mention newly asked.
# The scorer then settled the detector's ask when very sure (accusation.KEEP_BELOW / SURE_FROM, chosen held out by
# bench/cadre_thresholds.py): kept without the question c4-017 073 079 101 135, c5-017 069 131, c7-108,
# c9-085 094 095 098, c10-026 038 066 075 124 125 179 184 196 198 (development figures: the scorer has read them).
# Sets 11 (塬上镇, 陇东 speech), 12 (石湾镇, 湘中) and 13 (双河镇, 苏北), each written apart by someone who saw no
# code, were run against main before this round (4/127, 7/122, 3/108 leaked; 24/82, 41/80, 25/72 kept) and once
# against the tenth round with the scorer's settled ask (4/127, 7/122, 3/108; 34/82, 46/80, 33/72). Sets 11 and 12's
# leaks were then read: a bare title or description whose village the text does not settle (the case's village
# is another one the text names), and nicknames or kin terms over harm. So a case involving a cadre now shuts out
# every village in play (the reporter's own and every one the text names) and the scorer asks from 0.2 (chosen
# held out, bench/cadre_holdout.py): sets 11 and 12 then 2/127 and 3/122 (read: development), set 13 — still
# unread — 2/108 leaked, 33/72 kept, 2.93 messages. Then all three joined the scorer's training and
# bench/cadre_thresholds.py, rerun on fourteen sets, chose KEEP_BELOW 0.005 and SURE_FROM 0.9: the pins below are
# development figures.
# Then what asked about the mentions still not kept was attributed (bench/cadre_asks.py): of 247 on sets 3–13, the
# detector 170 (97 yes, 73 questions), the general model's doubt about a "no" 54, the scorer 8, the chat flow 15 (a
# first piece's question defaulted to yes by the next piece that would have cleared it). The flow now reads the
# question again on the fuller draft, and the general model's doubt no longer reopens a "no" the detector and the
# scorer both hold (held out it caught no accusation: bench/cadre_doubt.py): kept 62 % → 71 % of these mentions,
# no leak, no mention newly asked about; the pins below are re-taken (development figures).
# Sets 14 (青石乡, 黔东南) and 15 (后山镇, 鲁西北), written apart while the above was merged, were run blind against main
# (4/101, 6/103 leaked; 28/68, 15/66 kept), against session 7's merge (0/101, 0/103 on both engines; 32/68, 20/66)
# and against round eleven with the chat flow's and the model's doubt changes (0/101, 0/103 on both engines; 37/68,
# 25/66). Neither is training data yet (handlers/classify/examples/cadre has no cadre14/15): the scorer's figures
# on them are held out; their ids here were read, their texts not.
KNOWN_SHORTFALL = {"cadre3": {
    "leaks": set(),
    "not_kept": {"c3-003", "c3-013", "c3-058"}
}, "cadre4": {
    "leaks": set(),
    "not_kept": {"c4-002", "c4-023", "c4-048", "c4-074", "c4-075", "c4-077", "c4-086", "c4-089", "c4-119", "c4-123",
                 "c4-125", "c4-134", "c4-142"}
}, "cadre5": {  # blind against the fifth round: 20/89 leaked, 31/54 kept; sixth 2/89, 30/54; seventh 2/89, 38/54; ninth 0/89, 42/54
    "leaks": set(),
    "not_kept": {"c5-026", "c5-030", "c5-061", "c5-074", "c5-076", "c5-094", "c5-099", "c5-114"}
}, "cadre6": {  # run blind once, against the sixth round: 1/70 leaked, 22/41 kept; seventh 1/70, 28/41; ninth 0/70, 33/41
    "leaks": set(),
    "not_kept": {"c6-002", "c6-009", "c6-019", "c6-024", "c6-034", "c6-051", "c6-067", "c6-100", "c6-101"}
}, "cadre7": {  # blind against the sixth round: 7/86 leaked, 17/52 kept; seventh (not blind: see README) 7/86, 18/52
    "leaks": set(),
    "not_kept": {"c7-014", "c7-031", "c7-036", "c7-045", "c7-050", "c7-059", "c7-063", "c7-071", "c7-098", "c7-102",
                 "c7-119", "c7-124", "c7-127"}
}, "cadre8": {  # run blind once, against the seventh round: 8/82 leaked, 20/52 kept (the sixth: 8/82, 15/52); ninth 0/82, 33/52
    "leaks": set(),
    "not_kept": {"c8-001", "c8-004", "c8-012", "c8-015", "c8-031", "c8-045", "c8-049", "c8-063", "c8-064", "c8-074",
                 "c8-075", "c8-085", "c8-099", "c8-111", "c8-113", "c8-114", "c8-118", "c8-129"}
}, "cadre9": {  # run blind once, against the eighth round: 2/73 leaked, 19/49 kept (the seventh: 4/73, 19/49)
    "leaks": set(),
    "not_kept": {"c9-001", "c9-023", "c9-034", "c9-044", "c9-046", "c9-085", "c9-093", "c9-095", "c9-116", "c9-118"}
}, "cadre10": {  # blind: eighth round 19/121 leaked, 40/78 kept; ninth 17/121, 43/78; + scorer 5/121, 39/78 (see above)
    "leaks": set(),  # 6/121 before it joined the scorer's training: c10-011 071 076 139 149 154
    "not_kept": {"c10-025", "c10-040", "c10-088", "c10-108", "c10-112", "c10-130", "c10-142", "c10-166", "c10-175",
                 "c10-188"}
# Round eleven (sets 11–13 read; rules-alone fresh leaks 9/15/6 → 0): no pin newly asked; kept without the
# question c11-011, c12-107, c12-109, c13-135 (the office broken into, a cadre seeing people home or to training).
}, "cadre11": {  # blind: main 4/127 leaked, 24/82 kept; the tenth round with the scorer 4/127, 34/82 (see above)
    "leaks": set(),
    "not_kept": {"c11-013", "c11-020", "c11-022", "c11-024", "c11-026", "c11-044", "c11-046", "c11-050", "c11-052",
                 "c11-054", "c11-062", "c11-065", "c11-076", "c11-078", "c11-084", "c11-087", "c11-091", "c11-094",
                 "c11-106", "c11-110", "c11-116", "c11-117", "c11-128", "c11-129", "c11-133", "c11-141", "c11-144",
                 "c11-145", "c11-151", "c11-153", "c11-161", "c11-172", "c11-177", "c11-179", "c11-181", "c11-182",
                 "c11-183", "c11-185", "c11-198", "c11-200", "c11-204", "c11-207"}
}, "cadre12": {  # blind: main 7/122 leaked, 41/80 kept; the tenth round with the scorer 7/122, 46/80 (see above)
    "leaks": set(),
    "not_kept": {"c12-010", "c12-012", "c12-030", "c12-051", "c12-066", "c12-067", "c12-079", "c12-080", "c12-087",
                 "c12-088", "c12-089", "c12-100", "c12-101", "c12-105", "c12-110", "c12-113", "c12-122", "c12-132",
                 "c12-138", "c12-159", "c12-182", "c12-192", "c12-197", "c12-199", "c12-201", "c12-202"}
}, "cadre13": {  # blind: main 3/108 leaked, 25/72 kept; tenth round + scorer 3/108, 33/72; everything 2/108, 33/72
    "leaks": set(),
    "not_kept": {"c13-001", "c13-011", "c13-014", "c13-025", "c13-033", "c13-034", "c13-045", "c13-048", "c13-072",
                 "c13-080", "c13-085", "c13-086", "c13-092", "c13-094", "c13-095", "c13-098", "c13-104", "c13-106",
                 "c13-108", "c13-112", "c13-115", "c13-123", "c13-127", "c13-130", "c13-132", "c13-145", "c13-146",
                 "c13-149", "c13-154", "c13-162", "c13-173", "c13-178"}
}, "cadre14": {  # blind: main 4/101 leaked, 28/68 kept; session 7's merge 0/101, 32/68; round eleven + flow 0/101, 37/68
    "leaks": set(),
    "not_kept": {"c14-012", "c14-015", "c14-028", "c14-032", "c14-034", "c14-035", "c14-038", "c14-046", "c14-050",
                 "c14-058", "c14-060", "c14-062", "c14-071", "c14-072", "c14-075", "c14-082", "c14-089", "c14-094",
                 "c14-095", "c14-104", "c14-116", "c14-121", "c14-122", "c14-124", "c14-127", "c14-132", "c14-133",
                 "c14-135", "c14-137", "c14-152", "c14-153"}
}, "cadre15": {  # blind: main 6/103 leaked, 15/66 kept; session 7's merge 0/103, 20/66; round eleven + flow 0/103, 25/66
    "leaks": set(),
    "not_kept": {"c15-026", "c15-027", "c15-028", "c15-029", "c15-047", "c15-048", "c15-049", "c15-050", "c15-052",
                 "c15-054", "c15-056", "c15-057", "c15-077", "c15-079", "c15-081", "c15-082", "c15-084", "c15-103",
                 "c15-104", "c15-105", "c15-106", "c15-107", "c15-111", "c15-112", "c15-132", "c15-133", "c15-134",
                 "c15-135", "c15-136", "c15-137", "c15-138", "c15-139", "c15-140", "c15-160", "c15-161", "c15-162",
                 "c15-163", "c15-165", "c15-167", "c15-168", "c15-169"}}}
# Our sample and the newest blind set run on both engines; the read ones on SQLite, to keep CI under 30 min.
BOTH_ENGINES = {"cadre_sample", "cadre15"}
VILLAGE_CADRES = {"村两委", "村书记"}
LATER = (timedelta(hours=1), timedelta(days=2), timedelta(days=8))
MAX_QUESTIONS = 4


@pytest.fixture(scope="session")
def production_model(tmp_path_factory, request) -> str:
    """The model file production runs with: `gridline classify train --shipped-only`'s, trained once per
    session (the general fields and the accusation scorer). GRIDLINE_BLIND_MODEL=FILE runs the sets with
    that file instead, GRIDLINE_BLIND_MODEL=none with the rules alone."""
    chosen = os.environ.get("GRIDLINE_BLIND_MODEL")
    if chosen:
        return "" if chosen == "none" else chosen
    path = tmp_path_factory.mktemp("model") / "classifier.model"
    start = time.perf_counter()
    learning.retrain(None, Classifier.load(), path, datetime.fromtimestamp(T0, UTC))
    with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
        print(f"\nproduction model for the cadre sets trained in {time.perf_counter() - start:.1f} s")
    return str(path)


def _roles(value: str) -> set[str]:
    return {r.strip() for r in value.replace("，", "、").replace(",", "、").split("、") if r.strip()}


def roster(path: Path) -> tuple[bytes, list[dict]]:
    """The roster as the importer gets it — with a WeCom userid for everyone who lacks one, so that
    every message Gridline would send anyone is an outbox row — and its rows."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gbk")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if not (row.get("企业微信账号") or "").strip():
            row["企业微信账号"] = f"u{row['手机号'].strip()}"
    fields = list(rows[0].keys())
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode(), rows


def _villages(rows: list[dict]) -> list[tuple[str, str]]:
    return sorted({(r["乡镇"].strip(), r["村"].strip()) for r in rows if r.get("村", "").strip()})


def ROBOT_KEYS(rows: list[dict]) -> list[str]:  # noqa: N802 (a table of names, like CHATS)
    return [f"robot-{i:04d}-key" for i in range(len(_villages(rows)))]


def chats_for(rows: list[dict]) -> bytes:
    """One group robot per village: a wording must skip the accused village's."""
    lines = ["乡镇,村,类型,标识"] + [f"{t},{v},群机器人,{key}" for (t, v), key in zip(_villages(rows), ROBOT_KEYS(rows))]
    return "\n".join(lines).encode()


def api(server, method: str, path: str, **kw) -> httpx.Response:
    return HTTP.request(method, server.url + path, headers=ADMIN, **kw)


@pytest.mark.timeout(900)  # the whole set through the callback, the API and three job passes
@pytest.mark.parametrize("dataset", [pytest.param(p, id=p.parent.name + "-" + p.name) for p in SETS])
def test_cadre_tip_offs_never_reach_the_accused_committee(dataset, serve, db, database_url, clock, capsys,
                                                          production_model):
    assert (dataset / "cases.jsonl").exists(), f"no set at {dataset}"  # committed: a missing one is a failure
    if database_url.startswith("postgresql") and dataset.name not in BOTH_ENGINES:
        pytest.skip("a read set runs on SQLite only: its figures were identical on both engines every time")
    data, rows = roster(dataset / "roster.csv")
    with db.begin() as s:
        report = import_roster(s, "roster.csv", data)
        assert not report.refused, [f"{e.row} {e.column} {e.reason}" for e in report.errors]
        assert not import_chats(s, "chats.csv", chats_for(rows)).errors
    server = serve(work_token=TOKEN, work_aes_key=KEY, work_corp_id=CORP, admin_token="adm",
                   model_file=production_model)
    wecom = Peer(server.url, "work", TOKEN, Aes(KEY, CORP), account=CORP, timestamp=T0)
    cases = [json.loads(line) for line in (dataset / "cases.jsonl").read_text("utf-8").splitlines() if line.strip()]

    def people(village: str, want: set[str]) -> list[dict]:
        return [r for r in rows if r.get("村", "").strip() == village and _roles(r["角色"]) & want]

    office = next(r for r in rows if "办公室" in _roles(r["角色"]) and not r.get("村", "").strip())
    leader = next(r for r in rows if _roles(r["角色"]) & {"分管领导", "主要领导"} and r.get("乡镇", "").strip())

    # -- file every tip-off as a naive grid worker ---------------------------------------------
    filed: list[tuple[dict, str, bool, int]] = []  # case, code, asked about a cadre, messages sent
    for item in cases:
        committee = {r["企业微信账号"] for r in people(item["about_village"], VILLAGE_CADRES)}
        workers = people(item["reporter_village"], {"网格员"})
        assert workers, f"{item['id']}: no grid worker in {item['reporter_village']}"
        reporter = next((w for w in workers if w["企业微信账号"] not in committee), workers[0])["企业微信账号"]
        sent, asked = 0, False
        for message in item["messages"]:
            reply = say(wecom, reporter, message)
            sent += 1
        for _ in range(MAX_QUESTIONS):
            if texts.CONFIRM_PROMPT in reply:
                break
            asked = asked or "村干部" in reply
            reply = say(wecom, reporter, "不清楚")
            sent += 1
        assert texts.CONFIRM_PROMPT in reply, (item["id"], reply)
        code = code_in(say(wecom, reporter, "确认"))
        filed.append((item, code, asked, sent + 1))

    # -- the office publishes a wording on each case, for its village --------------------------
    for item, code, _, _ in filed:
        made = api(server, "POST", "/api/wordings", json={
            "title": f"关于{code}的口径", "body": "一、基本情况：正在核实。", "case_code": code,
            "actor": office["手机号"], "audience": {"units": [item["about_village"]], "roles": []}})
        assert made.status_code == 201, made.text
        number = made.json()["id"]
        assert api(server, "POST", f"/api/wordings/{number}/approve", json={"actor": leader["手机号"]}).status_code == 200
        assert api(server, "POST", f"/api/wordings/{number}/publish").status_code == 200

    # -- delivery now, then an hour, two days and eight days later: reminders, escalations, the
    # Friday list and the Monday summary, each pass delivered to a fake WeCom by `gridline jobs run-due`
    t0 = datetime.fromtimestamp(T0, UTC)  # the server's clock stands at T0
    fake = FakeWeChat(clock, member_limits=False).add_work_app(CORP, SECRET, AGENT).add_userid(
        *(r["企业微信账号"] for r in rows)).add_robot(*ROBOT_KEYS(rows))
    fake_server = fake.serve()
    try:
        for later in (timedelta(0), *LATER):
            result = run_due(database_url, fake_server, at=(t0 + later).isoformat())
            assert result.exit_code == 0, result.output
    finally:
        fake_server.stop()
    with db() as s:
        delivered = s.scalar(select(func.count()).where(OutboxMessage.status == "sent"))

    # -- what the accused village's committee can learn ----------------------------------------
    leaks: dict[str, list[str]] = {}
    with db() as s:
        ids = dict(s.execute(select(Case.code, Case.id)).all())
        involved = dict(s.execute(select(Case.code, Case.involves_cadre)).all())
        chats_of = {}
        for key, village in s.execute(select(ChatTarget.key, Unit.name).join(Unit, Unit.id == ChatTarget.unit_id)):
            chats_of.setdefault(village, set()).add(key)
    for item, code, _, _ in filed:
        if item["kind"] != "accusation":
            continue
        committee = {r["企业微信账号"] for r in people(item["about_village"], VILLAGE_CADRES)}
        village_chats = chats_of.get(item["about_village"], set())
        with db() as s:
            got = s.execute(select(OutboxMessage.recipient, OutboxMessage.idempotency_key).where(
                OutboxMessage.recipient.in_(committee | village_chats),
                or_(OutboxMessage.case_id == ids[code], OutboxMessage.body.contains(code)))).all()
        found = [f"outbox {who} {key.split(':')[0]}" for who, key in got]
        for who in committee:
            if say(wecom, who, f"进度 {code}") != texts.NO_SUCH_CASE.format(code=code):
                found.append(f"进度 {who}")
            if say(wecom, who, f"口径 {code}") != texts.NO_SUCH_WORDING.format(what=code):
                found.append(f"口径 CODE {who}")
        if found:
            leaks[item["id"]] = found
    # 待办, 我的 and 口径 once per committee member: no accusation against their village in them
    # (我的 lists what they reported themselves; none of them files here: reporters are chosen apart)
    for who in {r["企业微信账号"] for r in rows if _roles(r["角色"]) & VILLAGE_CADRES}:
        replies = {word: say(wecom, who, word) or "" for word in ("待办", "我的", "口径")}
        for item, code, _, _ in filed:
            accused_committee = {r["企业微信账号"] for r in people(item["about_village"], VILLAGE_CADRES)}
            if item["kind"] == "accusation" and who in accused_committee:
                leaks_here = [f"{word} {who}" for word, reply in replies.items() if code in reply]
                if leaks_here:
                    leaks.setdefault(item["id"], []).extend(leaks_here)

    accusations = [f for f in filed if f[0]["kind"] == "accusation"]
    mentions = [f for f in filed if f[0]["kind"] == "mention"]
    kept = [f for f in mentions if not f[2] and not involved[f[1]]]
    asked_acc = [f for f in accusations if f[2]]
    bypassed = [f for f in accusations if involved[f[1]]]
    mean = sum(f[3] for f in filed) / len(filed)
    with capsys.disabled():
        print(f"\ncadre set {dataset.relative_to(HERE)} on {db.kw['bind'].dialect.name}: "
              f"{len(accusations)} accusations, {len(mentions)} mentions")
        print(f"  accusations leaked to the accused committee: {len(leaks)}/{len(accusations)} {leaks or ''}")
        print(f"  accusations bypassing the village: {len(bypassed)}/{len(accusations)} "
              f"(asked {len(asked_acc)}: {' '.join(f[0]['id'] for f in asked_acc)})")
        print(f"  mentions kept with the village without asking: {len(kept)}/{len(mentions)} "
              f"({len(kept) / max(len(mentions), 1):.0%}); not kept: "
              f"{' '.join(f[0]['id'] for f in mentions if f not in kept)}")
        print(f"  messages per tip-off (reporter, incl. answers and 确认): {mean:.2f}; delivered in all: {delivered}")
    known = KNOWN_SHORTFALL.get(dataset.name)
    if known is None:
        assert not leaks
        assert len(kept) >= 0.8 * len(mentions)
    else:
        assert set(leaks) == known["leaks"]
        assert {f[0]["id"] for f in mentions if f not in kept} == known["not_kept"]
