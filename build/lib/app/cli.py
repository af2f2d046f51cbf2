"""The `gridline` command line."""

import typer

app = typer.Typer(help="Gridline 网格舆情线索上报网关", no_args_is_help=True)
db = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db, name="db")


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


def main() -> None:
    app()
if __name__ == "__main__":
    main()
