"""Run the sandbox over real HTTP: uvicorn in a daemon thread on a loopback port.

``pause()`` closes the listening socket — a client then gets ECONNREFUSED, which is what an
unreachable WeChat looks like from here (better than any HTTP answer) — and ``resume()`` listens
again on the same port, so base URLs handed to the product stay valid.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Self

import uvicorn


class SandboxServer:
    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def mp_base(self) -> str:
        """Value for GRIDLINE_WECHAT_API_BASE."""
        return self.url + "/mp"

    @property
    def work_base(self) -> str:
        """Value for GRIDLINE_WECOM_API_BASE."""
        return self.url + "/work"

    def env(self) -> dict[str, str]:
        return {"GRIDLINE_WECHAT_API_BASE": self.mp_base, "GRIDLINE_WECOM_API_BASE": self.work_base}

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SandboxServer:
        if self.running:
            return self
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._sock = sock
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=f"sandbox:{self.port}")
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("sandbox server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def pause(self) -> None:
        """Stop listening (connection refused) until ``resume()``."""
        self.stop()

    def resume(self) -> None:
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
