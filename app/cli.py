"""The `gridline` command line."""

from contextlib import contextmanager
from pathlib import Path

import typer

app = typer.Typer(help="Gridline 网格舆情线索上报网关", no_args_is_help=True)
db = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db, name="db")
org = typer.Typer(help="People and places: roster, invites, group chats.", no_args_is_help=True)
app.add_typer(org, name="org")
jobs = typer.Typer(help="Scheduled work.", no_args_is_help=True)
app.add_typer(jobs, name="jobs")
calendar = typer.Typer(help="Working-day calendar and sensitive periods.", no_args_is_help=True)
app.add_typer(calendar, name="calendar")
ledger = typer.Typer(help="The ledger (台账).", no_args_is_help=True)
app.add_typer(ledger, name="ledger")
classify = typer.Typer(help="The tip-off classifier: retrain it, measure it.", no_args_is_help=True)
app.add_typer(classify, name="classify")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server processes."),
) -> None:
    """Run the HTTP server (callbacks, admin API)."""
    import uvicorn

    from app import logs
    from app.settings import Settings

    logs.setup(Settings())
    uvicorn.run("app.main:factory", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    database: str = typer.Option(None, help="The demo's own database: URL or SQLite file [default: ./var/demo.db]."),
) -> None:
    """Seed a demo county and serve it with the chat simulator at /sandbox (WeChat faked in-process)."""
    from app.demo.run import run
    from app.demo.seed import NotDemoDatabase

    try:
        run(host, port, database)
    except NotDemoDatabase as exc:  # a real county's database: leave it alone
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@db.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations to GRIDLINE_DATABASE_URL."""
    from app.migrate import upgrade
    from app.settings import Settings

    settings = Settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"数据库已升级到 {revision}")


@org.command("import")
def org_import(
    file: Path = typer.Argument(..., help="Roster: CSV (UTF-8 or GBK) or XLSX."),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="Import the good rows of a file with errors."),
) -> None:
    """Import the roster (花名册) into GRIDLINE_DATABASE_URL."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from handlers.roster import import_roster

    data = _read(file)
    bar: Progress | None = None
    task = None

    def progress(done: int, total: int) -> None:
        nonlocal bar, task
        if total < 500:  # small files are done before a bar could be read
            return
        if bar is None:
            bar = Progress(TextColumn("导入中"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                           console=Console(stderr=True), transient=True)
            bar.start()
            task = bar.add_task("import", total=total)
        bar.update(task, completed=done)

    try:
        with _session() as session:
            report = import_roster(session, file.name, data, skip_bad_rows=skip_bad_rows, progress=progress)
            if report.refused:
                session.rollback()
    finally:
        if bar is not None:
            bar.stop()
    _report(report)


@org.command("chats")
def org_chats(file: Path = typer.Argument(..., help="Group chats: 乡镇, 村, 类型, 标识 (CSV or XLSX).")) -> None:
    """Import the village and township group chats that receive pushes."""
    from handlers.chats import import_chats

    data = _read(file)
    with _session() as session:
        report = import_chats(session, file.name, data)
        if report.refused:
            session.rollback()
    _report(report)


@org.command("invite")
def org_invite(who: str = typer.Argument(..., help="Name or 11-digit mobile number.")) -> None:
    """Print a one-time code; the person sends 绑定 CODE to the Official Account."""
    from models.clock import SystemClock
    from handlers import binding, people, texts

    with _session() as session:
        found = people.find(session, who)
        if len(found) != 1:
            message = (texts.T_WHO_AMBIGUOUS.format(n=len(found), who=who, phones="、".join(p.phone for p in found))
                       if found else texts.T_WHO_UNKNOWN.format(who=who))
            typer.echo(message, err=True)
            raise typer.Exit(1)
        code = binding.invite(session, found[0], SystemClock().now())
    typer.echo(texts.T_INVITE.format(name=found[0].name, hours=int(binding.INVITE_VALID.total_seconds() // 3600)))
    typer.echo(code)


@jobs.command("run-due")
def jobs_run_due(now: str = typer.Option(None, "--now", help="ISO-8601 instant; no offset: GRIDLINE_TIMEZONE.")) -> None:
    """Run every due reminder, escalation, weekly ledger job, follow-up and outbox delivery as of NOW, then exit."""
    from collections import Counter
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from app import logs
    from models.clock import FixedClock, SystemClock
    from app.db import make_engine, session_factory
    from app.due import run_due
    from app.settings import Settings
    from handlers import texts

    settings = Settings()
    logs.setup(settings)
    clock = SystemClock()
    if now:
        try:
            at = datetime.fromisoformat(now)
        except ValueError:
            typer.echo(texts.T_BAD_TIME.format(value=now), err=True)
            raise typer.Exit(2) from None
        clock = FixedClock(at if at.tzinfo else at.replace(tzinfo=ZoneInfo(settings.timezone)))
    policy = _policy()
    engine = make_engine(settings.database_url)
    try:
        report = run_due(settings, session_factory(engine), clock, policy)
    finally:
        engine.dispose()
    jobs, sent = report.jobs, report.delivery
    counts = Counter(jobs.done) + Counter(moot=jobs.moot, failed=jobs.failed)  # a Counter reads 0 for kinds not run
    typer.echo(texts.T_RUN_DUE_JOBS.format_map(counts))
    typer.echo(texts.T_RUN_DUE.format(sent=sent.sent, retried=sent.retried, dead=sent.dead))


@calendar.command("show")
def calendar_show(year: int = typer.Argument(None, help="Only this year's office entries.")) -> None:
    """Which years the calendar knows, and the office's own entries."""
    from models.clock import SystemClock
    from app.settings import Settings
    from handlers import texts, workdays

    with _session() as session:
        known = workdays.coverage(session, _today(Settings(), SystemClock()))
        for day in workdays.office_days(session, year):
            typer.echo(texts.calendar_day(day.day, day.workday, day.name))
    first, last = known["package_years"]
    typer.echo(texts.T_CALENDAR_YEARS.format(first=first, last=last,
                                             office="、".join(map(str, known["office_years"])) or "无"))
    if known["unknown_years"]:
        typer.echo(texts.T_CALENDAR_UNKNOWN_YEARS.format(years="、".join(map(str, known["unknown_years"]))))


@calendar.command("holiday")
def calendar_holiday(
    day: str = typer.Argument(..., help="YYYY-MM-DD"),
    name: str = typer.Option("", help="e.g. 元旦"),
    workday: bool = typer.Option(False, "--workday", help="An adjusted working day (调休上班) instead."),
    remove: bool = typer.Option(False, "--remove", help="Delete the entry."),
) -> None:
    """Enter a holiday (or with --workday an adjusted working day) the package does not know."""
    from handlers import texts, workdays

    when = _date(day)
    with _session() as session:
        if remove:
            if not workdays.remove_day(session, when):
                typer.echo(texts.T_DAY_ABSENT.format(day=when), err=True)
                raise typer.Exit(1)
            typer.echo(texts.T_DAY_REMOVED.format(day=when))
            return
        workdays.set_day(session, when, workday, name)
    typer.echo(texts.day_set(when, workday, name))


@calendar.command("sensitive")
def calendar_sensitive(
    name: str = typer.Argument(None, help="e.g. 国庆; omit to list the periods"),
    starts_on: str = typer.Argument(None, help="YYYY-MM-DD"),
    ends_on: str = typer.Argument(None, help="YYYY-MM-DD, inclusive"),
    factor: float = typer.Option(None, help="Window multiplier (default: the policy's sensitive_factor)."),
    remove: int = typer.Option(None, "--remove", help="Delete the period with this number."),
    township: str = typer.Option(None, "--township", help="Only this township's cases (default: the whole county)."),
) -> None:
    """Set, list or remove sensitive periods (敏感时期)."""
    from sqlalchemy import select

    from handlers import periods, texts
    from models import Unit
    from models.org import TOWNSHIP

    with _session() as session:
        township_id = periods.EVERYWHERE
        if township is not None:
            unit = session.scalars(select(Unit).where(Unit.kind == TOWNSHIP, Unit.name == township.strip())).first()
            if unit is None:
                typer.echo(texts.T_NO_TOWNSHIP.format(name=township), err=True)
                raise typer.Exit(2)
            township_id = unit.id
        if remove is not None:
            if not periods.remove_period(session, remove):
                typer.echo(texts.T_PERIOD_ABSENT.format(id=remove), err=True)
                raise typer.Exit(1)
            typer.echo(texts.T_PERIOD_REMOVED.format(id=remove))
            return
        if name is None:
            names = {u.id: u.name for u in session.scalars(select(Unit).where(Unit.kind == TOWNSHIP))}
            for p in periods.periods(session, township_id):
                typer.echo(texts.T_PERIOD_LINE.format(id=p.id, name=p.name, starts=p.starts_on, ends=p.ends_on,
                                                      factor=p.factor, where=names.get(p.township_id, texts.T_COUNTY_WIDE)))
            return
        if starts_on is None or ends_on is None:
            typer.echo(texts.T_BAD_DATE.format(value=starts_on or ""), err=True)
            raise typer.Exit(2)
        try:
            period = periods.add_period(session, name, _date(starts_on), _date(ends_on),
                                        _policy().sensitive_factor if factor is None else factor, township_id)
        except periods.PeriodError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
        typer.echo(texts.T_PERIOD_ADDED.format(id=period.id, name=period.name, starts=period.starts_on,
                                               ends=period.ends_on, factor=period.factor))


def _date(value: str):
    from datetime import date

    from handlers import texts

    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(texts.T_BAD_DATE.format(value=value), err=True)
        raise typer.Exit(2) from None


def _policy():
    from zoneinfo import ZoneInfo

    from app.settings import Settings
    from handlers.policy import Policy

    settings = Settings()
    return Policy.load(settings.policy_file, ZoneInfo(settings.timezone))


def _today(settings, clock):
    from zoneinfo import ZoneInfo

    return clock.now().astimezone(ZoneInfo(settings.timezone)).date()
@ledger.command("export")
def ledger_export(
    file: Path = typer.Argument(..., help="The .xlsx file to write."),
    start: str = typer.Option(None, "--from", help="First day (YYYY-MM-DD, local) of the cases' filing dates."),
    end: str = typer.Option(None, "--to", help="Last day (YYYY-MM-DD, local), inclusive."),
    unit: str = typer.Option(None, "--unit", help="A township or village (西岔村, or 白水乡/西岔村 if ambiguous)."),
) -> None:
    """Export the ledger: a sheet of cases and a sheet of figures per unit."""
    from zoneinfo import ZoneInfo

    from models.clock import SystemClock
    from app.settings import Settings
    from handlers import texts
    from handlers.ledger import LedgerError, parse_day
    from handlers.ledger_book import export

    tz = ZoneInfo(Settings().timezone)
    try:
        first, last = parse_day(start), parse_day(end)
        with _session() as session:
            data, count = export(session, SystemClock().now(), tz, first, last, unit)
    except LedgerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    try:
        file.write_bytes(data)
    except OSError as exc:
        typer.echo(texts.T_CANNOT_WRITE.format(file=file, reason=exc.strerror or exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(texts.T_LEDGER_DONE.format(n=count, file=file))


@classify.command("train")
def classify_train(
    shipped_only: bool = typer.Option(False, "--shipped-only",
                                      help="Only the shipped examples, no database (the model of a new install)."),
    if_unusable: bool = typer.Option(False, "--if-unusable",
                                     help="Only when the model file is missing, unreadable or of an older format."),
) -> None:
    """Retrain the model on the shipped examples and the county's decisions; the server picks it up."""
    from app.settings import Settings
    from handlers import learning, texts
    from handlers.classify import Classifier
    from handlers.classify.model import ModelError, load
    from models.clock import SystemClock

    from app.db import make_engine, session_factory

    settings = Settings()
    if if_unusable:
        # `make run` / `make serve` on a checkout that already has a model: an upgrade that changed the
        # model's format would otherwise leave the server on the rules alone until the weekly retrain.
        try:
            load(settings.model_file)
        except ModelError as exc:
            typer.echo(texts.T_MODEL_UNUSABLE.format(reason=exc), err=True)
        else:
            typer.echo(texts.T_MODEL_USABLE.format(file=settings.model_file))
            return
    rules = Classifier.load(settings.rules_file)
    if shipped_only:
        info = learning.retrain(None, rules, settings.model_file, SystemClock().now())
    else:
        engine = make_engine(settings.database_url)
        try:
            info = learning.retrain(session_factory(engine), rules, settings.model_file, SystemClock().now())
        finally:
            engine.dispose()
    typer.echo(texts.T_TRAINED.format(shipped=info["shipped_examples"], county=info["county_examples"],
                                      file=settings.model_file))


@classify.command("eval")
def classify_eval(
    file: Path = typer.Argument(..., help="Labelled tip-offs, JSONL: {id, messages, expect}."),
    matrices: bool = typer.Option(True, "--matrices/--no-matrices", help="Print the confusion matrices."),
) -> None:
    """Accuracy per field and confusion matrices: rules alone, model alone, combined."""
    from app.settings import Settings
    from handlers import texts
    from handlers.classify import Classifier
    from handlers.classify.combine import Combined
    from handlers.classify.evaluate import evaluate, report
    from handlers.classify.examples import ExampleError, read
    from handlers.classify.model import ModelFile

    settings = Settings()
    try:
        loaded = read(file)
    except ExampleError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    combined = Combined(Classifier.load(settings.rules_file), ModelFile(settings.model_file))
    if combined.model is None:
        typer.echo(texts.T_NO_MODEL.format(file=settings.model_file), err=True)
    typer.echo(texts.T_EVAL_HEAD.format(n=len(loaded.items), file=file.name, duplicates=loaded.duplicates))
    typer.echo(report(evaluate(loaded.items, combined), confusion=matrices))


def _read(file: Path) -> bytes:
    from handlers import texts

    try:
        return file.read_bytes()
    except OSError as exc:
        typer.echo(texts.T_CANNOT_READ.format(file=file, reason=exc.strerror or exc), err=True)
        raise typer.Exit(2) from None


@contextmanager
def _session():
    """A session on GRIDLINE_DATABASE_URL, committed unless the block failed or rolled back."""
    from sqlalchemy.exc import DBAPIError

    from app.db import make_engine, session_factory
    from app.settings import Settings
    from handlers import texts

    engine = make_engine(Settings().database_url)
    try:
        with session_factory(engine)() as session:
            yield session
            session.commit()
    except DBAPIError as exc:
        typer.echo(texts.T_DB_ERROR.format(reason=str(exc.orig).strip().splitlines()[0]), err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


def _report(report) -> None:
    for error in report.errors:
        typer.echo(str(error))
    typer.echo(report.summary())
    if report.refused:
        raise typer.Exit(1)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
