"""The cadre detector on its own (handlers/classify/cadre.py): mentions, roles, kinds of sign, the verdict.

Sentences written for this test; no database.
"""

import pytest

from handlers.classify.cadre import ASK, NO, YES
from handlers.classify import DEFAULT_RULES, Classifier, RulesError

COMMITTEE = {"柳湾村": ["褚长福", "邝玉珍"], "桃园村": ["欧阳启明"]}


@pytest.fixture(scope="module")
def cadre():
    return Classifier.load().cadre


def test_the_roster_names_as_people_write_them(cadre):
    forms = set(cadre.name_forms(["褚长福", "欧阳启明"]))
    assert {"褚长福", "长福", "老褚", "褚书记", "褚会计", "褚大姐"} <= forms
    assert {"欧阳启明", "老欧阳", "欧阳书记", "启明"} <= forms and "老欧" not in forms


@pytest.mark.parametrize("text, verdict", [
    # (1) a harmless part in one sentence never clears wrongdoing in another message
    ("褚书记帮忙调解了两家的地界纠纷\n后来他把危房改造的名单改了 加了两户", ASK),
    ("褚书记帮忙调解了两家的地界纠纷\n第二天村口有人骂人 说要报复", ASK),
    ("邝会计帮忙调解了两家的地界纠纷\n她说救灾的钱先不发", ASK),
    ("邝会计帮忙调解了两家的地界纠纷\n大家都很感激", NO),
    # (2) wrongdoing about collective things, no cadre form recognised: ask, unless clearly outside
    ("集体那片竹林上个月被人偷偷砍光了 一根都没剩", ASK),
    ("涛哥把村里修桥的钢筋拉回自己院子了", ASK),
    ("老吴外号叫吴大炮 他把公益岗的名额私下给了他表弟", ASK),
    ("gzm把村里的抽水泵私自借给外村了 租金装进了自己口袋", ASK),
    ("远达建材公司承包的村道工程偷工减料 路面开裂", NO),
    ("庞场长把集体林场的木头卖了 钱谁也说不清", YES),  # a head's title read as a mention
    # (3) the committee as a group with a sign of wrongdoing: the accused
    ("村两委班子开会把扶贫项目的分红全定给了自己人", YES),
    ("几个村干把老学校的桌椅拉走了 也没个说法", YES),
    ("先讲明白 跟村两委没有关系 是镇上的收费员多收了钱", NO),
])
def test_closed_by_structure(cadre, text, verdict):
    """Round six: no new words for seen sentences, three structural rules (cadre.py `judge`)."""
    assert cadre.judge(text, COMMITTEE).verdict == verdict, cadre.judge(text, COMMITTEE).reason


