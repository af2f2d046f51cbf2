"""Every sentence a user reads (chat replies, roster reports). Short, Chinese, fits a phone screen."""

from dataclasses import dataclass

from handlers.org import DEPARTMENTS, ROLES, TOWNSHIP_WIDE

HELP_HEAD = "网格舆情线索上报，可发："
# 帮助 lines, one per chat command (bot/commands.py lists those of the asker's roles).
HELP_LINE = {
    "上报": "· 上报，或直接发来情况（文字、链接、图片、语音、位置）",
    "举报": "· 举报：涉及村干部的情况，直报乡纪委和办公室",
    "取消": "· 取消：放弃正在填的上报",
    "签收": "· 签收 编号：签收交给您的线索",
    "反馈": "· 反馈 编号 进展：报告办理进展",
    "约见": "· 约见 编号：已见当事群众/已联系发帖人",
    "办结": "· 办结 编号 结果：办结线索",
    "退回": "· 退回 编号 原因：不归您办的，退回办公室重新分派",
    "督办": "· 督办 编号 要求：列为督办，要求转给办理人",
    "合并": "· 合并 编号 编号：把后一件重复线索并入前一件",
    "分派": "· 分派 编号 部门：把退回的线索重新分派给牵头部门",
    "涉及村干部": "· 涉及村干部 编号 是/否：改判，涉及的不再经过村里",
    "进度": "· 进度 编号：查看进展",
    "我的": "· 我的：我上报的线索",
    "待办": "· 待办：要我办的线索",
    "口径": "· 口径：现行统一口径",
    "收到": "· 收到：确认已收到口径",
}
# What everyone may do: a grid worker's whole 帮助.
EVERYONE = ("上报", "举报", "取消", "进度", "我的", "口径", "收到")
WELCOME = "欢迎关注！网格员请发送“绑定 邀请码”完成绑定，邀请码向乡镇办公室索取。"
UNSUPPORTED = "暂不支持这类消息，请发文字、图片、语音、链接或位置。"
SORRY = "系统繁忙，请稍后再发一次。"

# -- who are you ----------------------------------------------------------------------
UNKNOWN_SENDER = (
    "您还未绑定身份，暂不能使用。\n"
    "请向乡镇办公室索取6位邀请码，然后发送“绑定 邀请码”，例如：绑定 123456"
)
UNKNOWN_WECOM = "您不在网格人员名单中，暂不能使用。请联系乡镇办公室核对花名册。"
BIND_HOW = "请发送“绑定”加6位邀请码，例如：绑定 123456"
BOUND = "绑定成功！{name}，您好。发“帮助”看可用的命令。"
# One answer for every failed bind (wrong, used, expired, locked): a guess learns nothing.
BIND_FAILED = "绑定未成功：邀请码不对、已用过或已过期。请核对后重发；仍不行请向乡镇办公室重新索取邀请码，多次输错需1小时后再试。"
ALREADY_BOUND = "您已绑定为{name}，无需再绑定。"

# -- roster import (花名册导入) ---------------------------------------------------------
T_UNDECODABLE = "无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 XLSX 文件"
T_BAD_XLSX = "无法读取 XLSX 文件，文件可能已损坏"
T_XLS = "不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV"
T_XLSX_TOO_BIG = "XLSX 文件解压后超过 {mib} MB，无法读取：请删去多余的工作表或空行后再导入，或另存为 CSV"
T_EMPTY_FILE = "文件是空的，没有表头"
T_NO_ROWS = "文件中没有人员数据"
T_NOTHING_GOOD = "没有可导入的行"
T_MISSING_HEADER = "缺少“{col}”列"
T_DUP_HEADER = "“{col}”列出现了不止一次"
T_REQUIRED = "必填"
T_TOO_LONG = "太长（最多{n}个字）"
T_ROLE_UNKNOWN = "“{role}”不是有效角色，应为：" + "、".join(ROLES)
T_PHONE_BAD = "应为以1开头的11位手机号"
T_PHONE_SCI = "手机号被显示为科学计数法，请把该列设为文本格式后重新导出"
T_PHONE_DUP = "手机号与第{row}行重复"
T_USERID_DUP = "企业微信账号与第{row}行重复"
T_USERID_BAD = "企业微信账号只能由字母、数字和 _ - @ . 组成，以字母或数字开头，最长64位"
T_USERID_TAKEN = "企业微信账号“{userid}”已绑定给{name}（{phone}）"
T_TOWNSHIP_REQUIRED = "必填（县级人员请填写“县”列并将乡镇留空）"
T_TOWNSHIP_FOR_VILLAGE = "填写了村，须同时填写乡镇"
T_VILLAGE_FOR_GRID = "填写了网格，须同时填写村"
T_VILLAGE_NEEDED = "{role}须填写村"
T_GRID_NEEDED = "网格员须填写网格"
T_VILLAGE_ROW_ROLE = "填了村的行只能是村级角色（网格员、村两委、村书记）；{roles}是乡镇角色，村干部不能兼任，请核对"
T_COUNTY_ROLE = "县级人员（乡镇为空）的角色只能是" + "、".join(TOWNSHIP_WIDE)
T_COUNTY_CONFLICT = "乡镇“{township}”在第{row}行属于“{county}”"
T_DEPT_NEEDED = "部门联络员须填写部门"
T_DEPT_UNKNOWN = "“{dept}”不是有效部门，应为：" + "、".join(DEPARTMENTS)
T_DEPT_COUNTY = "部门只设在乡镇，县级人员不填部门"
T_COVERS_NEEDED = "包村领导须填写包联村（多个村用、或逗号分隔）"
T_COVERS_TOWNSHIP = "包村领导须填写乡镇"
T_COVER_UNKNOWN = "“{village}”不是{township}的村（本表和系统中都没有）"
T_OTHER_TOWNSHIP = "只能导入本乡镇（{township}）的人员；其他乡镇和县级人员由县里导入"
T_OTHER_COUNTY = "{township}属于{county}，请改为{county}或留空"
T_PHONE_ELSEWHERE = "这个手机号已登记为其他乡镇或县级人员，不能在{township}的花名册里改动；请核对号码或联系县里"

T_ROSTER_REFUSED = "花名册有{n}处错误，未导入任何数据。请修正后重新导入，或只导入无误的行（--skip-bad-rows）。"
T_ROSTER_DONE = "导入完成：新增{created}人，更新{updated}人，未变{unchanged}人，停用{deactivated}人。"
T_ROSTER_SKIPPED = "另有{n}行有错误，已跳过。"

# -- the console's settings pages ----------------------------------------------------------
HOLIDAY_NAMES = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
                 "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "Mid-autumn Festival": "中秋节",
                 "National Day": "国庆节", "Anti-Fascist 70th Day": "抗战胜利纪念日"}
