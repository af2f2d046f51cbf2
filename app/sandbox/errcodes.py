"""Error codes and messages of the faked WeChat (MP) and WeCom APIs, and where each was found.

Every JSON answer of the real APIs carries ``errcode`` and ``errmsg`` ("ok" on success) — with one
documented exception: the Official Account's ``GET /cgi-bin/token`` answers a bare
``{"access_token": ..., "expires_in": 7200}`` on success (WeCom's ``gettoken`` does carry
``"errcode": 0, "errmsg": "ok"``). Real error messages carry a request id after the text
(MP: ``"invalid openid rid: 6385c6c1-0fcadca1-22c1fc91"``; WeCom: ``"invalid corpid, hint: [...],
from ip: 1.2.3.4, more info at https://open.work.weixin.qq.com/devtool/query?e=40013"``); the fake
adds the same kind of suffix, so a client that compares errmsg for equality breaks here as it would
there (WeCom's global code page says in so many words: rely on errcode, never on errmsg).

Sources (looked up with the project's search tool; "docs"/"pages" corpora and public code):

Official Account (base https://api.weixin.qq.com)
- Global return codes: https://developers.weixin.qq.com/doc/service/en/Getting_Started/Global_Return_Code.html
  (-1 busy, 40001, 40003, 40007, 40013, 40014, 42001, 43004, 45009, 45011, 45015, 45047 ...);
  wechatpy 1.8.18 ``wechatpy/constants.py`` ``WeChatErrorCode`` (same table, with 40125
  INVALID_APP_SECRET, 45047 OUT_OF_RESPONSE_COUNT_LIMIT, 47003 INVALID_TEMPLATE_ARGUMENT).
- English errmsg texts: developers.weixin.qq.com API pages' error tables (getMedia, component token:
  "system error", "invalid credential, access_token is invalid or not latest", "invalid appid",
  "reach max api daily quota limit", "data format error", "api unauthorized"), community threads with
  real answers ("response out of time limit or subscription is canceled", "out of response count
  limit", "invalid template_id", "invalid openid", "invalid media_id", "invalid appsecret",
  "access_token expired", "api minute-quota reach limit mustslower retry next minute").
- Token: https://developers.weixin.qq.com/doc/service/en/api/base/api_getaccesstoken and
  .../en/Basic_Information/Get_access_token.html — valid 7200 s; a new fetch invalidates the previous
  token, but "both new and old access_token values are available within five minutes".
- Customer-service send: https://developers.weixin.qq.com/doc/service/api/customer/message/api_sendcustommessage
  — 48 hours after the user's action; "用户发送消息: 5条 / 48小时" (older docs said 20, oldest "unlimited").
- Template send: https://developers.weixin.qq.com/doc/service/api/notify/template/api_sendtemplatemessage.md
  — touser, template_id, url, miniprogram, data{key:{value,color}}; answer ``{"errcode":0,"errmsg":"ok",
  "msgid":200228332}``.
- Media get: https://developers.weixin.qq.com/doc/service/api/material/temporary/api_getmedia —
  the file itself (Content-disposition: attachment; filename=...), or ``{"errcode":40007,"errmsg":
  "invalid media_id"}``; video answers ``{"video_url": ...}`` (not faked).

WeCom (base https://qyapi.weixin.qq.com)
- Global codes: https://developer.work.weixin.qq.com/document/path/90455 (a.k.a. 90313); the full
  table with the "排查方法" notes as generated into go-workwx ``errcodes`` (pkg.go.dev
  github.com/loojee/workwx/errcodes): 40032 "不合法的UserID列表长度 — 发消息接口，最多指定1000人",
  40058 "不合法的参数", 81013 "UserID、部门ID、标签ID全部非法或无权限", 82001 "指定的成员/部门/标签全部为空",
  82002/82003 party/tag list > 100, 86001 chatid 不合法, 86003 "参数 chatid 不存在",
  93000 "机器人webhookurl不合法或者机器人已经被移除出群", 301002 "无权限操作指定的应用", 45009 接口调用超过限制.
- gettoken: https://developer.work.weixin.qq.com/document/path/91039 — ``{"errcode":0,"errmsg":"ok",
  "access_token":..., "expires_in":7200}``; older text: "有效期内重复获取返回相同结果，过期后获取会返回新的".
- textcard (message/send 90236, appchat/send 90248): title "不超过128个字节，超过会自动截断", description
  "不超过512个字节，超过会自动截断", url required, btntxt "默认为“详情”，不超过4个文字，超过自动截断"
  (SDK copies of the field table: tangkaijun/qywx TextCardMessage.java, DealerSo/DJ Textcard.java;
  doc text quoted in their comments). Missing fields: global codes 41016 "缺少title参数", 41010 "缺少url参数";
  no code names a missing description — 40058 "不合法的参数 … 参数必填 … 值为空则报此错误" is the generic one.
- appchat/send: https://developer.work.weixin.qq.com/document/path/90248 (the limits as quoted in SDKs):
  the chat must have been created by the app; "每企业消息发送量不可超过2万人次/分"; "每个成员在群中收到的
  应用消息不可超过200条/分，1万条/天，超过会被丢弃（接口不会报错）" (not faked). A community thread
  (developers.weixin.qq.com, "chatid invalid") shows a chat id that was never created answered with
  ``{"errcode":86001,"errmsg":"chatid invalid"}``: a client must treat 86001 like 86003.
- message/send: https://developer.work.weixin.qq.com/document/path/90236 (via metacpan QQ::weixin::work::message
  and CSDN copies): touser "a|b" up to 1000, toparty/totag up to 100; partly invalid → still sent,
  answer lists invaliduser/invalidparty/invalidtag (userids lower-cased); all invalid → 81013;
  answer has msgid. Real 81013 answers seen: ``{"errcode":81013,"errmsg":"user & party & tag all
  invalid, hint: [...]","invaliduser":"zhangmang"}``.
- Frequency: https://developer.work.weixin.qq.com/document/path/90454 — per app, per member at most
  30 messages/minute and 1000/hour, "超过部分会被丢弃不下发" (silently dropped, the API does not fail).
- Group robot: https://developer.work.weixin.qq.com/document/path/91770 — "每个机器人发送的消息不能超过
  20条/分钟"; real answers ``{"errcode":93000,"errmsg":"invalid webhook url, hint: [...]"}`` and
  ``{"errcode":45009,"errmsg":"api freq out of limit"}``.
- auth/getuserinfo (sign-in): https://developer.work.weixin.qq.com/document/path/98176 and 91023 —
  ``{"errcode":0,"errmsg":"ok","userid":"USERID"}`` for a member, ``openid`` for anyone else; the code is
  single-use and expires after 5 minutes; ``{"errcode":40029,"errmsg":"invalid code"}``. Older servers
  (user/getuserinfo) answered ``UserId``. 41008 "missing oauth code" from the global code list.
- 301002 real text: "not allow operate another agent with this accesstoken."; 42001 "access_token
  expired"; 40014 "invalid access_token"; 40013 "invalid corpid"; 40001 "invalid credential".

Doubtful (no English text found; the fake's wording is a guess): WeCom 40032, 82001, 86003, 44004,
47001 on WeCom, -1 on WeCom ("system busy"), 40058, 41010, 41016; 40058 for a card without description.
"""

MP_ERRMSG: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid appid",
    40014: "invalid access_token",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41006: "media_id missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43004: "require subscribe",
    44002: "empty post data",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    45015: "response out of time limit or subscription is canceled",
    45047: "out of response count limit",
    47001: "data format error",
    47003: "argument invalid!",
}

WORK_ERRMSG: dict[int, str] = {
    -1: "system busy",
    40001: "invalid credential",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40029: "invalid code",
    40032: "invalid userid list size",
    40058: "invalid Request Parameter",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41006: "media_id missing",
    41008: "missing oauth code",
    41010: "missing url",
    41011: "missing agentid",
    41016: "missing title",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    44004: "empty content",
    45002: "content size out of limit",
    45009: "api freq out of limit",
    45011: "api minute-quota reach limit",
    47001: "data format error",
    81013: "user & party & tag all invalid",
    82001: "All touser & toparty & totag invalid",
    82002: "invalid party list size",
    82003: "invalid tag list size",
    86001: "chatid invalid",
    86003: "chatid not found",
    93000: "invalid webhook url",
    301002: "not allow operate another agent with this accesstoken.",
}