@pytest.mark.parametrize("text, verdict", [
    # named as the roster knows them, by title, colloquially, mistyped
    ("老褚把村里的鱼塘低价包给了他外甥", YES),
    ("欧阳书记家新盖的院墙用的是修路剩下的砖 拉了好几车进他院子", YES),
    ("管账的那个说补贴还没拨下来 可别的村早发了 钱八成是被他扣着", YES),
    ("村里会记收了大伙的合作医疗钱 到现在没交上去", YES),
    ("当家的放话了 谁不签字以后啥补助都别想", YES),
    # the cadre helps, mediates, is the victim, is another unit's, is a place
    ("褚书记连夜带着人去抢修冲坏的水渠", NO),
    ("两家为地界吵了一上午 邝玉珍在中间说和 总算各退一步", NO),
    ("有人半夜把村主任家的玉米偷走了一车", NO),
    ("乡卫生院的会计说报销单据下个月才能批", NO),
    ("几个年轻人在村委会门口喝酒打架 砸了两辆摩托", NO),
    ("这事跟村干部没关系 是外地收购商压价", NO),
    # a mention with one kind of sign: ask
    ("村主任说低保名单下周开会定", ASK),
    ("今年的低保名单是村主任一个人报上去的", ASK),
    # an announcement to everyone is a harmless part, unless it is about the money or lists the cadre handles
    ("村主任说明天上午统一收秸秆 让大家别在地里烧", NO),
    # a title typed with one wrong character: a homophone or a rare character (a general rule, no list)
    ("书纪说今年的耕地补贴不发了", YES),
    ("会汲那儿的账本谁都看不着 也没个说法", YES),
    ("村里主仼家的鸭子跑到我们田里", ASK),
    ("我看这本书籍挺好 想捐给村里的图书室", NO),
    ("主人家的狗咬了人 打了狂犬疫苗", NO),
    # the leadership as a group, the given name with a kinship word
    ("村里上头那几个把扶贫鸡都分了", YES),
    ("班子里的人年年出去旅游 钱从哪来的", YES),
    ("玉珍姐把合作医疗的名额给了她娘家妹妹", YES),
    # fails closed: a cadre named with no harmless part and no sign is asked about, never passed
    ("老褚说这事他管不了 让我们自己想办法", ASK),
    ("柳湾村那边当官的跟砂石老板穿一条裤子", ASK),
    # a helper whose own clause goes on to wrongdoing is no helper
    ("褚会计说帮大家登记 每户得先交两百才给办", YES),
    ("跟邝玉珍说了好几遍路口电线耷拉着 她压根没来看过 昨天电死了一头牛", YES),
    # a helper or bystander whose clause tells of favours to their own, retaliation, threats, a levy
    ("邝玉珍帮她外甥办了低保 人家在城里开店", YES),
    ("褚书记看到我们去镇上反映 回来就把我家的补贴停了", YES),
    ("老褚在喇叭里喊 谁家不交三百块清运费就停水", YES),
    ("褚会计让我报一下水渠的事 其实水渠是他连襟包的 偷工减料", YES),
    ("村主任出面处理两家的地界 收了一家两条烟就判给了他家", YES),
    ("邝玉珍在群里说 谁再去乡里告状就别想领补贴", YES),
    # the same name again takes the earlier role only while its own clause stays clean
    ("褚书记帮我们修过水渠。后来褚书记把修渠剩的钱装进了自己腰包", YES),
    # harmless parts: witness, relaying the township's word, asking the reporter to pass it on,
    # the place, impersonated, owed money, leading a clean-up, a protective measure
    ("卞主任看到有人往河里倒垃圾 拍了照片", NO),
    ("褚书记说镇里通知下礼拜停电检修", NO),
    ("邝玉珍托我报一下 后山的电线被风刮断了", NO),
    ("欧阳启明家门口的石桥塌了半边", NO),
    ("有人冒充褚书记加老人微信 说要交医保", NO),
    ("骗子打着村支书的旗号挨家收一百块办证费", NO),
    ("邻村有人借了邝玉珍家两万块一直不还", NO),
    ("邝玉珍带着妇女们把村道扫干净了", NO),
    ("邝玉珍今天在文化室给老人们量血压", NO),
    ("褚书记家的小孙子放学路上走丢了 大家帮着找", NO),
    ("村主任帮五保户修屋顶 材料钱报了两万 实际花了不到五千", YES),
    ("村两委连夜在塌方的路口放了警示牌", NO),
    ("白水乡柳湾村村委会\n这里的井水发黄好几天了", NO),
    ("邝会计说这个月的医保缴费截止到25号 让大家别忘了", ASK),
    ("两家在群里吵翻了\n【邝玉珍 20:11】都少说两句 明天我来给你们调解", NO),
    # a grievance about money the village handles, nobody named: ask; merely late: no
    ("修路补偿款发到手只有一半 说是扣了管理费", ASK),
    ("去年村里的收支账从来没公开过", ASK),
    ("今年的粮食补贴还没到 啥时候发", NO),
])
def test_verdicts(cadre, text, verdict):
    assert cadre.judge(text, COMMITTEE).verdict == verdict, cadre.judge(text, COMMITTEE).reason


@pytest.mark.parametrize("text, verdict", [
    # a roster name or surname+title in sound-alike characters, even a real word (主人 for 主任)
    ("褚主人把扶贫款借给了他开饭店的小舅子", YES),
    ("邝玉真把合作医疗的钱收了一直没交", YES),
    # …but not without one character as the roster has it, nor a real word after no roster name
    ("况遇真说明天开会", NO),
    ("老板说主人不在家 狗一直叫", NO),
    # a denial inside a rhetorical question denies nothing
    ("村里的工程哪一个不是村干部自己人包的？", YES),
    # 救 inside 救灾 is no rescue
    ("褚会计把救灾发的大米扛了十几袋到他院里 一直没分", YES),
    # 他/她 casts the person mentioned before: harmless only while that person's own clause is clean,
    # accusing whatever came before, never through a possessive (他外甥帮着…)
    ("邝玉珍今天一早去河堤转了一圈，她发现有人往河里倒废油，拍了照片让我报", NO),
    ("邝玉珍出面调解了两家的纠纷。调完她私下收了一家两条烟", YES),
    ("褚会计让人代领了好几户的补贴，钱都是他外甥帮着取的", YES),
    ("老褚，把人家征地的钱扣着不给，还说人家欠了他的", YES),
    ("邝玉珍被人推了一把，后来她把那家的补偿款扣着不发", YES),
    ("邝玉珍把她婆家的三户报上去评了贫困户", YES),
    ("村委那几个人说钱要统筹，大家都说钱被他们分了", YES),
    # harmless parts said in everyday words: robbed, attacked online, a scam's target, a rescue over
    # commas, asking help for their village, relaying a notice; one person under two forms
    ("邝玉珍从镇上回来，在半路上被人抢了手机", NO),
    ("有人在网上对邝玉珍搞人身攻击，还把她的电话号码挂出来了", NO),
    ("褚会计昨天接到一个电话，对方自称是县财政局的，让他把村里账户的验证码报过去", NO),
    ("山上起了火，两委的人都去了，跟消防队一起扑到天亮", NO),
    ("邝玉珍来我们村借发电机，说她们那边停电三天了", NO),
    ("褚书记在党员会上传达了县纪委的一份通报，说的是外省的案子", NO),
    ("褚书记把修路的钱挪了，已经有人告到纪委了", YES),
    ("褚长福被邻村的人打伤了腿。褚会计说不追究了", NO),
])
def test_everyday_forms_and_parts(cadre, text, verdict):
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict == verdict, found.reason