WEEKDAYS = "一二三四五六日"
SETTINGS_OFFICE_ONLY = ("仅限办公室", "节假日、敏感时期和花名册由乡镇办公室维护。需要更改请联系办公室。")
CALENDAR_YEAR_BAD = "年份应在2000至2100之间。"
CALENDAR_NAME_LONG = "名称最多32个字。"
CALENDAR_KIND_BAD = "请选择“放假”或“调休上班”。"
CALENDAR_DAY_NEEDED = "请选择日期。"
CALENDAR_NOT_THERE = "{day}不在办公室的日历里，无需删除。"
CALENDAR_SAVED = "已保存：{day} {kind}。新的时限按此计算。"
CALENDAR_REMOVED = "已删除：{day}。"
PERIOD_DATE_NEEDED = "请填写开始和结束日期。"
PERIOD_NOT_THERE = "没有这个敏感时期，可能已被删除。"
PERIOD_SAVED = "已添加敏感时期。期间新的时限按系数缩短，新线索同时报办公室。"
PERIOD_REMOVED = "已删除敏感时期。"
SIGNOUT_WHO_NEEDED = "请填写要退出的人员姓名或手机号。"
SIGNOUT_NOT_FOUND = "本乡镇在册人员中没有“{who}”。请填写准确的姓名或手机号。"
SIGNOUT_AMBIGUOUS = "有{n}位“{who}”，请改填手机号。"
SIGNOUT_DONE = "已让{name}在所有设备上退出工作台（结束{n}处登录），再用须重新扫码登录。"
ROSTER_FILE_NEEDED = "请选择花名册文件（CSV 或 XLSX）。"
ROSTER_NOT_CHECKED = "请先“检查”这个文件，确认无误后再导入（导入的须是检查过的同一个文件）。"
ROSTER_CHECK_REFUSED = "花名册有{n}处错误，不能导入。请修正后重新检查，或勾选“只导入无误的行”。"
ROSTER_CHECK_OK = "检查通过：导入后将新增{created}人，更新{updated}人，未变{unchanged}人，停用{deactivated}人。尚未导入。"
ROSTER_CHECK_SKIPS = "有错误的{n}行将被跳过。"
ROSTER_APPLIED = "已导入：新增{created}人，更新{updated}人，未变{unchanged}人，停用{deactivated}人。"

# -- group chats (推送群) import ---------------------------------------------------------
T_CHAT_KIND = "类型应为“群机器人”或“应用群聊”"
T_CHAT_TOWNSHIP_UNKNOWN = "系统中没有乡镇“{township}”，请先导入花名册"
T_CHAT_VILLAGE_UNKNOWN = "{township}没有村“{village}”"
T_CHAT_KEY_BAD = "标识格式不对：群机器人填 webhook 地址或其中的 key，应用群聊填 chatid（字母数字，最长32位）"
T_CHAT_KEY_DUP = "标识与第{row}行重复"
T_CHATS_REFUSED = "推送群表有{n}处错误，未导入。请修正后重新导入。"
T_CHATS_DONE = "导入完成：新增{created}个群，更新{updated}个，未变{unchanged}个，删除{removed}个。"

# -- command line --------------------------------------------------------------------------
T_CANNOT_READ = "无法读取文件 {file}：{reason}"
T_CANNOT_WRITE = "无法写入文件 {file}：{reason}"
T_DB_ERROR = "数据库出错，未导入：{reason}\n（新数据库请先运行 gridline db upgrade）"
T_BAD_TIME = "时间格式不对：{value}（例如 2026-11-20T16:00）"
T_RUN_DUE_JOBS = ("提醒{remind}次，逾期升级{escalate}次，周五台账提醒{weekly_update}次，周一汇总{weekly_summary}次，"
                  "回访提醒{followup}次，已无需处理{moot}项，出错{failed}项。")
T_RUN_DUE = "发送{sent}条，稍后重试{retried}条，失败{dead}条。"
T_WHO_UNKNOWN = "没有找到在册人员“{who}”（按姓名或手机号查找）"
T_WHO_AMBIGUOUS = "有{n}人叫“{who}”，请改用手机号：{phones}"
T_INVITE = "{name}的绑定邀请码（{hours}小时内有效，仅可使用一次）："
T_DEMO_NOT_DEMO_DB = ("这个数据库里有{n}位不属于演示县的人员，演示不会改动它。"
                      "请用 --database 指定演示专用的数据库（默认 ./var/demo.db）。")
T_DEMO_READY = ("演示已启动：用浏览器打开 {url} ，选一位网格员发条线索试试；"
                "乡镇工作台在 {console} ，以任何人的身份扫码登录（Ctrl+C 退出）")
LEDGER_FILE = "台账-{day:%Y%m%d}.xlsx"
T_LEDGER_DONE = "已导出{n}件线索到 {file}"
T_MODEL_USABLE = "模型可用，无需重新训练：{file}"
T_MODEL_UNUSABLE = "模型不可用（{reason}），重新训练"
T_TRAINED = "已重新训练：随附样例{shipped}条，本县判定{county}条；模型已写入 {file}（运行中的服务自动换用）"
T_NO_MODEL = "没有可用的模型（{file}），只能评估规则；先运行 gridline classify train"
T_EVAL_HEAD = "{file}：{n}条线索（重复{duplicates}条已略去）"

# -- filing a tip-off (上报) -------------------------------------------------------------
ASK_WHAT = "请说说发生了什么：什么事、在哪、涉及谁。可直接发文字、链接、图片、语音或位置。"
ASK_ONLINE = "这条是网上的吗？请补充：在哪个平台、发帖人网名是什么（不清楚就回复“不清楚”）。"
ASK_GATHERING = "有没有群众聚集，或打算一起去上访？（没有就回复“没有”）"
ASK_CADRE = "这条反映的是村干部（{who}）的问题吗？回复“是”或“否”，拿不准就回复“不清楚”（按涉及村干部办理，不经过村里）。"
# a grievance about village money or benefits with nobody named (or a model unsure of a cadre)
ASK_CADRE_UNNAMED = "这事是村干部经手或造成的吗？回复“是”或“否”，拿不准就回复“不清楚”（按涉及村干部办理，不经过村里）。"


def ask_cadre(who) -> str:
    """The cadre question, naming who the text may mean when it names someone."""
    return ASK_CADRE.format(who="、".join(who)) if who else ASK_CADRE_UNNAMED

CONFIDENTIAL_WORD = "举报"
CADRE_WORD = "涉及村干部"
CADRE_MARK_OFFICE = "只有乡镇办公室可以改判 {code} 是否涉及村干部。您可发送“进度 {code}”查看进展。"
CADRE_MARK_USAGE = "请写“涉及村干部 {code} 是”或“涉及村干部 {code} 否”。"


def cadre_marked(code: str, involved: bool) -> str:
    if involved:
        return f"{code} 已改为涉及村干部：不再经过村里，已撤回发给村干部的未发消息，谁已收到过会另行告知。"
    return f"{code} 已改为不涉及村干部，按常规分派。"

CONFIDENTIAL_BUSY = "您有未提交的上报，请先回复“确认”或“取消”，再发“举报”。"
CONFIDENTIAL_START = ("举报：您反映的情况将直报乡镇纪委和办公室，不经过村里，您的姓名只有他们知道。\n"
                      "请说说情况：谁、什么事、在哪。可直接发文字、图片、语音。")
