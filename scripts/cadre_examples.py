"""Turn the cadre sets under tests/ into shipped training data for the accusation scorer.

    .venv/bin/python scripts/cadre_examples.py

Writes handlers/classify/examples/cadre/<set>.jsonl (one tip-off a line, ids kept) and
committees.json (set → village → the roster's committee members), the form
handlers/classify/accusation.py reads. Rerun when a set is added or changed.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from handlers import org, roster  # noqa: E402

OUT = ROOT / "handlers" / "classify" / "examples" / "cadre"
SETS = [ROOT / "tests" / "data" / "cadre_sample",
        *sorted((ROOT / "tests" / "blind").glob("cadre*"), key=lambda p: int(p.name[5:] or 1))]
COMMITTEE = {org.VILLAGE_COMMITTEE, org.VILLAGE_SECRETARY}


def committees(path: Path) -> dict[str, list[str]]:
    """Village → its committee members' names, as the roster import reads the file."""
    found: dict[str, set[str]] = {}
    for row in roster.people(path.name, path.read_bytes()):
        if row.village:
            names = found.setdefault(row.village, set())
            if COMMITTEE & set(row.roles):
                names.add(row.name)
    return {v: sorted(n) for v, n in sorted(found.items())}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    all_committees = {}
    for path in SETS:
        name = path.name
        all_committees[name] = committees(path / "roster.csv")
        lines = []
        for line in (path / "cases.jsonl").read_text("utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            lines.append(json.dumps({"id": item["id"], "accuses": item["kind"] == "accusation",
                                     "reporter_village": item["reporter_village"], "messages": item["messages"]},
                                    ensure_ascii=False))
        (OUT / f"{name}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
        print(name, len(lines))
    (OUT / "committees.json").write_text(json.dumps(all_committees, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    main()