def test_a_sound_alike_name_is_the_roster_persons_and_names_the_village(cadre):
    found = cadre.judge("欧阳起明把村里的山林偷偷包给了他表弟", COMMITTEE)  # 起 for 启
    assert found.verdict == YES and found.mentions == ("欧阳起明",) and found.villages == ("桃园村",)


def test_a_cadre_of_a_village_the_text_does_not_name_is_found_by_full_name(cadre):
    own, others = {"柳湾村": ["褚长福"]}, {"桃园村": ["欧阳启明", "邝玉珍"]}
    found = cadre.judge("邝玉珍把集体的鱼塘低价包给了她娘家兄弟", own, others)
    assert found.verdict == YES and found.villages == ("桃园村",)
    assert cadre.judge("邝玉真把集体的鱼塘包给了她娘家兄弟", own, others).villages == ("桃园村",)  # sounding alike
    # …but not by the short forms, which fit too many villagers of another village
    assert cadre.judge("老邝家的牛跑到我们地里了 啃了一片麦苗", own, others).verdict == NO


def test_a_title_belongs_to_the_village_written_before_it(cadre):
    """A grid worker of one village accusing another's cadre: the case is about that village."""
    own, others = {"柳湾村": ["褚长福"]}, {"桃园村": ["欧阳启明"]}
    found = cadre.judge("我们柳湾好几个人在桃园村帮工，桃园村出纳一直压着工钱不发", own, others)
    assert found.involves and found.villages == ("桃园村",)
    found = cadre.judge("柳湾这边有人听桃园的亲戚讲，他们村出纳把好几户的存折收走了", own, others)
    assert found.involves and found.villages == ("桃园村",)
    found = cadre.judge("桃园的路修好了，我们村出纳把修路的钱扣下一半", own, others)
    assert found.involves and found.villages == ()  # the reporter's own village comes between: not bound
    assert cadre.judge("村出纳把修路的钱扣下一半", own, others).villages == ()


@pytest.mark.parametrize("text", [
    "柳湾的SJ把集体的鱼塘租给他小舅子了",  # Latin initials typed for a title, any case
    "我们村kj把大家的医保钱收了没交",
    "福子放话说谁不签字就别想领补助",  # the given name's last character + 子: 褚长福
    "长福书记把救济粮拉回自己家了",  # given name + title
])
def test_forms_typed_on_a_phone(cadre, text):
    assert cadre.judge(text, COMMITTEE).verdict == YES, cadre.judge(text, COMMITTEE).reason


@pytest.mark.parametrize("text", [
    "我的sjz手机号换了，新号码发群里了",  # initials inside a longer Latin word are no title
    "院子里的水管冻裂了 家里孩子没水喝",  # 子 words that are everyday words, not nicknames
])
def test_phone_forms_have_guards(cadre, text):
    assert cadre.judge(text, {"柳湾村": ["褚长院", "邝孩"]}).verdict == NO


def test_a_harmless_part_never_clears_wrongdoing_in_the_same_sentence(cadre):
    """A cast wider than the mention's own part (a victim pattern reaching over someone else's clause)
    must not clear what the sentence says was done: ask, never no."""
    found = cadre.judge("褚会计前天叫了一帮人去二组拆羊圈，老汉上前拦着被推倒在地，腿摔断了", COMMITTEE)
    assert found.verdict != NO, found.reason


def test_the_verdict_names_the_accused_village(cadre):
    found = cadre.judge("桃园村那个欧阳启明把集体的山林偷偷卖给了老板", COMMITTEE)
    assert found.verdict == YES and found.villages == ("桃园村",) and found.involves
    assert cadre.judge("路灯坏了好几盏", COMMITTEE).involves is False


def test_unsure_counts_as_involved_until_someone_says_no():
    clf = Classifier.load()
    text = "村主任说低保名单下周开会定"
    # involved until someone says no — though only an accusation makes it 违规违纪: a doubt keeps the text's category
    assert clf.classify(text).involves_cadre and clf.classify(text).category == "涉贫政策"
    assert clf.classify(text, involves_cadre=True).category == "违规违纪"
    said_no = clf.classify(text, involves_cadre=False)
    assert not said_no.involves_cadre and said_no.category == "涉贫政策"


def test_a_grievance_with_nobody_named_is_asked_about_in_its_own_words():
    clf = Classifier.load()
    labels = clf.classify("低保名单都是内定的 真困难的评不上")
    assert labels.cadre_verdict == ASK and labels.involves_cadre and not labels.cadre_mentions