PLACE_UNKNOWN = "未知"
FILLER_PROMPT = "您好！有情况请直接说：什么事、在哪、涉及谁。发“帮助”看可用的命令。"
TOO_LONG = "太长了：一条上报最多{chars}字，请精简后重发。"
DRAFT_FULL = "这条上报已经够长了（最多{messages}条、{chars}字）。请回复“确认”提交，或“修改”重填。"
ASK_VILLAGE = "是哪个村的事？请回复村名或序号："
CORRECTION_WORD = {"category": "类别", "village": "村", "urgent": "紧急", "online": "网上", "involves_cadre": "涉及村干部"}
CORRECT_CATEGORY = "类别应为：{options}。例如：类别 涉贫政策"
CORRECT_VILLAGE = "本乡镇没有“{name}”，可选：{options}"
CORRECT_YES_NO = "请回复“{word} 是”或“{word} 否”。"
CORRECT_HINT = "有误可单项改：类别 …、村 …、紧急 是/否、网上 是/否、涉及村干部 是/否"
ASK_CATEGORY = "这条线索属于哪一类？请回复序号或类别："
ASK_ONLINE_FLAG = "这件事网上有人在传吗（抖音、快手、微信群等）？回复“是”或“否”。"
EVAL_VALUE = {True: "是", False: "否", None: "无"}


def choice_question(head: str, options) -> str:
    """A numbered choice: answered by the number or the option's words."""
    return head + "\n" + "\n".join(f"{n} {option}" for n, option in enumerate(options, 1))
CONFIRM_PROMPT = "回复“确认”提交，回复“修改”重填"
CANCELLED = "已取消本次上报。"
NOTHING_TO_CONFIRM = "没有待提交的上报。发送“上报”开始。"
RESUMED = "接着您未提交的上报："
DUTY = {"verify": "核实", "lead": "牵头办理", "inform": "知悉"}
STATUS = {
    "submitted": "已上报", "assigned": "已分派", "acknowledged": "已签收", "in_progress": "办理中",
    "resolved": "已办结", "reviewed": "已回访", "withdrawn": "已撤回",
}
DEADLINE_KIND = {
    "ack": "签收", "report_urgent": "向主要领导报告", "contact_poster": "线下联系发帖人",
    "meet_people": "与当事群众见面", "close": "办结",
}


def summary(category: str, lead: str, place: str, what: str, online: str | None, urgent: bool,
            cadre: bool = False, confidential: bool = False) -> str:
    head = "请核对举报（直报乡镇纪委和办公室，不经过村里）：" if confidential else "请核对："
    lines = [f"{head}\n类别：{category}（{lead}牵头）", f"地点：{place}", f"情况：{_clip(what, 90)}"]
    if online:
        lines.append(f"网络：{online}")
    if urgent:
        lines.append("紧急：是（将立即报告主要领导）")
    lines.append("涉及村干部：" + ("是（不经过村里，直报乡镇纪委）" if cadre else "否"))
    return "\n".join(lines) + "\n" + CORRECT_HINT + "\n" + CONFIRM_PROMPT


def receipt(code: str, lead: str, verifier: str | None, due: str, kind: str) -> str:
    who = f"{lead}牵头" + (f"，{verifier}核实" if verifier else "")
    return f"已提交，编号 {code}。\n由{who}，须在{due}前{DEADLINE_KIND[kind]}。\n发送“进度 {code}”可查进展。"


REPORTER_HIDDEN = "网格员"  # what people who may not know the reporter read instead of the name


def case_card(case, duty: str, place: str, actions, due: tuple[str, str] | None,
              reporter: str = REPORTER_HIDDEN) -> str:
    """A case as one person on it gets it: `actions` are the commands they may send, `due` (when, kind)
    the deadline they answer for, `reporter` the name or 网格员 (access.sees_reporter)."""
    head = "【举报】" if case.confidential else "【紧急线索】" if case.urgent else "【新线索】"
    lines = [f"{head}{case.code}", f"{case.category}｜{case.severity}｜{place}", _clip(case.summary, 120),
             f"上报人：{reporter}",
             f"您的任务：{DUTY[duty]}" + (f"，须在{due[0]}前{DEADLINE_KIND[due[1]]}" if due else "")]
    lines.append(you_may(case.code, actions))
    return "\n".join(lines)


# -- acting on a case ----------------------------------------------------------------------
NO_SUCH_CASE = "没有找到线索 {code}，或您无权查看。"
# -- a conflict of interest found late (handlers/exposure.py) ------------------------------------
VILLAGE_CHAT = "村推送群"
EXPOSURE_EVENT = "回避"
EXPOSURE_OTHER = "消息"
EXPOSURE_WHAT = {
    "card": "线索卡片", "remind": "时限提醒", "overdue": "逾期通知", "escalate": "督办升级", "supervise": "督办通知",
    "wording": "统一口径", "off": "改派通知", "weekly_update": "周五台账", "followup": "回访提醒",
    "reopen": "重办通知", "duplicate": "重复提示", "reporter": "办结告知",
}


def exposure_report(code: str, received: dict[str, list[str]], cancelled: int) -> str:
    """To the office: the case now bypasses the village; who had already received what."""
    had = [f"· {who}：{'、'.join(what)}" for who, what in received.items() if what]
    lines = [f"⚠️{code} 已改为涉及村干部，不再经过村里；已撤回未发出的消息{cancelled}条，此后不再通知回避人员。"]
    lines += ["此前已收到本线索的：", *had] if had else ["回避人员此前没有收到本线索的消息。"]
    none = [who for who, what in received.items() if not what]
    if none and had:
        lines.append(f"未收到：{'、'.join(none)}")
    return "\n".join(lines)

NEEDS_NOTE = {"反馈": "请写上进展，例如：反馈 {code} 已入户核实", "办结": "请写上结果，例如：办结 {code} 已解决",
              "退回": "请写上退回原因，例如：退回 {code} 不属于本部门职责"}
DONE = {"签收": "已签收 {code}。", "反馈": "已记录 {code} 的进展。", "约见": "已记录 {code} 已约见/联系。",
        "办结": "{code} 已办结。", "督办": "{code} 已列为督办，已通知办理人。",
        "退回": "{code} 已退回乡镇办公室重新分派。"}
# How a command is written for one case: what cards, reminders and refusals offer.
USAGE = {"签收": "签收 {code}", "反馈": "反馈 {code} 进展", "约见": "约见 {code}", "办结": "办结 {code} 结果",
         "退回": "退回 {code} 原因", "分派": "分派 {code} 部门", "督办": "督办 {code} 要求", "进度": "进度 {code}"}
DUTY_WHO = {"verify": "核实的村书记", "lead": "牵头部门{lead}", "inform": "知悉的包村领导和部门"}
CLOSED_FOR_REPORTER = "您上报的 {code} 已办结：{note}"


def you_may(code: str, actions) -> str:
    """The commands this person may send about this case now (进度 always)."""
    return "您可发送：" + "、".join(f"“{USAGE[a].format(code=code)}”" for a in [*actions, "进度"])


def not_yours(action: str, code: str, who: list[str], actions) -> str:
    return f"{code} 的“{action}”由{'或'.join(who) or '他人'}办理。" + you_may(code, actions)


