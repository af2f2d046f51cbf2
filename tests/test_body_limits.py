"""Bodies are bounded before they are read: JSON 1 MiB, uploads 10 MiB, callbacks 64 KiB (DESIGN: HTTP, Admin API).

Raw sockets, so the tests see exactly what the server read: a declared Content-Length over the limit is
answered with nothing sent; a chunked body (no length) is cut off once the count passes the limit.
"""

import io
import socket
import zipfile
from urllib.parse import urlsplit

import httpx
import pytest

from app.limits import CALLBACK_MAX, JSON_MAX, UPLOAD_MAX
from handlers import texts
from handlers.roster import MAX_UNPACKED, read_roster


@pytest.fixture
def server(serve):
    return serve(admin_token="adm", work_token="tok", work_corp_id="ww1",
                 work_aes_key="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt")


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    return sock


def _status(sock: socket.socket) -> int:
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1])


def declared(url: str, path: str, length: int, content_type: str, auth: bool) -> int:
    """Send only the headers of a request declaring `length` bytes; the status it gets without a body byte."""
    with _connect(url) as sock:
        headers = [f"POST {path} HTTP/1.1", "Host: test", f"Content-Type: {content_type}",
                   f"Content-Length: {length}"] + (["Authorization: Bearer adm"] if auth else [])
        sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        return _status(sock)


def chunked(url: str, path: str, total: int, content_type: str, prefix: bytes = b"") -> tuple[int, int]:
    """Stream `total` bytes with no Content-Length, stopping when the server answers: (status, bytes sent)."""
    with _connect(url) as sock:
        head = [f"POST {path} HTTP/1.1", "Host: test", f"Content-Type: {content_type}",
                "Transfer-Encoding: chunked", "Authorization: Bearer adm"]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        if prefix:
            sock.sendall(b"%x\r\n" % len(prefix) + prefix + b"\r\n")
        sent, piece = len(prefix), b"x" * 65536
        sock.settimeout(0.01)  # a pause between pieces, the server's chance to answer: 10 MiB in 1.6 s, not 8
        try:
            while sent < total:
                sock.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                sent += len(piece)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break  # the server has answered
                except TimeoutError:
                    pass
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(10)
        return _status(sock), sent


@pytest.mark.parametrize("auth", [True, False])
def test_a_json_body_over_1_mib_is_413_before_it_is_read_or_the_token_checked(server, auth):
    assert declared(server.url, "/api/org/invites", 12 * 2**20, "application/json", auth) == 413


def test_an_upload_over_10_mib_is_413_before_it_is_read(server):
    assert declared(server.url, "/api/org/import", 30 * 2**20, "multipart/form-data; boundary=x", False) == 413
    assert declared(server.url, "/wechat/work", CALLBACK_MAX + 1, "text/xml", False) == 413


def test_a_streamed_json_body_is_cut_off_at_the_limit(server):
    status, sent = chunked(server.url, "/api/org/invites", 8 * JSON_MAX, "application/json")
    assert status == 413 and sent < 4 * JSON_MAX


def test_a_streamed_upload_is_cut_off_at_the_limit(server):
    part = b'--x\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\nContent-Type: text/csv\r\n\r\n'
    status, sent = chunked(server.url, "/api/org/import", 3 * UPLOAD_MAX, "multipart/form-data; boundary=x", part)
    assert status == 413 and sent < 2 * UPLOAD_MAX


def test_a_streamed_callback_is_cut_off_at_64_kib(server):
    status, _ = chunked(server.url, "/wechat/work?timestamp=1&nonce=1&msg_signature=x", 4 * CALLBACK_MAX, "text/xml")
    assert status == 413


def test_bodies_under_the_limits_still_work(server):
    admin = {"Authorization": "Bearer adm"}
    resp = httpx.post(server.url + "/api/org/invites", json={"who": "x" * 60, "pad": "y" * (JSON_MAX - 200)},
                      headers=admin)
    assert resp.status_code == 422  # read and validated: an unknown key, not a size refusal
    junk = b"\xff" * (5 * 2**20)  # read whole, then refused for what it is
    resp = httpx.post(server.url + "/api/org/import", files={"file": ("roster.csv", junk)}, headers=admin, timeout=30)
    assert resp.status_code == 422 and resp.json()["detail"]["errors"][0]["reason"] == texts.T_UNDECODABLE


# -- the roster reader ---------------------------------------------------------------------------

def _bomb(unpacked: int) -> bytes:
    """An XLSX-shaped zip whose one sheet inflates to `unpacked` bytes of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"\0" * 2**20
            for _ in range(unpacked // len(block)):
                sheet.write(block)
    return out.getvalue()


def test_the_roster_reader_refuses_a_zip_bomb_before_inflating_it():
    data = _bomb(MAX_UNPACKED + 2**20)
    assert len(data) < 2**20  # small on the wire
    rows, errors = read_roster("bomb.xlsx", data)
    assert rows == [] and [e.reason for e in errors] == [texts.T_XLSX_TOO_BIG.format(mib=MAX_UNPACKED // 2**20)]


def test_the_import_endpoint_answers_a_zip_bomb_and_an_old_xls_with_422(server):
    admin = {"Authorization": "Bearer adm"}
    bomb = httpx.post(server.url + "/api/org/import", files={"file": ("bomb.xlsx", _bomb(MAX_UNPACKED + 2**20))},
                      headers=admin)
    assert bomb.status_code == 422 and bomb.json()["detail"]["errors"][0]["reason"].startswith("XLSX 文件解压后")
    xls = httpx.post(server.url + "/api/org/import", files={"file": ("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 512)},
                     headers=admin)
    assert xls.status_code == 422 and xls.json()["detail"]["errors"][0]["reason"] == texts.T_XLS