DEFAULT = DEFAULT_RULES.read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, message", [
    ("'{B}(门口|大门|", "'{B}{C}(门口|大门|", "must contain {C} (a cadre) or {B} (a body) exactly once"),
    ('excused = ["force"]', 'excused = ["fists"]', "excused names 'fists', which is not a kind of [cadre.signs]"),
    ("bodies = [", "bodys = [", "[cadre] has unknown key(s) bodys"),
    ('slips = ["书记"', 'slips = ["书"', "slips: '书' is too short"),
    ("grievances = [\n  '(补贴", "grievances = [\n  '((补贴", "[cadre] grievances item 1: bad regular expression"),
    ("scope_ends = ['", "scope_ends = ['(", "[cadre] scope_ends item 1: bad regular expression"),
    ('unhelpful = ["opacity"', 'unhelpful = ["secrets"', "unhelpful names 'secrets', which is not a kind"),
    ("impersonated = [\n  '(冒充", "impersonated = [\n  '{C}(冒充", "must contain {C} (a cadre) or {B} (a body) exactly once"),
    ("pronoun = '(?<!", "pronoun = '((?<!", "[cadre] pronoun: bad regular expression"),
    ("rhetorical = [\"哪", "rhetorical = [\"(哪", "[cadre] rhetorical item 1: bad regular expression"),
])
def test_a_bad_cadre_table_is_refused_with_file_and_key(tmp_path, old, new, message):
    assert old in DEFAULT
    path = tmp_path / "rules.toml"
    path.write_text(DEFAULT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RulesError) as refused:
        Classifier.load(path)
    assert message in str(refused.value) and str(path) in str(refused.value)


@pytest.mark.parametrize("text", [
    "老汉腿摔坏了干不动农活 想问问能不能申请临时救助",  # 干不 + a complement is no slip of 干部
    "有人给县委书记写了公开信 说厂里排的污水把河弄臭了",  # a county's party secretary
    "镇上包我们村的那个干部收了养鸡户两千块 说帮忙办证",  # a township official
    "县农业局有个干部下乡检查时在农家乐吃吃喝喝",
    "褚书记让俺报一下 二组的路灯坏了半个月了",  # the reporter as 俺
    "褚书记说自来水这礼拜就修好 群里还有人在骂",  # an announcement for this week
    "我们组几个年轻人在手机上玩一个赌博app 有人输了好几万",  # an English word is no Latin initials
    "砖厂天天半夜放炮 老板还威胁去找他说理的人",  # the boss of the business named
    "有个自称民政局的人打电话 说交三百块就能评上低保",  # an impostor is outside
    "镇农机站的人把公家的旧拖拉机偷偷拉走卖了",  # a township office's people
    "护林员的工资两个月没发了 他说再不发就不干了",  # wages late: no wrongdoing by itself
])
def test_no_village_cadre_no_question(cadre, text):
    """Round seven: tip-offs that name no village cadre, or only an outsider, are not asked about (each
    of these was, for a reason of its own: a slip, a title of another body, a word read as a nickname)."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict == NO, found.reason


@pytest.mark.parametrize("text", [
    # a third party named at the head of the next clause is its actor, not the cadre who confronted it
    "褚书记去找过采石场的老板，老板不理，村民说要去堵路",
    "邝主任跟养猪场交涉了好几回，猪粪还是往河里排",
    # the cadre only as whose relative the text is about, in a text with no sign of wrongdoing
    "褚书记的外孙在河边玩水差点出事，大家说那段河得装护栏",
    # passing on word of someone else's doing
    "邝玉珍说有个外地人在挨家挨户收旧手机，让大家留个心眼",
    # at the scene, harmed, burgled, mocked with a doctored photo
    "两个组为水渠吵起来，褚书记和派出所的人都到现场了",
    "褚书记在路口被一辆三轮车蹭了，腿上破了皮",
    "邝会计家昨晚进了贼，丢了两部手机",
    "有人P了邝主任的照片发到群里取笑",
    # what a third party is said to have done, around a cadre cast harmless, is theirs
    "邝主任在工地上帮着维持秩序，有人说包工头偷工减料",
    # a given name alone before 了 is the everyday word (长福: 褚长福)
    "今年长福了，家家都添了新家具，邝主任说明天开会商量修路",
    # leads villagers to a third party, goes along, takes someone to hospital, asks the reporter to
    # survey; another voice (村民, 有几个) takes over the clause
    "褚书记带着村民去养殖场讨说法，场里答应月底前把粪池挪走，村民说再不管就去堵门",
    "邝主任和我一起去了老孙家，老孙说砖厂一直拖着不给工伤钱",
    "邝玉珍半夜开着自家的车送二组摔伤的老人到县医院",
    "褚书记让我们统计一下谁家的麦子受了冻",
    "邝主任组织大家去镇上体检，有几个说那家诊所额外收了一百块",
    # one person under two mentions has one part: the title takes the name's
    "老邝家的鸡被人偷了十几只，她是村会计也没办法，大家说是一伙外地人干的",
])
def test_who_does_what_keeps_a_harmless_cadre(cadre, text):
    """Round seven: the cadre helps, confronts a third party, passes word on, is harmed, or is named only
    as a relative's — kept with the village without a question."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict == NO, found.reason


