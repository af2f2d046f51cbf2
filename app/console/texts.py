"""What the office console says, in one place (the templates hold the page layout and its labels).

Domain words (statuses, deadline kinds, wording statuses) come from handlers/texts.py.
"""

TITLE = "网格舆情工作台"

# -- sign-in ---------------------------------------------------------------------------------
OFF = ("工作台未开启", "服务器没有设置 GRIDLINE_SECRET_KEY 和企业微信应用（GRIDLINE_WORK_CORP_ID 等）。请联系系统管理员。")
STATE_BAD = ("登录链接已失效", "登录链接只能用一次，且10分钟内有效。请重新登录。")
CANCELLED = ("已取消登录", "您没有确认登录。需要时请重新登录。")
WECOM_DOWN = ("暂时连不上企业微信", "请稍后重新登录。多次失败请联系系统管理员。")
CODE_BAD = ("登录未成功", "企业微信的登录码无效或已过期（5分钟内有效，只能用一次）。请重新登录。")
WECOM_REFUSED = ("登录未成功", "企业微信拒绝了登录（错误码 {errcode}）。请重新登录，仍不行请联系系统管理员。")
NOT_MEMBER = ("登录未成功", "您不是本单位企业微信的成员。请用单位的企业微信账号登录。")
NOT_IN_ROSTER = ("您不在花名册中", "企业微信账号“{userid}”没有登记在网格人员花名册里。请联系乡镇办公室核对花名册。")
NO_CONSOLE_ROLE = ("工作台仅供乡镇干部使用", "{name}，工作台供办公室、分管领导、主要领导、新闻发言人、部门联络员、包村领导和县级人员使用。"
                   "您可以继续在企业微信或公众号里上报、查看和办理线索（发送“帮助”查看命令）。")
SIGNED_OUT = ("已退出", "您已退出工作台。")
CSRF_BAD = ("页面已过期", "为了安全，这个操作没有执行。请刷新页面后再试。")
NOT_FOUND = ("没有找到", "没有这个页面，或您无权查看。")
CASE_NOT_FOUND = ("没有找到线索", "没有线索 {code}，或您无权查看。")
WORDING_NOT_FOUND = ("没有找到口径", "没有第{number}号口径，或您无权查看。")
DESK_ONLY = ("仅限办公室和领导", "台账、统计和投递记录由乡镇办公室和领导查看。需要时请联系办公室。")
DEMO_ONLY = ("仅限演示", "调时钟只在演示环境中可用。")
INPUT_BAD = ("填写有误", "{reason}")
UNTYPABLE = ("填写有误", "内容含有无法识别的字符，没有执行。请重新填写。")
MALFORMED = "这个请求缺了必填的内容或格式不对，没有执行。请返回页面重新填写。"

# -- inbox -------------------------------------------------------------------------------------
TABS = {"dispatch": "待分派", "mine": "我的", "overdue": "逾期", "supervised": "督办", "all": "全部"}
NO_CASES = "没有符合条件的线索。"
SHOWN_FIRST = "只显示最新的{n}件，请用筛选缩小范围。"
OVERDUE_BY = "逾期{left}"
LEFT = "剩{left}"
NO_DEADLINE = "—"
BULK_DONE = "已督办{n}件。"
BULK_NONE = "请先勾选要督办的线索。"
BULK_REFUSED = "{code}：{reason}"

# -- case page -----------------------------------------------------------------------------------
REPORTER_HIDDEN = "网格员"  # reporter confidentiality: what others see instead of the name
SYSTEM = "系统"
DONE = {
    "签收": "已签收。", "反馈": "已记录进展。", "约见": "已记录约见/联系。", "办结": "已办结。", "督办": "已列为督办，已通知办理人。",
    "改判": "已改判，已按新的分类重新分派并通知相关人员。", "回访": "已记录回访。",
}
REASON_NEEDED = "请写上改判原因。"
NOTHING_CHANGED = "没有改动：请至少改一项。"
DUTY = {"verify": "核实", "lead": "牵头", "inform": "知悉"}
OUTBOX_STATUS = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "dead": "发送失败"}
CHANNEL = {"work": "企业微信", "mp": "公众号", "robot": "群机器人", "appchat": "应用群聊"}

# -- wordings --------------------------------------------------------------------------------------
WORDING_DONE = {"draft": "口径草稿已保存，已送领导审批。", "approve": "已批准。已通知办公室发布。",
                "publish": "已发布：{people}人，{chats}个群。"}
WORDING_NO_AUDIENCE = "请至少选一个发送范围。"

UNKNOWN_ACTION = "没有“{action}”这项操作，请用本页列出的按钮办理。"
RECLASSIFY_NOT_YOURS = "{code} 的改判由乡镇办公室办理。您如认为分错了，可在本页“反馈”写明理由。"

# -- delivery ------------------------------------------------------------------------------------
RETRIED = "已重新排队发送，几秒后再看。"
NO_DEAD = "没有发送失败的消息。"

# -- demo ---------------------------------------------------------------------------------------
CLOCK_MOVED = "演示时钟已拨快{what}，现在是{now}。到期的提醒和升级会在几秒内发出。"
CLOCK_STEPS = {"1h": ("1小时", 1), "1d": ("1天", 24)}


def duration(seconds: float) -> str:
    """A short Chinese duration: 3天4小时, 5小时20分, 12分."""
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分" if mins else f"{hours}小时"
    return f"{mins}分"
