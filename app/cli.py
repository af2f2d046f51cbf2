"""The `gridline` command line."""

from pathlib import Path

import typer

app = typer.Typer(help="Gridline 网格舆情线索上报网关", no_args_is_help=True)
db = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db, name="db")
org = typer.Typer(help="People and places: roster, invites, group chats.", no_args_is_help=True)
app.add_typer(org, name="org")


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

    logs.configure(Settings().log_level)
    uvicorn.run("app.main:factory", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False)


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from sqlalchemy.exc import DBAPIError

    from app.db import make_engine, session_factory
    from app.settings import Settings
    from handlers.roster import import_roster

    try:
        data = file.read_bytes()
    except OSError as exc:
        typer.echo(f"无法读取文件 {file}：{exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None

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

    engine = make_engine(Settings().database_url)
    try:
        with session_factory(engine)() as session:
            try:
                report = import_roster(session, file.name, data, skip_bad_rows=skip_bad_rows, progress=progress)
                if not report.refused:
                    session.commit()
            except DBAPIError as exc:
                typer.echo(f"数据库出错，未导入：{str(exc.orig).strip().splitlines()[0]}\n"
                           "（新数据库请先运行 gridline db upgrade）", err=True)
                raise typer.Exit(1) from None
            finally:
                if bar is not None:
                    bar.stop()
    finally:
        engine.dispose()
    for error in report.errors:
        typer.echo(str(error))
    typer.echo(report.summary())
    if report.refused:
        raise typer.Exit(1)


def main() -> None:
    app()
if __name__ == "__main__":
    main()
