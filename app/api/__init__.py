"""The admin API under /api and the callbacks, laid out as full-stack-fastapi-template does:
one module per resource in routes/, dependencies from app/deps.py."""
