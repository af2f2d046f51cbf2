"""The fake's WeCom sign-in pages: web OAuth (open.weixin.qq.com) and QR login (login.work.weixin.qq.com).

Served under ``/open`` and ``/sso`` of the sandbox, so ``GRIDLINE_WECOM_OAUTH_BASE=http://host:port/open``
and ``GRIDLINE_WECOM_SSO_BASE=http://host:port/sso`` send the product here:

  GET /open/connect/oauth2/authorize?appid=CORPID&redirect_uri&response_type=code&scope=snsapi_base
      &state&agentid  — in the real client this redirects silently as the member using it; here
      there is no client, so the page lists the corp's members to open it as.
  GET /sso/wwlogin/sso/login?login_type=CorpApp&appid&agentid&redirect_uri&state — the QR page; here
      it lists the members to "scan as", and a cancel link.

Choosing a member (``as_userid=``) redirects to ``redirect_uri?code=CODE&state=STATE``; cancelling the QR
login to ``redirect_uri?state=STATE`` (no code, as WeCom does when the member declines). Bad parameters
get WeCom's kind of error page (HTTP 200, no redirect), never a redirect. The code is single-use and
expires after 5 minutes (``auth/getuserinfo`` in fake_wechat.py; source: developer.work.weixin.qq.com
document/path/91023 and 98176: "code只能使用一次，5分钟未被使用自动过期"; errors 40029 invalid code).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

if TYPE_CHECKING:
    from app.sandbox.fake_wechat import FakeWeChat

MAX_STATE_BYTES = 128  # "长度不可超过128个字节"

_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:1rem auto;padding:0 1rem;color:#222}}
a.who{{display:block;padding:.6rem .8rem;margin:.3rem 0;border:1px solid #ccd;border-radius:6px;
text-decoration:none;color:#124}} a.who:hover{{background:#eef4ff}} .note{{color:#666;font-size:.9rem}}</style>
</head><body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), body=body))


def _error(message: str) -> HTMLResponse:
    # WeCom shows its error pages with HTTP 200 and does not redirect.
    return _page("企业微信（沙盒）", f'<p>{escape(message)}</p>')


def _back(redirect_uri: str, **params: str) -> RedirectResponse:
    joiner = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(redirect_uri + joiner + urlencode(params), status_code=302)


def router(fake: FakeWeChat) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    def check(request: Request, needs: tuple[str, ...]) -> tuple[dict, str | None]:
        q = dict(request.query_params)
        missing = [k for k in needs if not q.get(k)]
        if missing:
            return q, f"参数错误：缺少 {', '.join(missing)}"
        if urlsplit(q["redirect_uri"]).scheme not in ("http", "https"):
            return q, "参数错误：redirect_uri 不是网址"
        if len(q.get("state", "").encode()) > MAX_STATE_BYTES:
            return q, "参数错误：state 超过128字节"
        if not fake.knows_app(q["appid"], q.get("agentid")):
            return q, "该链接无法访问：应用不存在或 appid/agentid 不匹配"
        return q, None

    def choose(request: Request, q: dict, title: str, hint: str, cancel: bool) -> Response:
        who = q.get("as_userid")
        if who:
            code = fake.login_code(who, corpid=q["appid"], agentid=q.get("agentid"))
            if code is None:
                return _error("无权限：该成员不在此企业或应用的可见范围内")
            return _back(q["redirect_uri"], code=code, state=q.get("state", ""))
        base = str(request.url.remove_query_params("as_userid"))
        links = "".join(
            f'<a class="who" href="{escape(base + "&" + urlencode({"as_userid": userid}))}">'
            f"{escape(name)} <span class=note>{escape(userid)}</span></a>"
            for userid, name in fake.members(q["appid"]))
        body = f'<p class="note">{escape(hint)}</p>{links or "<p>此企业还没有成员。</p>"}'
        if cancel:
            body += f'<p><a href="{escape(_back(q["redirect_uri"], state=q.get("state", "")).headers["location"])}">取消登录</a></p>'
        return _page(title, body)

    @api.get("/open/connect/oauth2/authorize")
    def authorize(request: Request) -> Response:
        q, problem = check(request, ("appid", "redirect_uri", "response_type", "scope"))
        if problem is None and (q["response_type"] != "code" or q["scope"] not in ("snsapi_base", "snsapi_privateinfo")):
            problem = "参数错误：response_type 须为 code，scope 须为 snsapi_base 或 snsapi_privateinfo"
        if problem:
            return _error(problem)
        return choose(request, q, "企业微信网页授权（沙盒）", "真实的企业微信客户端会以当前成员的身份直接跳转。这里请选择以谁的身份打开：", False)

    @api.get("/sso/wwlogin/sso/login")
    def qr_login(request: Request) -> Response:
        q, problem = check(request, ("appid", "agentid", "redirect_uri"))
        if problem is None and q.get("login_type", "CorpApp") != "CorpApp":
            problem = "参数错误：login_type 须为 CorpApp"
        if problem:
            return _error(problem)
        return choose(request, q, "企业微信扫码登录（沙盒）", "真实页面显示二维码，由成员用企业微信扫码确认。这里请选择以谁的身份扫码：", True)

    return api
