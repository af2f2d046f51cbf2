"""Signing in through WeCom (企业微信): where to send the browser, and whose code came back.

Inside the WeCom client a page signs in by web OAuth (网页授权登录, scope snsapi_base); on a desktop
browser by QR login (企业微信扫码登录). Both come back to our redirect_uri with `code` and `state`;
the code is exchanged once, within 5 minutes, through `auth/getuserinfo` with the app's access token.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from bot.outbound.senders import TokenRefused
from bot.outbound.tokens import INVALID_TOKEN, TokenStore, TokenUnavailable

GETUSERINFO = "/cgi-bin/auth/getuserinfo"


def is_wecom_client(user_agent: str) -> bool:
    """The WeCom client's built-in browser says `wxwork` in its User-Agent."""
    return "wxwork" in user_agent.lower()


def oauth_url(base: str, corp_id: str, agent_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode({"appid": corp_id, "redirect_uri": redirect_uri, "response_type": "code",
                       "scope": "snsapi_base", "state": state, "agentid": agent_id})
    return f"{base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"


def qr_login_url(base: str, corp_id: str, agent_id: str, redirect_uri: str, state: str) -> str:
    query = urlencode({"login_type": "CorpApp", "appid": corp_id, "agentid": agent_id,
                       "redirect_uri": redirect_uri, "state": state})
    return f"{base.rstrip('/')}/wwlogin/sso/login?{query}"


@dataclass(frozen=True)
class LoginRefused(Exception):
    """WeCom answered an errcode (40029: the code is bad, used or expired), or was unreachable (None)."""

    errcode: int | None


def userid_for_code(http: httpx.Client, api_base: str, tokens: TokenStore, code: str) -> str | None:
    """The member's userid for a login code; None for someone outside the company (an openid only).
    A refused access token is refreshed and the exchange tried once more."""
    errcode = None
    for _ in range(2):
        try:
            token = tokens.get()
            answer = http.get(f"{api_base.rstrip('/')}{GETUSERINFO}", params={"access_token": token, "code": code}).json()
            errcode = int(answer.get("errcode", 0))
        except (httpx.HTTPError, ValueError, TypeError, AttributeError, TokenUnavailable, TokenRefused):
            raise LoginRefused(None) from None  # unreachable, not JSON, or no token to be had
        if errcode in INVALID_TOKEN:
            tokens.invalidate(token)
            continue
        if errcode:
            raise LoginRefused(errcode)
        # Current servers answer `userid`; older ones `UserId`.
        userid = answer.get("userid") or answer.get("UserId")
        return str(userid) if userid else None
    raise LoginRefused(errcode)