@pytest.mark.parametrize("text", [
    "褚书记的小舅子承包了村里的水渠工程，修了一半就停了",  # a relative, with a sign: open
    "邝会计她儿子在村部做饭，一顿饭报两三千",
    "褚书记去找过砖厂老板，回来就把后山那块地低价签给他了",  # the clause goes on with the cadre acting
    "褚书记去找过砖厂老板，老板请他吃了饭，回来他就把后山那块地低价签给老板了",  # …after the third party's
    "邝主任说有人不交钱就别想领补贴",  # word passed on that is itself a threat
    "邝主任在工地上帮着维持秩序，包工头说好处费都给她了",  # the third party's clause names her
    "老邝，就是村会计，把救灾款扣下了一半",  # one person: the accusing part is both mentions'
    "褚书记的小舅子把人打伤了，自己送到了卫生院",  # the relative acted, not the cadre
])
def test_who_does_what_never_clears_the_cadre_acting(cadre, text):
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict != NO, found.reason


def test_slips_are_found_where_a_walk_of_every_window_finds_them():
    """_slipped looks only where a title's first or second character stands; a walk of every window (the
    plain definition: one character wrong, sounding alike or rare, not inside a real word) finds the same."""
    import random

    from handlers.classify.cadre import _rare, _sounds_alike

    cadre = Classifier.load(None).cadre

    def every_window(text: str) -> list[tuple[int, int]]:
        real = [m.span() for m in cadre._not_slips.finditer(text)] if cadre._not_slips else []
        found = []
        for title in cadre._slips:
            n = len(title)
            for i in range(len(text) - n + 1):
                wrong = [k for k in range(n) if text[i + k] != title[k]]
                if len(wrong) == 1 and not any(s < i + n and i < e for s, e in real) and (
                        _sounds_alike(text[i + wrong[0]], title[wrong[0]]) or _rare(text[i + wrong[0]])):
                    found.append((i, i + n))
        return found

    alphabet = "".join(sorted(set("".join(cadre._slips)))) + "纪记计技继籍人仼快村的了在是有河道垃圾王李刘"
    rng = random.Random(16)
    slips = 0
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        expected = every_window(text)
        assert cadre._slipped(text) == expected, text
        slips += len(expected)
    assert slips > 100  # the sample does hold slips


@pytest.mark.parametrize("text, verdict", [
    # what only power in the village can do, done wrong, by someone the roster cannot name
    ("大老黑把东坡那片杉树卖了，拉了五车走，钱去哪了谁也不晓得", ASK),
    ("老蔫儿选举前一家发两桶油，说到时候心里有数", ASK),
    ("黑蛋放话说谁要去县里告他，就叫人把谁家鱼塘给毒了", ASK),  # 县里: where people complain, not the actor
    ("五保户的存折在三愣子手里，钱他先截下来说年底统一发", ASK),
    # money, lists or force by an unrecognised name or a description, placed nowhere
    ("赵铁嘴把我妈的高龄补贴给领了，我妈都不知道", ASK),
    ("管水那个高个子的，报销的票据全是一家早倒闭的饭馆开的", ASK),
    ("刘春明又拿假发票报了五千块的修渠钱，渠一米没修", ASK),
    ("张秀云又收了人家两条烟，说不给就不让评贫困户，我们准备去镇上反映", ASK),
    ("桂枝婶说账本被水泡了找不到了，大伙要看修桥的开支她就这么讲", ASK),
    ("上个月大伙在表上签了字，说是发救灾的米面，到现在啥都没领到", ASK),
    # 的 as dialect writes it
    ("俺村管事嘞把集体的机井卖了，钱没人见着", YES),
    # placed outside, or harmless: stays no
    ("邻居家大个子把我家的羊扣了 要两千才还", NO),
    ("账本在乡经管站 乡里说下个月公开", NO),
    ("村里群里吵得厉害，我截下来给你们看看", NO),
    ("褚书记主持分地，大家都按了手印，没人有意见", NO),
])
def test_closed_by_power_and_unplaced_actors(cadre, text, verdict):
    """Round eight: the roster never knows every nickname; wrongdoing only power in the village can do,
    or with money, lists or force by someone unrecognised and not placed outside, is asked about."""
    assert cadre.judge(text, COMMITTEE).verdict == verdict, cadre.judge(text, COMMITTEE).reason