def not_now(action: str, code: str, status: str, actions) -> str:
    return f"{code} 当前{STATUS[status]}，不能“{action}”。" + you_may(code, actions)


DISPATCH_USAGE = "请写上牵头部门，例如：分派 {code} 信访办。部门：{departments}"
MERGE_USAGE = "请写上两个编号，后一件并入前一件，例如：合并 XS-20260101-0001 XS-20260101-0002"
MERGE_SAME = "两个编号相同，请写上要合并的两件线索。"
MERGE_ACROSS_CADRE = ("{first} 和 {second} 一件涉及村干部、一件不涉及，不能合并（合并会让村里看到涉及村干部的线索）。"
                      "如确属同一事项，请先把两件都改为涉及村干部，再合并。")
MERGED_INTO = "并入 {code}"
MERGED_FROM = "{code} 并入本件"


def merged(first: str, second: str) -> str:
    return f"已将 {second} 并入 {first}，其上报人已收到通知。"


def merged_for_reporter(second: str, first: str) -> str:
    return f"您上报的 {second} 与 {first} 是同一件事，已并入 {first} 办理。发送“进度 {first}”可查进展。"


def merged_for_member(second: str, first: str) -> str:
    return f"{second} 已并入 {first}，您无需再跟进 {second}。"


def dispatched(code: str, lead: str) -> str:
    return f"{code} 已分派，由{lead}牵头，已通知办理人。"


def supervised(code: str, who: str, note: str) -> str:
    return f"⚠️{code} 已被{who}列为督办" + (f"：{_clip(note, 80)}" if note else "") + "。请抓紧办理。"


def returned(code: str, who: str, reason: str) -> str:
    return (f"【退回】{code} 被{who}退回：{_clip(reason, 60)}\n"
            f"请重新分派：发送“分派 {code} 部门”（如：分派 {code} 信访办），或在管理后台改派。")
NO_REPORTS = "您还没有上报过线索。"
NO_TODO = "暂无待办。"


def progress(case, place: str, events: list[tuple[str, str, str]]) -> str:
    lines = [f"{case.code}｜{STATUS[case.status]}" + ("｜督办" if case.supervised else ""),
             f"{case.category}｜{place}", _clip(case.summary, 60)]
    lines += [f"{at} {who}{action}" + (f"：{_clip(note, 30)}" if note else "") for at, who, action, note in events[-5:]]
    return "\n".join(lines)


TODO_TASK = {"verify": "核实", "lead": "牵头办理", "inform": "知悉", "returned": "被退回，待重新分派",
             "duplicate": "疑似与{other}重复，待核对合并", "unsigned": "紧急，尚无人签收"}
TODO_SHOWN = 8


@dataclass(frozen=True)
class TodoLine:
    code: str
    task: str
    status: str
    summary: str
    overdue: bool
    due: tuple[str, str] | None  # (when, deadline kind)
    other: str | None = None


def todo_list(items: list[TodoLine]) -> str:
    """待办: two lines a case — code, task and deadline; what it is about. Overdue first (the caller sorts)."""
    lines = [f"待办（{len(items)}件）："]
    for i in items[:TODO_SHOWN]:
        due = f"｜{'⚠️已逾期 ' if i.overdue else ''}{i.due[0]}前{DEADLINE_KIND[i.due[1]]}" if i.due else ""
        lines.append(f"{i.code} {TODO_TASK[i.task].format(other=i.other)}｜{STATUS[i.status]}{due}")
        lines.append(f"  {_clip(i.summary, 24)}")
    if len(items) > TODO_SHOWN:
        lines.append(f"……另有{len(items) - TODO_SHOWN}件未列出")
    return "\n".join(lines)


def case_list(title: str, rows: list[tuple[str, str]]) -> str:
    return title + "\n" + "\n".join(f"{code} {state}" for code, state in rows)


# -- delivery -----------------------------------------------------------------------------------
UNREACHABLE_SHOWN = 10


def unreachable(names: list[str]) -> str:
    """To the office: these people's WeCom accounts are unknown, so messages did not reach them."""
    shown = "、".join(names[:UNREACHABLE_SHOWN]) + (f"等{len(names)}人" if len(names) > UNREACHABLE_SHOWN else "")
    return f"{shown}的企业微信账号无效，消息未送达。请核对花名册和企业微信通讯录。"


JOB_KINDS = {"remind": "期限提醒", "escalate": "逾期升级", "weekly_update": "周五台账更新提醒",
             "weekly_summary": "周一汇总", "followup": "回访提醒", "wording_remind": "口径收到催办"}


# A long job that failed is not repeated (handlers/jobs.py): what it would have replaced goes on serving.
LONG_JOB_FAILED = {"classify_retrain": "系统提醒：本周分类模型重新训练失败（任务号{job_id}），仍按原模型分类，"
                                       "不影响上报。请系统管理员查看失败原因后运行 gridline classify train。"}


def job_failed(kind: str, job_id: int, code: str | None) -> str:
    """To the office: a scheduled job failed for good, so what it should have sent did not go."""
    if kind in LONG_JOB_FAILED:
        return LONG_JOB_FAILED[kind].format(job_id=job_id)
    what = JOB_KINDS.get(kind, kind) + (f"（{code}）" if code else "")
    return (f"系统提醒：定时任务“{what}”多次执行失败，已停止（任务号{job_id}）。该提醒未发出，"
            "请人工跟进相关事项，并请系统管理员查看失败任务。")


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"

# -- command words (what users type) ---------------------------------------------------------
START_WORDS = ("上报", "报告", "有情况", "我要上报", "我要报告")
CONFIRM_WORD, EDIT_WORD, CANCEL_WORD, HELP_WORD = "确认", "修改", "取消", "帮助"
MINE_WORD, TODO_WORD = "我的", "待办"
CASE_USAGE = "请带上编号，例如：{action} XS-20260101-0001"
DUPLICATE = "{code} 疑似与 {other} 重复（同一链接或同一事项），请核对。确是重复请发“合并 {other} {code}”。"
OFF_CASE = "{code} 已改由他人办理，您无需再跟进。"
RECLASSIFY_REASON = "（原因：{reason}）"
FIELD = {"confidential": "举报", "category": "类别", "lead_department": "牵头部门", "severity": "紧急程度", "urgent": "紧急",
         "online": "网络舆情", "involves_cadre": "涉及村干部", "village_id": "村"}

# -- deadlines, reminders, escalation -----------------------------------------------------
ACTION_FOR = {"ack": "签收", "report_urgent": "反馈", "contact_poster": "约见", "meet_people": "约见", "close": "办结"}


def reminder(code: str, kind: str, due: str, left: str) -> str:
    return (f"⏰提醒：{code} 须在{due}前{DEADLINE_KIND[kind]}，还剩{left}。\n"
            f"办好后回复“{USAGE[ACTION_FOR[kind]].format(code=code)}”。")


def overdue_notice(code: str, kind: str, due: str, levels: str) -> str:
    return f"⚠️{code} 未在{due}前{DEADLINE_KIND[kind]}，已逾期，列为督办并报{levels}。请立即办理。"


