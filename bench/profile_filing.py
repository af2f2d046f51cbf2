"""Profile the filing path in one process: the county of bench/callback.py's filing mix, each grid
worker sending a tip-off then 确认, handled by the real Chat through the dispatcher's batches
(no HTTP, no crypto: only what a message costs once it is in). Prints cProfile's top lines.

    .venv/bin/python bench/profile_filing.py --pairs 1000 --top 25
    .venv/bin/python bench/profile_filing.py --mix draft      # the draft-step mix instead
    .venv/bin/python bench/profile_filing.py --cpu            # CPU ms a message, without the profiler

Also prints the SQL statements sent while measuring: how many a message, and the most frequent.
"""

import argparse
import cProfile
import pstats
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from callback import mix_text, seed_county, seed_roster, sender_id  # noqa: E402

from sqlalchemy import event  # noqa: E402

from app.db import make_engine, session_factory  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from bot.conversation import Chat  # noqa: E402
from bot.dispatcher import BATCH, Dispatcher, _Job  # noqa: E402
from bot.inbound import InboundMessage  # noqa: E402
from handlers.classify import Classifier  # noqa: E402
from handlers.policy import Policy  # noqa: E402
from models.clock import SystemClock  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mix", choices=("filing", "draft"), default="filing")
    p.add_argument("--pairs", type=int, default=1000, help="filing: tip-off + 确认 pairs (draft: messages)")
    p.add_argument("--senders", type=int, default=200)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--database-url", help="default: a fresh temporary SQLite file")
    p.add_argument("--cpu", action="store_true", help="no profiler: the process's CPU time a message (after a "
                   "warm-up of the first tenth), which a shared machine disturbs less than wall time")
    args = p.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='gridline-prof-')}/g.db"
    upgrade(url)
    run_id = int(time.time())
    seeded = (seed_county(url, run_id, args.senders, "filing") if args.mix == "filing"
              else seed_roster(url, run_id, args.senders))
    print(seeded, file=sys.stderr)
    engine = make_engine(url)
    policy = Policy.load(None, ZoneInfo("Asia/Shanghai"))
    dispatcher = Dispatcher(session_factory(engine), SystemClock(), Chat(Classifier.load(None), policy),
                            budget_s=1e9, workers=0)  # no threads: batches are run here, as a writer would
    count = args.pairs * 2 if args.mix == "filing" else args.pairs
    msgs = []
    for i in range(count):
        k, text = mix_text(args.mix, i, args.senders, False)
        msgs.append(InboundMessage(channel="work", account="bench", sender=sender_id(run_id, k), kind="text",
                                   sent_at=datetime.now(UTC), msg_id=f"{run_id}{i:08d}", text=text))
    # A sender's 确认 must come after its tip-off: batches of BATCH keep that (pairs never share a batch
    # with the same sender twice as long as senders > BATCH).
    batches = [msgs[i:i + BATCH] for i in range(0, len(msgs), BATCH)]
    statements: Counter[str] = Counter()

    def count_statement(conn, cursor, statement, parameters, context, executemany):
        statements[re.sub(r"\s+", " ", statement)[:100]] += 1

    if args.cpu:
        warm = len(batches) // 10
        for batch in batches[:warm]:
            dispatcher._together([_Job(m, None, None) for m in batch])
        measured = sum(len(b) for b in batches[warm:])
        started = time.process_time()
        for batch in batches[warm:]:
            dispatcher._together([_Job(m, None, None) for m in batch])
        print(f"{measured} messages: {(time.process_time() - started) / measured * 1000:.3f} ms of CPU each")
        engine.dispose()
        return
    event.listen(engine, "before_cursor_execute", count_statement)
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for batch in batches:
        dispatcher._together([_Job(m, None, None) for m in batch])
    profile.disable()
    elapsed = time.perf_counter() - started
    event.remove(engine, "before_cursor_execute", count_statement)
    print(f"{count} messages in {elapsed:.2f} s under the profiler ({elapsed / count * 1000:.2f} ms each)")
    print(f"{sum(statements.values())} SQL statements ({sum(statements.values()) / count:.1f} a message), "
          f"{len(batches)} transactions; the most frequent:")
    for statement, n in statements.most_common(12):
        print(f"  {n:6d}  {statement}")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(r"(handlers|bot)/", args.top)
    engine.dispose()


if __name__ == "__main__":
    main()