def test_a_committee_members_initials_are_a_name_form(cadre):
    """Round nine: pinyin initials typed for a name the reporter would rather not write (kyz of 邝玉珍),
    any case, as a whole Latin token — a mention like any other form, cast by its roles."""
    assert cadre.initials(["邝玉珍", "欧阳启明"]) == ["kyz", "oyqm"]
    found = cadre.judge("kyz这回又把低保名额给了她娘家人", COMMITTEE)
    assert found.verdict != NO and found.villages == ("柳湾村",), found.reason
    assert cadre.judge("KYZ带人连夜抢修冲坏的水渠", COMMITTEE).verdict == NO
    assert cadre.judge("下载了一个kyzx的软件", COMMITTEE).verdict == NO  # not a whole token


@pytest.mark.parametrize("text, verdict", [
    # innuendo, and public money followed at once by a purchase: wrongdoing implied, whoever is meant
    ("村里管事的那位新盖了三层楼，大伙心里都明白", YES),
    ("咱村一把手家门口新停了台越野车，修路款刚到他就提了车", YES),
    # a power-holder only as the place, nothing wrong said: no
    ("一把手家门口的路灯坏了好几天", NO),
])
def test_power_holder_references_fail_closed(cadre, text, verdict):
    assert cadre.judge(text, COMMITTEE).verdict == verdict, cadre.judge(text, COMMITTEE).reason


@pytest.mark.parametrize("text, verdict", [
    # a cadre telling of someone: the rest of the clause, and the clauses after it naming no actor, are theirs
    ("褚书记发现有人冒充乡里的人收养老保险费，交三千返五千，已经好几户交了", NO),
    ("褚书记跟我一块去了老孙家，老孙家说有人半夜偷了他家的羊", NO),
    # …not a condition the cadre sets, nor a story turned back on the cadre, nor a clause going on (就…)
    ("褚书记说有人不交卫生费就停他家低保", YES),
    ("褚书记说有人在收钱，其实就是他让收的", YES),
    ("邝主任发现有人反映低保不公，就把反映的人低保停了", ASK),
    # the passive as northern speech writes it — the harm ends the clause; a command does not
    ("邝会计让人骗了两千块，已经报了警", NO),
    ("邝会计叫人打了老王一顿", ASK),
    # a sign voided by a warning against it or a denial that the village did it — not when asked back
    ("邝会计提醒大家防止有人冒领养老金", NO),
    ("褚书记陪着查了，这钱不是村里扣的，是银行系统出错", NO),
    ("褚书记陪着查了，还不是村里扣了？", YES),
    # a harmless act, then a turn to a sign: the cast is lost, unless someone else opens the turn
    ("褚书记当众把账念了，可修路的三十万一笔没提", ASK),
    ("褚书记上门道歉了，可那家人还是不依不饶", NO),
])
def test_who_does_what_to_whom(cadre, text, verdict):
    """Round nine: clause roles — who tells, who acts, who suffers — rather than the sets' words."""
    assert cadre.judge(text, COMMITTEE).verdict == verdict, cadre.judge(text, COMMITTEE).reason


def test_an_ordinary_person_clears_only_as_the_actor(cadre):
    """An ordinary person named as an owner (村民的存折) does not clear what only power can do; the actor of
    the act's sentence does. And a dialect's 的 after a verb (干嘞) is no slip of 干部."""
    assert cadre.judge("村民的存折在老黑手里，钱他先截下来说年底再发", COMMITTEE).verdict == ASK
    assert cadre.judge("邻居家大个子把我家的羊扣了 要两千才还", COMMITTEE).verdict == NO
    assert cadre.judge("估计是一伙外地人干嘞，晚上得有人巡逻", COMMITTEE).verdict == NO


@pytest.mark.parametrize("text", [
    "褚书记跟我一块去核低保，回来就把他小舅子报上去了",
    "褚书记当众把账念了一遍，可修路的三十万一笔都没念",
    "村长陪县里的人看了地，转头就把地低价包给他侄子了",
    "村主任让大伙别吵，说谁再闹就把谁家补贴扣了",
    "邝会计说防止有人冒领，把全村的存折都收到她家了",
    "褚书记发现有人偷砍集体的树，卖树的钱后来进了他自己腰包",
    "邝会计提醒大家别上当，可她自己收了每户两百的手续费",
    "褚书记先去了，到了就把人家的羊牵回他家了",
    "书记说有人再去乡里告状就打断他的腿",
    "褚书记没要，转手把那块宅基地批给了送礼的人",
    "褚书记站在村民这边说话，背地里却把补偿款扣了一半",
    "褚书记今年开了村民大会，可名单早就内定了",
    "会计说补助在乡财政所压着，其实早打到村账上了",
    "邝会计发现她们组有几户的补贴卡被人拿走了，其实就在她抽屉里",
])
def test_round_nine_harmless_parts_never_clear_what_follows(cadre, text):
    """Each harmless part round nine added (working beside the reporter or the township, calming, going to the
    scene, telling of someone, a warning, refusing a gift, speaking for villagers, a meeting held) fails when
    the same text goes on to wrongdoing: a turn, a condition, a story turned back on the cadre."""
    assert cadre.judge(text, COMMITTEE).verdict != NO, cadre.judge(text, COMMITTEE).reason