def escalation(code: str, kind: str, due: str, place: str, who: str) -> str:
    return (f"⚠️督办：{place}线索 {code} 未在{due}前{DEADLINE_KIND[kind]}，已逾期。\n"
            f"责任人：{who or '未指定'}。请督促办理，回复“进度 {code}”查看。")


def moment(at, tz) -> str:
    return at.astimezone(tz).strftime("%m月%d日%H:%M")


def time_left(minutes: int) -> str:
    if minutes >= 1440:
        return f"{minutes // 1440}天{minutes % 1440 // 60}小时" if minutes % 1440 >= 60 else f"{minutes // 1440}天"
    if minutes >= 60:
        return f"{minutes // 60}小时{minutes % 60}分钟" if minutes % 60 else f"{minutes // 60}小时"
    return f"{max(minutes, 1)}分钟"


CALENDAR_UNKNOWN = ("提醒：系统的工作日历还没有{year}年的法定节假日安排，届时将暂按周一至周五计算工作日。"
                    "请在国务院办公厅公布安排后，在工作台“设置”页、用 gridline calendar 命令或管理接口录入。")
PERIOD_NO_NAME = "请写上敏感时期的名称，例如：国庆"
PERIOD_BACKWARDS = "结束日期不能早于开始日期"
PERIOD_FACTOR = "时限系数应大于0且不超过1，例如0.5（时限减半）"
DAY_KIND = {True: "调休上班", False: "放假"}
T_PERIOD_LINE = "#{id}  {name}  {starts}至{ends}  ×{factor}  {where}"
T_COUNTY_WIDE = "全县"
T_NO_TOWNSHIP = "没有名为“{name}”的乡镇。"


def calendar_day(day, workday: bool, name: str) -> str:
    return f"{day}  {DAY_KIND[workday]}  {name}"


def day_set(day, workday: bool, name: str) -> str:
    return f"{day} 已记为{DAY_KIND[workday]}日" + (f"（{name}）" if name else "") + "。"
T_DAY_REMOVED = "{day} 已从办公室日历中删除。"
T_DAY_ABSENT = "办公室日历中没有 {day}。"
T_BAD_DATE = "日期格式不对：{value}（例如 2027-01-01）"
T_PERIOD_ADDED = "已设敏感时期 #{id}：{name}，{starts}至{ends}，时限乘以{factor}。"
T_PERIOD_REMOVED = "已删除敏感时期 #{id}。"
T_PERIOD_ABSENT = "没有编号为 {id} 的敏感时期。"
T_CALENDAR_YEARS = "法定节假日已知年份：{first}–{last}；办公室录入年份：{office}。"
T_CALENDAR_UNKNOWN_YEARS = "⚠️ 缺少 {years} 年的节假日安排，届时按周一至周五计算工作日。"


# -- ledger (台账) ----------------------------------------------------------------------------
LEDGER_CASE_HEADERS = ("编号", "上报时间", "乡镇", "村", "网格", "类别", "紧急程度", "牵头部门", "情况摘要", "状态",
                       "签收时间", "办结时间", "是否逾期", "督办", "处置结果", "回访满意度")
LEDGER_FIGURE_HEADERS = ("乡镇", "牵头部门", "线索数", "在办", "已办结", "逾期", "督办", "满意", "基本满意", "不满意")
LEDGER_SHEET_CASES, LEDGER_SHEET_FIGURES = "线索台账", "分单位统计"
LEDGER_TOTAL = "合计"


def ledger_title(unit: str | None, start, end) -> str:
    """The workbook's title: what the export covers."""
    return " ".join(["网格舆情线索台账", *([unit] if unit else []),
                     *([f"{start or '…'}至{end or '…'}"] if start or end else [])])


YES, NO = "是", "否"
LEDGER_BAD_DATE = "日期格式不对：{value}（例如 2026-11-01）"
LEDGER_BAD_RANGE = "开始日期 {start} 晚于结束日期 {end}"
ACCOUNTABILITY_UNIT_HEADERS = ("单位", "到期时限", "逾期", "按时率", "逾期的线索")
ACCOUNTABILITY_PERSON_HEADERS = ("姓名", "单位", "到期时限", "逾期", "按时率", "逾期的线索")
ACCOUNTABILITY_NONE = "这段时间没有到期的时限。"
ACCOUNTABILITY_TOO_LONG = "一次最多统计一年（366天），请缩短日期范围。"
LEDGER_UNIT_UNKNOWN = "没有名为“{unit}”的乡镇或村"
LEDGER_UNIT_AMBIGUOUS = "有{n}个地方叫“{unit}”，请写成“乡镇/村”，例如 白水乡/{unit}"

# -- weekly: Friday's update request, Monday's summary -----------------------------------------
WEEKLY_LIST_MAX = 15


def weekly_update(lines: list[str], closes: bool) -> str:
    """`closes`: the person leads one of them, so may be asked to 办结 (a verifier may not)."""
    shown = lines[:WEEKLY_LIST_MAX]
    more = [f"……另有{len(lines) - len(shown)}件未列出"] if len(lines) > len(shown) else []
    return "\n".join([f"【周五台账更新】您负责的{len(lines)}件线索尚未办结，请更新办理进展：", *shown, *more,
                      "回复“反馈 编号 进展”更新" + ("；办完回复“办结 编号 结果”。" if closes else "。")])


def weekly_update_line(code: str, status: str, place: str, category: str, overdue: bool) -> str:
    return f"{code} {STATUS[status]}｜{place}｜{category}" + ("｜⚠️逾期" if overdue else "")


SUMMARY_COLUMNS = "新增/在办/逾期/办结"


def weekly_summary(scope: str, since, until, now, total, by_unit: list, by_category: list) -> str:
    """WeCom markdown: the week's figures for a main leader; rows are (name, counts)."""
    lines = [f"### 舆情线索周报 {since:%m月%d日}—{until:%m月%d日}", f"{scope}｜截至{now:%m月%d日%H:%M}",
             f"> 新增 **{total['new']}** 件　办结 **{total['closed']}** 件",
             f"> 在办 **{total['open']}** 件，其中逾期 <font color=\"warning\">**{total['overdue']}**</font> 件"]
    if not by_unit:
        return "\n".join([*lines, "本周没有新增、在办或办结的线索。"])
    for title, table in (("按牵头部门", by_unit), ("按类别", by_category)):
        lines.append(f"**{title}**（{SUMMARY_COLUMNS}）")
        lines += [f"{name}　{c['new']} / {c['open']} / {c['overdue']} / {c['closed']}" for name, c in table]
    return "\n".join(lines)


COUNTY_SCOPE = "全县"

