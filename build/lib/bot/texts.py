"""Every sentence a chat user reads. Short, Chinese, fits a phone screen."""

HELP = (
    "您好，这里是网格舆情线索上报。\n"
    "发送“上报”或直接发来情况（文字、链接、图片、语音、位置），即可上报线索。\n"
    "发送“帮助”查看全部指令。"
)
WELCOME = "欢迎关注！网格员请发送“绑定 邀请码”完成绑定，邀请码向乡镇办公室索取。\n" + HELP
UNSUPPORTED = "暂不支持这类消息，请发文字、图片、语音、链接或位置。"
SORRY = "系统繁忙，请稍后再发一次。"
