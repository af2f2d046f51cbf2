"""The office console: a browser workplace at /console, signed in per person through WeCom.

Server-rendered Jinja2 pages with htmx (vendored under static/, no CDN); every page and action goes
through the access policy as the signed-in person. The admin bearer token is never accepted here.
"""

from fastapi import FastAPI

from app.console import auth, ledger, pages, settings, wordings


def mount(app: FastAPI) -> None:
    pages.install(app)
    for module in (auth, pages, wordings, ledger, settings):
        app.include_router(module.router)


def mount_demo_clock(app: FastAPI, clock) -> None:
    """`gridline demo` only: the control that moves the demo clock forward."""
    from app.console import demo

    app.state.demo_clock = clock
    app.include_router(demo.router)