# -- follow-up visits (回访) --------------------------------------------------------------------
FOLLOWUP_WORD = "回访"
FOLLOWUP_USAGE = "请按格式回复：回访 编号 满意/基本满意/不满意 回访情况，例如：回访 XS-20260101-0001 满意 已电话回访当事人"
FOLLOWUP_NEEDS_NOTE = "请写上回访情况，例如：回访 {code} {level} 已电话回访当事人"
FOLLOWUP_NOT_YOURS = "回访由乡镇办公室记录，您不能记录 {code} 的回访。您可发送“进度 {code}”查看进展。"
FOLLOWUP_DONE = "已记录 {code} 的回访：{level}。"
FOLLOWUP_REOPENED = "已记录 {code} 的回访：不满意。线索已重新办理，已通知{lead}。"
FOLLOWUP_TOO_LATE = "已记录 {code} 的回访：不满意。办结已超过{window}，不再重新办理。"
REOPEN_NOTE = "回访不满意，重新办理"


def followup_request(code: str, place: str, closed: str, outcome: str) -> str:
    return (f"【回访】{place}线索 {code} 已于{closed}办结：{_clip(outcome, 60)}\n"
            f"请回访当事群众，回复“回访 {code} 满意/基本满意/不满意 回访情况”。")


def reopened_for_lead(code: str, note: str, due: str | None) -> str:
    return (f"⚠️{code} 回访不满意，已重新办理：{_clip(note, 60)}\n"
            + (f"须在{due}前办结，" if due else "") + f"办好后回复“办结 {code} 结果”。")


def reopened_for_reporter(code: str, due: str | None) -> str:
    return f"您上报的 {code} 回访群众不满意，已重新办理" + (f"，须在{due}前办结" if due else "") + "。"

# -- unified wording (统一口径) ---------------------------------------------------------------
LOOKUP_WORD, ACK_WORD, WORDING_LIST_WORD = "口径", "收到", "口径列表"
ALL_WORDS = ("全部", "全乡", "全镇", "全县")  # the whole area of the drafter
HELP_LINE.update({
    "回访": "· 回访 编号 满意/基本满意/不满意 情况：记录回访",
    "拟口径": "· 拟口径 [线索编号] [标题]：起草统一口径；修订口径 编号：出新版",
    "审核口径": "· 审核口径 编号：查看待批口径；批准口径 编号：批准",
    "发布口径": "· 发布口径 编号：发布已批准的口径",
    "口径列表": "· 口径列表：各口径状态和收到情况",
})


def help_text(lines: list[str]) -> str:
    return "\n".join([HELP_HEAD, *lines])


HELP = help_text([HELP_LINE[w] for w in EVERYONE])


WORDING_STATUS = {"draft": "草稿", "approved": "已批准", "published": "已发布", "superseded": "已作废"}
WORDING_SECTIONS = ("一、基本情况", "二、已采取措施", "三、下一步工作", "四、联系方式")
# The draft form, in order: facts first, causes only once verified, no early verdict (速报事实、慎报原因、谨慎定性).
WORDING_QUESTIONS = (
    "请写查明的基本情况：时间、地点、经过。只写已核实的事实，原因未查清的不写，不下结论。",
    "已采取了哪些措施？",
    "下一步怎么做？",
    "对外联系人和电话？",
    "发给哪里？回复“全部”或村名（多个用、隔开）；可加角色，默认发网格员、村两委、村书记、包村领导。",
)
WORDING_CANCEL_HINT = "（回复“取消”放弃）"
WORDING_CONFIRM_PROMPT = "回复“确认”保存并送领导审批，“修改”重写，“取消”放弃"
WORDING_SAVED = "口径草稿已保存：第{number}号·第{version}版。请分管领导或主要领导回复“批准口径 {number}”批准。"
WORDING_CANCELLED = "已放弃本次拟口径。"
WORDING_TEXT_ONLY = "拟口径请发文字。"
WORDING_TOO_LONG = "太长了：口径正文最多{limit}字，这一项最多还能写{left}字，请精简后重发。"
WORDING_INTAKE_BUSY = "您有未提交的上报，请先回复“确认”或“取消”。"
RESUMED_WORDING = "接着您未完成的拟口径："
WORDING_USAGE = "用法：口径（现行口径）、口径 编号、口径 XS-20260101-0001（线索的口径）"
WORDING_NUMBER_USAGE = "请带上口径编号，例如：{action} 3"
WORDING_ONLY = {
    "拟口径": "只有办公室人员可以拟口径。",
    "修订口径": "只有办公室人员可以修订口径。",
    "审核口径": "只有分管领导或主要领导可以审核口径。",
    "批准口径": "只有分管领导或主要领导可以批准口径。",
    "发布口径": "只有办公室或新闻发言人可以发布口径。",
    "提醒口径": "只有办公室或新闻发言人可以提醒未确认的人。",
    "口径列表": "只有办公室、领导和新闻发言人可以查看口径列表。",
}
WORDING_OUTSIDE = "{name}无权处理发往该范围的口径。"
WORDING_NOT_NOW = "口径第{number}号·第{version}版当前{status}，不能{action}。"
WORDING_NOTHING_TO_REMIND = "口径第{number}号还没有发布，没有要提醒的人。发布后再提醒。"
WORDING_REMINDED_RECENTLY = "没有要提醒的人：未回复的人都已收到提醒（{minutes}分钟内不重复提醒），或都已回复“收到”。"
NO_SUCH_WORDING = "没有找到口径 {what}，或您无权查看。"
NO_WORDING_IN_FORCE = "您所在地区暂无统一口径。"
WORDING_TITLE_BAD = "标题须为1至{limit}字。"
WORDING_BODY_BAD = "正文须为1至{limit}字（一条消息要发得下）。"
WORDING_NO_UNITS = "请至少写一个发送单位（村名、乡镇名，或“全部”）。"
WORDING_UNKNOWN_UNITS = "没有找到这些单位：{names}"
WORDING_AMBIGUOUS_UNIT = "有不止一个“{name}”，请写得更具体（管理接口可用单位编号）。"
WORDING_UNKNOWN_ROLES = "不是有效角色：{names}。应为：" + "、".join(ROLES)
WORDING_APPROVED = "已批准口径第{number}号·第{version}版。"
WORDING_PUBLISHED = "已发布口径第{number}号·第{version}版：发给{people}人、{chats}个群。2小时后提醒未回复“收到”的人。"
WORDING_ACKNOWLEDGED = "已确认收到统一口径第{number}号·第{version}版。"
NO_PENDING_WORDING = "您没有待确认的口径。"
WORDING_LIST_EMPTY = "暂无口径。"
WORDING_APPROVE_HINT = "回复“批准口径 {number}”批准。"


def wording_body(facts: str, measures: str, next_steps: str, contact: str) -> str:
    return "\n".join(f"{head}：{text}" for head, text in zip(WORDING_SECTIONS, (facts, measures, next_steps, contact)))


def wording_question(step: int, total: int) -> str:
    return f"【拟口径 {step + 1}/{total}】{WORDING_QUESTIONS[step]}{WORDING_CANCEL_HINT}"


def wording_summary(title: str, body: str, audience: str) -> str:
    return f"请核对口径草稿：\n《{title}》\n{body}\n发给：{audience}\n{WORDING_CONFIRM_PROMPT}"


def audience_line(units: list[str], roles: list[str]) -> str:
    return f"{'、'.join(units)}的{'、'.join(roles)}"


def wording_head(number: int, version: int) -> str:
    return f"【统一口径】第{number}号·第{version}版"