# -- round ten: structure a fresh set brings (sentences written for this test, in several regions' speech) --

@pytest.mark.parametrize("text", [
    # (a) a post of village governance the table did not list by name, with wrongdoing
    "宁专干上礼拜带着几个后生把老郑家的院墙掀了，郑婶拦着被搡到沟里",
    "胡屯长把低保户的存折都收在他那儿，每个月取了钱只给一半",
    "组上的社长把修渠的工钱多报了三个人，那三个人根本没干过一天",
    "调解主任收了两家的东西，谁给得多就偏谁",
    # (b) a description of whoever holds the money or the power
    "管钱那个把今年的土地流转费压着不给，说要等过年",
    "村上掌权的那几个把集体的鱼塘包给了自己人，一年才收五百",
])
def test_round_ten_any_post_or_holder_of_power_is_a_mention(cadre, text):
    """Titles of village governance the table never named (X专干, 社长, 屯长, 调解主任) and descriptions of
    whoever holds the money or the power (管钱那个, 掌权的那几个) are mentions: with wrongdoing, never no."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict != NO, found.reason


@pytest.mark.parametrize("text", [
    # (c) nicknames no roster knows, over public goods
    "狗娃管着村里的账，分红每户说好三百，到手只有一百八",
    "栓娃子把扶贫羊卖了换酒喝，羊是上面发给贫困户的",
    "外号叫黑皮的那个把征地款截了一半，谁问就瞪眼",
    "LJM 把换届的选票拿回家自己填，第二天才拿出来唱票",
    "周算盘手上有两本账，一本给乡里看，一本自己留着",
])
def test_round_ten_a_nickname_with_wrongdoing_over_public_goods_is_asked(cadre, text):
    """A person the roster cannot know (X娃/X娃子, a trait, capital initials, 外号) doing wrong with public
    money, lists or ballots: in a village that is almost always someone with office — asked about."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict != NO, found.reason


@pytest.mark.parametrize("text", [
    # (d) wrongdoing in words of many regions, by class
    "褚长福吃了拆迁户又吃开发商，两头通吃",  # both sides
    "邝会计把五保户的一卡通拿去小卖部刷了好几回烟酒",  # someone's card swiped
    "褚书记指着王大娘的鼻子骂了半天，说再去上访就让她儿子找不到活干",  # cursing, a threat over a comma
    "褚书记叫了一伙混混，半夜把不肯搬的几户窗户全砸了",  # hired men
    "邝主任每回听说要暗访，都提前打电话给那个砂场老板",  # tipping off
    "褚书记手上那笔救灾款压起不发，已经压了半年",  # kept back
    "上面来检查的时候，褚书记让大家都说补贴收到了",  # coaching villagers
    "有人托关系找褚书记，褚书记没同意，后来收了两千块就给办了",  # a refusal, then the deal
    "老王想开个困难证明，褚书记不给开",  # a refusal of what was due is no help
])
def test_round_ten_wrongdoing_by_class_not_by_sentence(cadre, text):
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict != NO, found.reason


@pytest.mark.parametrize("text", [
    # (e) a helping word in the very clause that accuses
    "褚书记喊网格员帮他补了几十份走访记录，签字都是代签的",  # the one helped is the cadre
    "褚会计说是调解两家的事，拿了两边的烟酒，吃两头",
    "褚书记叫了一帮人把不同意流转的几户的苗子全扯了",  # 一帮 is a crowd, not help
    "褚书记把修路钱挪到他屋门口那段去了",  # 他屋 is his house: no place cast for him
])
def test_round_ten_a_helping_word_clears_no_wrongdoing_in_its_clause(cadre, text):
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict != NO, found.reason


