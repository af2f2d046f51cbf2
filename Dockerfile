FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GRIDLINE_DATABASE_URL=sqlite:////srv/gridline/var/gridline.db

WORKDIR /srv/gridline
COPY pyproject.toml README.md ./
COPY app ./app
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
COPY migrations ./migrations
RUN pip install . \
 && useradd --system --home-dir /srv/gridline --shell /usr/sbin/nologin gridline \
 && mkdir -p var && chown gridline:gridline var

USER gridline
# The SQLite database (and anything else under ./var) outlives the container: mount a volume here.
VOLUME ["/srv/gridline/var"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["sh", "-c", "gridline db upgrade && exec gridline serve --host 0.0.0.0 --port 8000"]