def wording_push(number: int, version: int, title: str, body: str, replaced: int | None, ask: bool) -> str:
    """The published wording as people and group chats get it; `ask`: ask for 收到 (people, not chats)."""
    lines = [wording_head(number, version), f"《{title}》", body]
    if replaced:
        lines.append(f"本版替代第{replaced}版，第{replaced}版作废。")
    lines.append("对外一律以此为准，不得自行解读。" + ("请回复“收到”确认。" if ask else ""))
    return "\n".join(lines)


def wording_superseded(number: int, old: int, new: int, title: str) -> str:
    return f"【口径作废】第{number}号·第{old}版《{title}》已作废，以第{new}版为准，请勿再使用。"


def wording_reminder(number: int, version: int, title: str) -> str:
    return f"⏰请确认：统一口径第{number}号·第{version}版《{title}》您还未回复。阅后请回复“收到”。"


def wording_for_approval(number: int, version: int, title: str, who: str) -> str:
    return (f"【待批口径】第{number}号·第{version}版《{title}》，{who}起草。\n"
            f"回复“审核口径 {number}”查看，“批准口径 {number}”批准。")


def wording_for_publishing(number: int, version: int, title: str, who: str) -> str:
    return f"口径第{number}号·第{version}版《{title}》已由{who}批准。回复“发布口径 {number}”发布。"


def wording_view(number: int, version: int, title: str, body: str, status: str,
                 others: list[tuple[int, str]]) -> str:
    head = wording_head(number, version) + ("" if status == "published" else f"（{WORDING_STATUS[status]}）")
    lines = [head, f"《{title}》", body]
    if others:
        lines.append("另有：" + "；".join(f"第{n}号《{t}》" for n, t in others) + "。发“口径 编号”查看。")
    return "\n".join(lines)


def wording_list(rows: list[tuple[int, int, str, str, int, int]]) -> str:
    """rows: number, version, status, title, acknowledged, recipients."""
    lines = [f"第{n}号·第{v}版 {WORDING_STATUS[status]}《{_clip(title, 16)}》" + (f" 收到{a}/{t}" if t else "")
             for n, v, status, title, a, t in rows]
    return "口径列表：\n" + "\n".join(lines)


# == the office console (app/console): page titles and messages as (title, message) ==========

CONSOLE_TITLE = "网格舆情工作台"

# -- sign-in ---------------------------------------------------------------------------------
CONSOLE_OFF = ("工作台未开启", "服务器没有设置 GRIDLINE_SECRET_KEY 和企业微信应用（GRIDLINE_WORK_CORP_ID 等）。请联系系统管理员。")
CONSOLE_STATE_BAD = ("登录链接已失效", "登录链接只能用一次，且10分钟内有效。请重新登录。")
CONSOLE_CANCELLED = ("已取消登录", "您没有确认登录。需要时请重新登录。")
CONSOLE_WECOM_DOWN = ("暂时连不上企业微信", "请稍后重新登录。多次失败请联系系统管理员。")
CONSOLE_CODE_BAD = ("登录未成功", "企业微信的登录码无效或已过期（5分钟内有效，只能用一次）。请重新登录。")
CONSOLE_WECOM_REFUSED = ("登录未成功", "企业微信拒绝了登录（错误码 {errcode}）。请重新登录，仍不行请联系系统管理员。")
CONSOLE_NOT_MEMBER = ("登录未成功", "您不是本单位企业微信的成员。请用单位的企业微信账号登录。")
CONSOLE_NOT_IN_ROSTER = ("您不在花名册中", "企业微信账号“{userid}”没有登记在网格人员花名册里。请联系乡镇办公室核对花名册。")
CONSOLE_NO_CONSOLE_ROLE = ("工作台仅供乡镇干部使用", "{name}，工作台供办公室、分管领导、主要领导、新闻发言人、部门联络员、包村领导和县级人员使用。"
                   "您可以继续在企业微信或公众号里上报、查看和办理线索（发送“帮助”查看命令）。")
CONSOLE_SIGNED_OUT = ("已退出", "您已退出工作台。")
CONSOLE_CSRF_BAD = ("页面已过期", "为了安全，这个操作没有执行。请刷新页面后再试。")
CONSOLE_NOT_FOUND = ("没有找到", "没有这个页面，或您无权查看。")
CONSOLE_CASE_NOT_FOUND = ("没有找到线索", "没有线索 {code}，或您无权查看。")
CONSOLE_WORDING_NOT_FOUND = ("没有找到口径", "没有第{number}号口径，或您无权查看。")
CONSOLE_DESK_ONLY = ("仅限办公室和领导", "台账、统计和投递记录由乡镇办公室和领导查看。需要时请联系办公室。")
CONSOLE_INPUT_BAD = ("填写有误", "{reason}")
CONSOLE_UNTYPABLE = ("填写有误", "内容含有无法识别的字符，没有执行。请重新填写。")
CONSOLE_MALFORMED = "这个请求缺了必填的内容或格式不对，没有执行。请返回页面重新填写。"

# -- inbox -------------------------------------------------------------------------------------
CONSOLE_TABS = {"dispatch": "待分派", "mine": "我的", "overdue": "逾期", "supervised": "督办", "all": "全部"}
CONSOLE_NO_CASES = "没有符合条件的线索。"
CONSOLE_SHOWN_FIRST = "只显示最新的{n}件，请用筛选缩小范围。"
CONSOLE_OVERDUE_BY = "逾期{left}"
CONSOLE_LEFT = "剩{left}"
CONSOLE_NO_DEADLINE = "—"
CONSOLE_BULK_DONE = "已督办{n}件。"
CONSOLE_BULK_NONE = "请先勾选要督办的线索。"
CONSOLE_BULK_REFUSED = "{code}：{reason}"

# -- case page -----------------------------------------------------------------------------------
CONSOLE_SYSTEM = "系统"
CONSOLE_DONE = {
    "签收": "已签收。", "反馈": "已记录进展。", "约见": "已记录约见/联系。", "办结": "已办结。", "督办": "已列为督办，已通知办理人。",
    "改判": "已改判，已按新的分类重新分派并通知相关人员。", "回访": "已记录回访。",
}
CONSOLE_PICK_BAD = "{field}只能从列表中选，没有“{value}”。请重新选择后再改判。"
CONSOLE_CHAT_OF = "{unit}群"
CONSOLE_REASON_NEEDED = "请写上改判原因。"
CONSOLE_NOTHING_CHANGED = "没有改动：请至少改一项。"
CONSOLE_OUTBOX_STATUS = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "dead": "发送失败", "cancelled": "已撤回（回避）"}
CONSOLE_CHANNEL = {"work": "企业微信", "mp": "公众号", "robot": "群机器人", "appchat": "应用群聊"}

# -- wordings --------------------------------------------------------------------------------------
CONSOLE_WORDING_DONE = {"draft": "口径草稿已保存，已送领导审批。", "approve": "已批准。已通知办公室发布。",
                "publish": "已发布：{people}人，{chats}个群。", "remind": "已提醒{n}人。{minutes}分钟内不再重复提醒。"}
CONSOLE_WORDING_NO_AUDIENCE = "请至少选一个发送范围。"