@pytest.mark.parametrize("text", [
    "邝会计在登记受灾的户数，大家问有没有补助，请乡里给个说法",  # the post's work, at it now
    "后山起火了，褚书记已经带人上山了，需要乡里派扑火队",
    "两家为了地界吵起来了，褚书记和派出所都去了",
    "褚书记已经跟学校说了，家长们要求换送餐的公司",
    "[柳湾村群]\n[褚长福]：明天上午九点开防汛会，每户来一个人",  # a chat speaker in brackets
    "有人冒充县里的打电话给我们邝会计，让她转账，她没转",  # the target of a fraud
    "褚书记的车昨晚停在村口遭人把玻璃砸了，报了警",  # the dialect passive, their things harmed
    "有人说要联合起来把褚书记选下去，群里吵得很凶",
    "老潘说征地款少算了，最后查清楚是他自己记错了亩数",  # a complaint found a mistake
    "邝会计把评议记录拿出来给他们看，一条条对过，两家都没话说了",
    "有人想让褚书记开个假的贫困证明，褚书记没给开，那人不服气到处说",  # a wrongful request refused
    "网格员和褚书记撬门进去，老人摔在地上，已经送医院了",
])
def test_round_ten_the_cadre_cast_harmless_by_their_place_in_the_clause(cadre, text):
    """Helper, messenger, victim, organiser of a proper review — kept with the village without a question."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict == NO, found.reason


@pytest.mark.parametrize("text", [
    "娃娃上学要绕十里路，修路的把路挖断了半个月没人管",  # 娃娃: a child, not a nickname
    "有个娃娃读职高，雨露计划的补助一直没到账，他妈妈问了好几回",
    "村民在群里约好这礼拜去省里，为的还是征地款的事",
    "天黑了还有几个老人没找到，请派人帮忙",  # 黑了: night
])
def test_round_ten_everyday_words_stay_everyday(cadre, text):
    """The new forms do not make ordinary tip-offs questions: a child (娃娃), night falling, a benefit named."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict == NO, found.reason


@pytest.mark.parametrize("text", [
    "阿强将村里啲征地款袋咗一半，问佢佢话系管理费",  # 阿 + a given name; 佢 he
    "强仔同佢老豆将扶贫鸡全部拎返屋企养",  # X仔; public goods taken home
    "管数那个阿叔收咗每户二百蚊，话系水费，收据都冇",  # 管数: the books; 蚊: yuan
    "伊做了十几年主任，村里厢的分红从来勿发，钞票全部拿脱了",  # Wu
    "老支书的孙子在村里包了所有的活，价格比别人高一倍",  # a relative's monopoly and overcharge
])
def test_round_ten_southern_speech(cadre, text):
    """Cantonese, Hakka and Wu forms of the same classes: a nickname, the books' holder, public goods taken
    home, money kept back — never no."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict != NO, found.reason


@pytest.mark.parametrize("text", [
    # a harmless cast (出面, 打电话给, 帮) with a hush-up or a threat in its clause or the next
    "褚主任出面跟那家人谈好了赔两万，叫我们谁也不要往外说",
    "邝会计帮着把工伤的事压下来了，镇上到现在不晓得",
    "褚书记晚上打电话给我，说我再在群里乱讲就叫我在村里待不下去",
    "我去找褚书记说水渠的事，他说你一个网格员管这么多，明年你别干了",
    # posts told by their line: 营长, 妇联那个, 管治安的
    "葛营长带了一帮人把老杜家的偏房直接推了，说是上面的意思",
    "妇联那个女的收了对方五千块，叫挨打的那家别报警",
    "他是村里管治安的，自己在家里开场子抽台子钱",
    # kinship and nicknames no roster knows, with harm
    "松爹把我家那块责任田划给他女婿盖房了，我娘不识字按的手印",
    "兰妹子收了我们五户的新农合钱没交上去，现在住院报不了",
    "钟二在地头跟我爹吵，一巴掌扇过来，我爹耳朵都聋了",
    "尕平管选民登记，跟他不对付的几家名字都没登上，怕人家投反对票",
    "严大个子带人把我家的鸡棚拆了，别人家的一个没动，就拆我家",
    # harm to money and benefits in plain verbs
    "小郝替老人们保管养老金卡，卡都在她手里，老人每个月都少八十",
    "上面分给低保户的羊被换成了他舅子家的老羊",
    "修路账上的雇工名单里有三个死了的人，工钱谁领了",
    "娃考上大学申请助学金，邝玉珍说材料要她帮着往上报，不拿两条好烟就说材料不全",
])
def test_round_eleven_fails_closed_by_class(cadre, text):
    """Harmless casts that do wrong in the next breath, posts by their line, names only the village knows,
    harm in plain verbs: never no."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict != NO, found.reason


@pytest.mark.parametrize("text", [
    "黄二家的狗咬了隔壁小孩，两家在吵医药费",  # no cadre, a fight between villagers stays theirs
    "两家为宅基地吵起来，有人拿刀，褚书记过去把人拉开了，派出所来了",  # a weapon around a mediator
    "村部昨晚叫人撬了，抽屉里两千块卫生费没了，已经报警",  # the office broken into
    "褚主任带人把老人的后事料理了，联系上了在外地的儿女",
    "邝会计跟镇上的人一搭去的，信访局说一周答复",
    "暴雨后山体滑坡把进村的路堵死了，褚书记带人连夜在清",
    "桥上挤满了看灯的人，栏杆在晃",  # 挤满 is no nickname
    "以前那个褚书记不是早就撤了吗，他现在在外面做生意",  # a post denied, asked back
])
def test_round_eleven_keeps_ordinary_and_harmless(cadre, text):
    """The new classes do not make ordinary tip-offs or a cadre's plain work questions."""
    found = cadre.judge(text, COMMITTEE)
    assert found.verdict == NO, found.reason
