"""Reading the office's TOML data files (rules, policy) with errors that name the file and the problem."""

import tomllib
from pathlib import Path


def read_toml(path: str | Path | None, packaged: Path, what: str, error: type[Exception]) -> tuple[dict, str]:
    """The parsed file and how to name it in messages; `packaged` when path is None."""
    source = f"{packaged.parent.name}/{packaged.name} (packaged)" if path is None else str(path)
    try:
        raw = Path(path or packaged).read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {source}: not found") from None
    except OSError as exc:
        raise error(f"{what} {source}: cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{what} {source}: is not UTF-8 text") from None
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what} {source}: is not valid TOML: {exc}") from None
