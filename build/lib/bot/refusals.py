"""Why a callback was refused, and with which HTTP status."""


class Refused(Exception):
    status = 400

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Forbidden(Refused):
    """Bad or missing signature, or a timestamp out of range."""

    status = 403


class TooLarge(Refused):
    status = 413


class Malformed(Refused):
    status = 400