CONSOLE_UNKNOWN_ACTION = "没有“{action}”这项操作，请用本页列出的按钮办理。"
CONSOLE_RECLASSIFY_NOT_YOURS = "{code} 的改判由乡镇办公室办理。您如认为分错了，可在本页“反馈”写明理由。"

# -- delivery ------------------------------------------------------------------------------------
CONSOLE_RETRIED = "已重新排队发送，几秒后再看。"
CONSOLE_NO_DEAD = "没有发送失败的消息。"

# -- demo ---------------------------------------------------------------------------------------
CONSOLE_CLOCK_MOVED = "演示时钟已拨快{what}，现在是{now}。到期的提醒和升级会在几秒内发出。"
CONSOLE_CLOCK_STEPS = {"1h": ("1小时", 1), "1d": ("1天", 24)}

# Page chrome: the menu, buttons and page headings (title, the note under it).
CONSOLE_NAV = (("/console", "线索"), ("/console/wordings", "口径"))
CONSOLE_DESK_NAV = (("/console/ledger", "台账"), ("/console/figures", "统计"), ("/console/delivery", "投递"),
                    ("/console/settings", "设置"))
CONSOLE_UI = {"logout": "退出", "demo_clock": "演示时钟：", "forward": "拨快{step}", "back": "返回",
              "sign_in_again": "重新登录", "resend": "重新发送", "download": "下载台账",
              "skip_bad_rows": "只导入无误的行（有错误的行跳过）", "check": "检查（不导入）", "apply": "导入",
              "working": "正在上传和检查，请稍候…", "roster_file": "花名册文件", "date_from": "从", "date_to": "到",
              "unit": "乡镇或村", "unit_example": "例如 柳河镇 或 柳河镇/东湾村"}
CONSOLE_SETTINGS = {
    "calendar_link": "节假日", "calendar": "节假日与调休（{year}年）",
    "coverage": "内置国家法定日历覆盖 {first}–{last} 年；办公室填写的日子优先。", "unknown": "{year}年的节假日还没人填写。",
    "office_days": "办公室填写的", "day_headers": ("日期", "类型", "名称"), "day": "{day} 周{weekday}",
    "no_office_days": "这一年办公室没有填写。", "day_example": "例如 春节", "save_day": "保存这一天",
    "package": "内置法定日历（{n}天）", "period_headers": ("名称", "起止", "系数", "范围"), "county_wide": "全县（县里设定）", "running": "（进行中）",
    "span": "{start} 至 {end}", "no_periods": "没有设置敏感时期。", "period_example": "例如 全国两会",
    "starts": "开始", "ends": "结束", "factor": "时限系数", "add_period": "添加敏感时期", "who": "姓名或手机号",
    "remove": "删除",
}
CONSOLE_TAGS = {"urgent": "紧急", "supervised": "督办", "online": "网上", "cadre": "涉及村干部", "sensitive": "敏感时期"}
CONSOLE_CASE = {
    "category": "类别", "lead": "牵头", "place": "地点", "reporter": "上报人", "platform": "平台/网名", "link": "链接",
    "members": "办理人", "deadlines": "时限", "met": "已完成", "missed": "已逾期", "actions": "办理",
    "followup_note": "回访情况", "followup": "记录回访", "reclassify": "改判 / 重新分派", "unchanged": "（不改）",
    "why": "为什么改判", "reclassify_button": "改判并重新分派", "no_wording": "暂无已发布的口径。",
    "draft_wording": "为此线索拟口径", "timeline": "经过", "told": "通知了谁",
    "told_headers": ("时间", "发给", "渠道", "内容", "状态"), "satisfaction": "满意度", "reason": "原因",
}
# The case page's action buttons, by the actions' own names: one click, or with a note (hint, required).
CONSOLE_ONE_CLICK = ("签收", "约见")
CONSOLE_WITH_NOTE = {"反馈": ("进展", True), "督办": ("督办意见（可不填）", False), "办结": ("办理结果", True)}
CONSOLE_WORDING = {
    "head": "第{number}号·第{version}版《{title}》", "case": "线索：", "audience": "发给：{units}；{roles}",
    "approve": "批准", "publish": "发布", "remind": "提醒未确认", "receipts": "收到 {acked}/{total}",
    "acked": "{at} 收到", "unreachable": "联系不上", "pending": "未回复", "reminded": "（已提醒）",
    "new": "拟新口径", "managed": "我经手的", "in_force": "现行口径", "draft_title": "拟口径",
    "draft_note": "速报事实、慎报原因、谨慎定性、统一口径。保存后送分管领导或主要领导审批。",
    "title_label": "标题（{n}字以内）", "where": "发给哪里", "who": "发给哪些人", "body_limit": "正文合计不超过{n}字。",
    "save": "保存并送审",
}
CONSOLE_INBOX = {"search": "编号或关键词", "any_village": "全部村", "any_category": "全部类别", "status": "状态",
                 "any_status": "全部状态", "filter": "筛选", "pick": "选中 {code}", "note": "督办意见（可不填）",
                 "bulk": "督办选中的线索"}
CONSOLE_FIGURES = {
    "title": "统计", "trend": "近八周：新增与办结", "filed_bar": "{week}起 新增{n}", "closed_bar": "{week}起 办结{n}",
    "filed": "新增", "closed": "办结（每周一起算）", "units": "分单位统计", "accountability": "问责追责：时限完成情况",
    "count": "统计", "range": "{start} 至 {end}：到期时限{deadlines}个，按时{met}个，逾期{missed}个。",
    "rate": "按时率{rate}%。", "per_unit": "分单位", "per_person": "分人员",
}
CONSOLE_PAGES = {
    "delivery": ("发送失败的消息", "重试多次仍未送达的消息。核对花名册或群设置后可重新发送。"),
    "ledger": ("台账导出", "导出您有权查看的线索（Excel）。不填则导出全部。"),
    "wordings": ("统一口径", "暂无口径。"),
    "settings": ("设置", ""),
    "roster": ("花名册导入", "CSV（UTF-8 或 GBK）或 XLSX，表头：县 乡镇 村 网格 姓名 手机号 角色 部门 包联村 企业微信账号。"
                           "先“检查”，确认无误后再“导入”。"),
    "periods": ("敏感时期", "敏感时期内新开始的时限按系数缩短（0.5 即减半），新线索同时报办公室。"),
    "signout": ("全部退出", "手机丢失、在公用电脑上忘了退出时：让这个人在所有设备上退出工作台，再用须重新扫码登录。"),
}
CONSOLE_DEAD_HEADERS = ("时间", "发给", "渠道", "内容", "原因")
CONSOLE_ROSTER_ERROR_HEADERS = ("行", "列", "原因")
CONSOLE_ROSTER_SCOPE = "只导入{township}的人员：文件里没有的本乡镇人员将被停用（不删除）。"
CONSOLE_ROSTER_COUNTY = "文件即全县花名册：文件里没有的人员将被停用（不删除）。"
CONSOLE_YEAR_UNKNOWN = "{year}年的节假日还没人填写，请按国务院通知录入，否则只按周一至周五计算时限。"
