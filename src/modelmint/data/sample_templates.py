"""Template tables for the synthetic customer-service corpus in :mod:`modelmint.data.sample`.

Everything here is hand-written, invented text: the shop ("MintMall"), its brands and
products, companies and people are made up. Placeholders in braces (``{order}``, ``{product}``,
...) are filled in by :mod:`modelmint.data.sample`.

Structure: for each intent and language an :class:`IntentText` holds the agent's questions for a
missing detail (``asks``) and a few :class:`Scenario` s. Within one scenario every customer opening
is answered correctly by every agent resolution and every follow-up pair, so any combination reads
as one coherent conversation.
"""

# ruff: noqa: E501
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    zh: str
    en: str
    cny: int
    usd: float
    has_color: bool


@dataclass(frozen=True)
class Scenario:
    # What the agent must know before resolving: "order" (order number), "user" (username) or
    # None. An opening that lacks the matching placeholder makes the agent ask for it first.
    detail: str | None
    opens: Sequence[str]
    resolves: Sequence[str]
    follows: Sequence[tuple[str, str]] = ()
    # A routine request or pre-sale question: an unhappy customer is annoyed at the service
    # (slow replies, unclear pages), not at the request itself, so it gets other wording.
    calm: bool = False


@dataclass(frozen=True)
class IntentText:
    asks: Sequence[str]
    scenarios: Sequence[Scenario]


# fmt: off
# --------------------------------------------------------------------------------------------
# Catalogue and slot values
# --------------------------------------------------------------------------------------------

_CATALOGUE: tuple[tuple[str, str, Sequence[tuple[str, str, int, float, bool]]], ...] = (
    ("声悦", "AuraSound", (
        ("无线降噪耳机", "noise-cancelling headset", 899, 129.99, True),
        ("智能回音壁", "smart soundbar", 999, 149.00, True),
        ("便携蓝牙音箱", "portable Bluetooth speaker", 299, 45.99, True),
    )),
    ("轻羽", "Featherly", (
        ("防滑瑜伽垫", "non-slip yoga mat", 129, 29.99, True),
        ("防泼水冲锋衣", "water-resistant shell jacket", 799, 119.00, True),
        ("速干运动T恤", "quick-dry sports T-shirt", 129, 24.99, True),
    )),
    ("云眠", "CloudNap", (
        ("记忆棉枕头", "memory foam pillow", 259, 39.99, False),
        ("真丝眼罩", "silk sleep mask", 89, 15.99, True),
        ("四季蚕丝被", "all-season silk duvet", 1299, 199.00, False),
    )),
    ("焙研", "Brewlab", (
        ("手冲咖啡壶套装", "pour-over coffee kit", 329, 49.99, False),
        ("电动磨豆机", "electric coffee grinder", 459, 69.99, True),
        ("半自动意式咖啡机", "espresso machine", 2499, 379.00, True),
    )),
    ("明屿", "Lumio", (
        ("智能台灯", "smart desk lamp", 239, 35.99, True),
        ("LED氛围灯带", "LED light strip", 99, 19.99, False),
        ("护眼落地灯", "eye-care floor lamp", 569, 85.00, True),
    )),
    ("锐刻", "Zentra", (
        ("机械键盘", "mechanical keyboard", 499, 79.99, True),
        ("静音无线鼠标", "silent wireless mouse", 149, 24.99, True),
        ("27英寸4K显示器", "27-inch 4K monitor", 2199, 329.00, False),
        ("USB-C扩展坞", "USB-C docking station", 329, 49.99, False),
    )),
    ("峰行", "Peakline", (
        ("双肩登山包", "hiking backpack", 459, 69.00, True),
        ("露营灯", "camping lantern", 149, 24.99, False),
        ("户外保温杯", "insulated water bottle", 129, 22.99, True),
    )),
    ("暖巢", "Nestwell", (
        ("空气炸锅", "air fryer", 399, 69.99, True),
        ("智能电饭煲", "smart rice cooker", 499, 79.99, False),
        ("不粘炒锅", "non-stick wok", 269, 42.00, False),
        ("破壁料理机", "high-speed blender", 699, 109.00, True),
    )),
    ("小橘", "Kitto", (
        ("智能猫砂盆", "self-cleaning litter box", 1599, 239.00, False),
        ("自动喂食器", "automatic pet feeder", 349, 54.99, True),
        ("宠物饮水机", "pet water fountain", 169, 27.99, True),
    )),
    ("澄氧", "Oasia", (
        ("空气净化器", "air purifier", 1299, 189.00, False),
        ("静音加湿器", "quiet humidifier", 229, 36.99, True),
        ("扫地机器人", "robot vacuum", 1999, 299.00, True),
    )),
    ("墨页", "Inkwell", (
        ("电子阅读器", "e-reader", 999, 139.00, True),
        ("平板保护套", "tablet case", 79, 14.99, True),
    )),
    ("拾光", "Glimpse", (
        ("拍立得相机", "instant camera", 599, 89.99, True),
        ("手机云台稳定器", "smartphone gimbal", 499, 74.99, False),
        ("便携三脚架", "travel tripod", 189, 29.99, False),
    )),
    ("律动", "Pulsefit", (
        ("智能手表", "smartwatch", 1099, 159.00, True),
        ("运动手环", "fitness band", 249, 39.99, True),
        ("体脂秤", "smart body-fat scale", 159, 25.99, True),
    )),
    ("素肌", "Purely", (
        ("保湿面霜", "hydrating face cream", 239, 34.00, False),
        ("清爽防晒霜", "lightweight SPF50 sunscreen", 139, 19.99, False),
        ("氨基酸洁面乳", "gentle amino-acid cleanser", 99, 15.99, False),
    )),
    ("木语", "Woodnote", (
        ("实木书架", "solid wood bookshelf", 899, 139.00, True),
        ("人体工学椅", "ergonomic office chair", 1499, 229.00, True),
        ("电动升降桌", "electric standing desk", 1899, 289.00, True),
    )),
    ("星趣", "Stargo", (
        ("儿童拼装积木", "building block set", 299, 44.99, False),
        ("遥控越野车", "remote-control off-road car", 359, 54.99, True),
        ("儿童绘画板", "kids drawing tablet", 129, 19.99, True),
    )),
    ("迅充", "VoltX", (
        ("65W氮化镓充电器", "65W GaN charger", 169, 29.99, True),
        ("20000mAh充电宝", "20000mAh power bank", 199, 34.99, True),
        ("磁吸无线充电器", "magnetic wireless charger", 129, 24.99, False),
    )),
)

PRODUCTS: tuple[Product, ...] = tuple(
    Product(zh=brand_zh + zh, en=f"{brand_en} {en}", cny=cny, usd=usd, has_color=colored)
    for brand_zh, brand_en, items in _CATALOGUE
    for zh, en, cny, usd, colored in items
)

COLORS: dict[str, tuple[str, ...]] = {
    "zh": ("黑色", "白色", "深空灰", "藏青色", "米白色", "墨绿色", "浅粉色", "雾霾蓝"),
    "en": ("black", "white", "space grey", "navy", "cream", "forest green", "blush pink", "dusty blue"),
}
CITIES: dict[str, tuple[str, ...]] = {
    "zh": ("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆",
           "苏州", "天津", "长沙", "郑州", "青岛", "厦门", "昆明", "合肥", "沈阳", "大连"),
    "en": ("Seattle", "Austin", "Chicago", "Denver", "Boston", "Portland", "Atlanta", "San Diego",
           "Phoenix", "Miami", "Minneapolis", "Philadelphia", "Nashville", "Salt Lake City"),
}
# (carrier name, tracking-number pattern): '#' is a digit, '%' an upper-case letter or digit.
CARRIERS: dict[str, tuple[tuple[str, str], ...]] = {
    "zh": (("顺丰速运", "SF#############"), ("京东物流", "JDVA###########"),
           ("中通快递", "7#############"), ("圆通速递", "YT#############"),
           ("韵达快递", "43############"), ("申通快递", "77##########"), ("EMS", "EM#########CN")),
    "en": (("UPS", "1Z%%%%%%##########"), ("FedEx", "############"),
           ("USPS", "94001#################"), ("DHL", "JD##########")),
}
PAY_METHODS: dict[str, tuple[str, ...]] = {
    "zh": ("微信支付", "支付宝", "银行卡", "花呗", "云闪付"),
    "en": ("credit card", "PayPal account", "Apple Pay", "debit card", "Google Pay"),
}
AGENTS: dict[str, tuple[str, ...]] = {
    "zh": ("小美", "小林", "阿杰", "小雨", "小唐", "可可"),
    "en": ("Anna", "Ben", "Chloe", "Daniel", "Maya", "Sam"),
}
COMPANIES: dict[str, tuple[str, ...]] = {
    "zh": ("杭州云帆科技有限公司", "上海青禾文化传播有限公司", "深圳市拓远电子有限公司",
           "成都知行教育咨询有限公司", "南京木森贸易有限公司", "武汉星桥设计有限公司"),
    "en": ("Bluefield Design LLC", "Harbor & Pine Studio", "Northwind Analytics Ltd",
           "Cobalt Ridge Consulting", "Maple Lane Bakery", "Greyline Logistics"),
}
USER_HANDLES: tuple[str, ...] = (
    "sunny", "mint_fan", "xiaolu", "tea_lover", "bluewhale", "panda", "amy_shop", "kevin",
    "moonlight", "cat_mom", "runner", "coffee_addict", "lucky", "orange", "pixel", "maple",
)

# Fake-PII material: reserved example/test domains only (RFC 2606 / RFC 6761).
EMAIL_DOMAINS: tuple[str, ...] = (
    "example.com", "example.org", "example.net", "mail.example.com", "inbox.test",
)
EMAIL_NAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "zh": (("wei", "zhang"), ("na", "li"), ("fang", "wang"), ("yang", "liu"), ("jing", "chen"),
           ("lei", "yang"), ("min", "zhao"), ("xin", "huang"), ("tao", "zhou"), ("hao", "wu"),
           ("li", "xu"), ("yue", "sun"), ("chao", "ma"), ("jun", "hu"), ("qing", "guo")),
    "en": (("john", "smith"), ("emily", "jones"), ("michael", "brown"), ("sarah", "miller"),
           ("david", "wilson"), ("jessica", "taylor"), ("chris", "lee"), ("olivia", "martin"),
           ("daniel", "clark"), ("emma", "walker"), ("ryan", "hall"), ("sophia", "young")),
}
CN_MOBILE_PREFIXES: tuple[str, ...] = (
    "130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156",
    "158", "159", "166", "176", "177", "180", "182", "185", "186", "187", "188", "189", "199",
)
# A sentence appended to a customer message; {email} / {phone} are the planted PII.
PII_SENTENCES: dict[str, tuple[str, ...]] = {
    "zh": ("我的手机号是{phone}，有进展请打电话给我。", "方便的话把处理结果发到我邮箱{email}。",
           "联系电话{phone}，白天都能接。", "我的联系方式：{phone}，邮箱{email}。",
           "有问题可以发邮件到{email}，或者打{phone}。", "收件人电话填的是{phone}，你们核对一下。",
           "邮箱是{email}，记得发一份确认邮件给我。"),
    "en": ("You can reach me at {phone}.", "Please email the details to {email}.",
           "My phone number is {phone} if you need to call.", "Contact info: {email}, {phone}.",
           "Send any updates to {email}, please.", "The delivery phone number on file is {phone}.",
           "If it's easier, text me at {phone} or write to {email}."),
}

# Small edits that turn a copy into a near-duplicate. zh word swaps are plain substrings; en ones
# are regular expressions (word boundaries). Punctuation: mark -> possible replacements.
EDIT_SWAPS: dict[str, tuple[tuple[str, str], ...]] = {
    "zh": (("您好", "你好"), ("你好", "您好"), ("谢谢", "多谢"), ("麻烦", "劳烦"), ("现在", "目前"),
           ("已经", "已"), ("一下", "一下下"), ("可以", "能"), ("怎么", "咋"), ("订单号", "单号"),
           ("收到", "受到"), ("账号", "帐号"), ("在", "再"), ("好的", "好滴")),
    "en": ((r"\bHi\b", "Hello"), (r"\bHello\b", "Hi"), (r"\bplease\b", "pls"), (r"\bPlease\b", "Pls"),
           (r"\bThanks\b", "Thx"), (r"\bthanks\b", "thx"), (r"\bI'm\b", "Im"), (r"\byou\b", "u"),
           (r"\bcan't\b", "cannot"), (r"\bthe\b", "teh"), (r"\breceived\b", "recieved"),
           (r"\border\b", "oder"), (r"\bOkay\b", "Ok"), (r"\bit's\b", "its"), (r"\byour\b", "you're")),
}
EDIT_PUNCT: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {"，": (",", "、"), "。": ("！", ".", ""), "？": ("?", "？？"), "！": ("!", "！！", "。")},
    "en": {".": ("!", "", ".."), "?": ("??", ""), ",": ("",), "!": (".", "!!")},
}

# --------------------------------------------------------------------------------------------
# Sentiment wording shared by all intents
# --------------------------------------------------------------------------------------------

# Wrapped around the customer's first message. Positive always gets a suffix, negative always
# gets a prefix or suffix, so the label is visible in the wording. "negative_calm" is used for
# calm scenarios (see Scenario.calm).
OPEN_PREFIX: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "neutral": ("你好，", "您好，", "在吗？", "你好，想咨询一下。", "麻烦问一下，", "客服你好，"),
        "positive": ("你好呀！", "亲，你好～", "您好！一直很喜欢你们家的东西。", "嗨，客服小姐姐好！",
                     "你好，先夸一下你们的服务，一直都很贴心！"),
        "negative": ("太离谱了！", "我真的很生气！", "搞什么啊？", "你们到底怎么回事？", "真的无语了，",
                     "实在太让人失望了。"),
        "negative_calm": ("问了好几次都没人回，真的很无语。", "商品页写得一点都不清楚，太让人恼火了。",
                          "上次问了半天也没说明白，很失望。", "你们的页面信息乱七八糟的，"),
    },
    "en": {
        "neutral": ("Hi.", "Hello.", "Hi there.", "Quick question.", "Hello, I need some help.",
                    "Hey."),
        "positive": ("Hi! Hope you're having a good day.", "Hello! Big fan of your shop.",
                     "Hi there :)", "Hey! Love your store.", "Hi! Your service has always been great."),
        "negative": ("This is ridiculous.", "I'm really frustrated.", "Seriously?",
                     "I'm extremely disappointed.", "What is going on with your service?",
                     "Unbelievable."),
        "negative_calm": ("I've asked twice already and nobody answered.",
                          "Your website is really unclear about this and it's frustrating.",
                          "I'm annoyed that this isn't explained anywhere.",
                          "Last time I asked I got a useless answer."),
    },
}
OPEN_SUFFIX: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "neutral": ("麻烦帮忙看一下。", "请帮我确认一下。", "等你回复。", "麻烦尽快回复一下。"),
        "positive": ("谢谢啦！", "辛苦了，谢谢！", "先谢谢你啦～", "麻烦你了，非常感谢！", "不着急，谢谢！",
                     "期待回复，谢谢～"),
        "negative": ("太让人失望了！", "再拖下去我就要投诉了！", "这服务也太差了吧！", "气死我了，请马上给我处理！",
                     "真的很烦，赶紧解决！", "已经浪费我好几天时间了！"),
        "negative_calm": ("别再敷衍我了！", "这都说不清楚，太差劲了！", "问个问题这么费劲，真烦。"),
    },
    "en": {
        "neutral": ("Could you take a look?", "Please let me know.", "Can you check?",
                    "Let me know what I should do."),
        "positive": ("Thanks so much!", "Thank you in advance!", "Really appreciate your help!",
                     "No rush, thanks!", "Thanks, you guys are the best!"),
        "negative": ("This is unacceptable!", "If this isn't fixed today I'm filing a complaint.",
                     "Terrible experience so far.", "I've wasted enough time on this already!",
                     "Please fix this NOW.", "Very disappointed."),
        "negative_calm": ("Please give me a straight answer this time, I'm fed up.", "Honestly, this is frustrating.",
                          "Why is this so hard to find out? Terrible."),
    },
}
# Optional tail on the customer's later messages (detail given, follow-up question).
TAILS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {"neutral": (), "positive": ("谢谢～", "麻烦啦！", "谢谢！"),
           "negative": ("快点。", "我已经等很久了。", "这次别再拖了。")},
    "en": {"neutral": (), "positive": ("Thanks!", "Thank you!", "Appreciate it!"),
           "negative": ("Please hurry.", "I've been waiting long enough.",
                        "Don't make me wait again.")},
}
# First agent message starts with one of these (zh: no separator, en: joined by a space).
AGENT_GREETINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "neutral": ("您好，", "您好，我是客服{agent}，", "亲，您好，", "您好，很高兴为您服务。", ""),
        "positive": ("您好，感谢您的支持！", "亲，您好呀！很高兴为您服务。", "谢谢您的耐心，我是客服{agent}。",
                     "您好！感谢您一直以来对我们的喜爱，"),
        "negative": ("非常抱歉给您带来不好的体验，", "真的很抱歉让您久等了，我是客服{agent}，",
                     "十分理解您现在的心情，先向您道个歉。", "非常抱歉，这确实是我们的问题，",
                     "给您添麻烦了，实在抱歉。"),
    },
    "en": {
        "neutral": ("Hi, thanks for reaching out.", "Hello, this is {agent} from MintMall support.",
                    "Hi there.", ""),
        "positive": ("Hi! Thanks so much for your kind words.", "Hello, and thanks for shopping with us!",
                     "Hi, {agent} here. Happy to help!", "Thank you for your patience!"),
        "negative": ("I'm really sorry about this experience.",
                     "I completely understand your frustration, and I apologize.",
                     "I'm sorry for the trouble. This is {agent} from MintMall support.",
                     "My apologies for the inconvenience.", "I'm so sorry you had to deal with this."),
    },
}
USER_CLOSINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "positive": ("太好了，谢谢你！", "好的，辛苦啦，谢谢！", "收到，你们服务真好，谢谢～", "明白了，非常感谢！",
                     "好嘞，麻烦你了，谢谢！", "太棒了，给你们点个赞！"),
        "neutral": ("好的，知道了。", "明白了。", "好的，清楚了。", "行，我了解了。", "好的，没有其他问题了。",
                    "嗯，先这样吧。"),
        "negative": ("行吧，希望这次别再出问题了。", "折腾这么久，真的很失望。",
                     "好吧，再解决不了我就直接投诉了。", "这么简单的事拖这么久，太差劲了。",
                     "算了，我再等一次，别再让我失望。", "哎，下次真不敢在你们家买了。"),
    },
    "en": {
        "positive": ("Perfect, thank you so much!", "Great, thanks for the quick help!",
                     "Awesome, really appreciate it!", "That's great news, thanks!", "Lovely, thank you!",
                     "Thanks a lot, you've been super helpful."),
        "neutral": ("Okay, got it.", "Alright, that answers it.", "Understood.", "OK, that's all for now.",
                    "Got it, nothing else for now.", "Okay, noted."),
        "negative": ("Fine. I hope it goes better this time.",
                     "Still annoyed about all this, honestly.",
                     "Whatever. If this happens again I'm done with your store.",
                     "This shouldn't have taken so long. Very disappointing.",
                     "Okay, but I'm not happy about it.",
                     "I'll wait, but this has been a terrible experience."),
    },
}
AGENT_CLOSINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "positive": ("不客气，能帮到您很开心！祝您购物愉快～", "感谢您的理解和支持，祝您生活愉快！",
                     "不客气哦，有任何问题随时联系我们！"),
        "neutral": ("好的，如有其他问题欢迎随时咨询。", "好的，祝您生活愉快！", "好的，有需要随时找我们。"),
        "negative": ("再次为给您带来的不便深表歉意，我们会持续跟进，有进展第一时间通知您。",
                     "理解您的心情，这次我们一定尽快处理好，再次抱歉。",
                     "非常抱歉让您有不好的体验，我已经为您加急备注，有问题随时联系我们。"),
    },
    "en": {
        "positive": ("You're very welcome! Enjoy your purchase.", "Happy to help! Have a wonderful day.",
                     "Thanks for being so patient with us. Have a great day!"),
        "neutral": ("Sure, let us know if there's anything else.", "You're welcome. Have a good day!",
                    "Alright. Feel free to reach out anytime."),
        "negative": ("Again, I'm sorry for the hassle. We'll keep you updated until this is resolved.",
                     "I understand, and I'll personally follow up on this. Sorry again.",
                     "I've flagged your case as urgent. Apologies again for the inconvenience."),
    },
}
# The customer supplies the detail the agent asked for.
PROVIDES: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "order": ("订单号是{order}。", "{order}，你查一下。", "好的，订单号：{order}", "是这个：{order}，{order_date}下的单。",
                  "订单编号{order}，买的是{product}。", "我看了一下，是{order}。"),
        "user": ("我的用户名是{user}。", "账号是{user}。", "用户名：{user}", "是{user}这个账号。",
                 "登录名叫{user}。", "我的账号名是{user}，注册好几年了。"),
    },
    "en": {
        "order": ("It's {order}.", "Order number is {order}.", "Sure, {order}.",
                  "Here you go: {order}, placed on {order_date}.", "{order}. It's for the {product}.",
                  "The order number is {order}."),
        "user": ("My username is {user}.", "It's {user}.", "Username: {user}", "The account is {user}.",
                 "I log in as {user}.", "Account name is {user}, had it for years."),
    },
}

# --------------------------------------------------------------------------------------------
# Intent tables
# --------------------------------------------------------------------------------------------

S = Scenario


def C(
    detail: str | None,
    opens: Sequence[str],
    resolves: Sequence[str],
    follows: Sequence[tuple[str, str]] = (),
) -> Scenario:
    return Scenario(detail, opens, resolves, follows, calm=True)


TEMPLATES: dict[str, dict[str, IntentText]] = {
    "order_status": {
        "zh": IntentText(
            asks=["麻烦您提供一下订单号，我马上帮您查询。",
                  "请问您的订单号是多少呢？在“我的订单”里可以看到以MM开头的编号。",
                  "方便发一下订单编号吗？我这边帮您核实具体进度。"],
            scenarios=[
                S("order",
                  ["我{order_date}下的订单{order}，到现在还没发货，能帮我看看是什么情况吗？",
                   "请问订单{order}现在是什么状态？页面一直显示“待发货”。",
                   "我买的{product}下单好几天了，一直没有物流信息，是怎么回事？",
                   "想问一下我买的{product}什么时候能发货？"],
                  ["我查到订单{order}已经在仓库打包完成，预计今天下午交给{carrier}发出，发货后系统会同步物流单号给您。",
                   "订单{order}里的{product}因为近期订单量较大，出库稍有延迟，预计{eta}前发出，发货后您可以在“我的订单”里查看物流。",
                   "查询到您的订单{order}已于今天上午发货，承运快递是{carrier}，运单号{tracking}，预计{eta}送达{city}。"],
                  [("发货后还能改收货地址吗？",
                    "发货后需要联系{carrier}修改地址，我这边可以先帮您备注，但能否修改以快递公司为准。"),
                   ("能帮我加急一下吗？这周末要用。",
                    "已经帮您备注加急了，仓库会优先处理，具体送达时间还要以{carrier}的派送为准。")]),
                S("order",
                  ["订单{order}的物流显示已经到{city}了，可是两天都没更新，是不是卡住了？",
                   "帮我查一下订单{order}到哪了，我这边急着用。",
                   "我的{product}物流一直显示运输中，大概什么时候能送到？"],
                  ["我帮您联系了{carrier}，订单{order}的包裹目前在{city}转运中心，因为当地件量较大有些积压，预计{eta}派送，请您再耐心等一下。",
                   "您的包裹已经到达{city}的派送站点，今天或明天就会安排派送，快递员送货前会电话联系您。运单号是{tracking}，可以随时跟踪。",
                   "订单{order}目前运输正常，{carrier}运单号{tracking}，预计{eta}送达。如果到时候还没收到，您再联系我们，我们会第一时间跟进。"],
                  [("会送货上门吗？",
                    "{carrier}默认送货上门，如果家里没人，快递员会先电话联系您，或者放到附近的驿站。"),
                   ("要是{eta}还没到怎么办？",
                    "如果{eta}还没收到，您直接回复这个对话就行，我们会立刻向{carrier}催件并给您反馈。")]),
                C("order",
                  ["我刚下单了{product}，但是没收到确认短信，订单到底成功了没有？",
                   "订单{order}付款之后页面卡住了，想确认一下是不是下单成功了。"],
                  ["订单{order}已经下单成功，付款{price}也已确认，仓库会在48小时内安排发货，您不用重复下单。",
                   "我这边看到订单{order}状态正常，{product}已经进入待发货队列，确认短信可能有延迟，以“我的订单”页面显示为准。"],
                  [("那我会不会被重复扣款？",
                    "不会的，系统只记录了一笔{price}的付款，如果出现重复扣款会自动原路退回。")]),
            ]),
        "en": IntentText(
            asks=["Could you share your order number so I can look into it?",
                  "What's the order number? You'll find it under My Orders; it starts with MM.",
                  "Please send me the order number and I'll check the status right away."],
            scenarios=[
                S("order",
                  ["I placed order {order} on {order_date} and it still hasn't shipped. Can you check what's going on?",
                   "What's the status of order {order}? The page has said \"processing\" for days.",
                   "I bought the {product} a few days ago and there's still no tracking info. What's happening?",
                   "When is my {product} going to ship?"],
                  ["I checked order {order}: it's been packed at our warehouse and will be handed to {carrier} this afternoon. You'll get the tracking number by email as soon as it ships.",
                   "The {product} in order {order} is slightly delayed because of high order volume. It should ship by {eta}, and tracking will show up under My Orders once it does.",
                   "Order {order} shipped this morning with {carrier}. Your tracking number is {tracking}, with estimated delivery to {city} on {eta}."],
                  [("Can I still change the delivery address after it ships?",
                    "Once it ships, address changes go through {carrier}. I can add a note on our side, but whether it can be changed is up to them."),
                   ("Could you expedite it? I need it by the weekend.",
                    "I've flagged it as urgent so the warehouse prioritizes it, though the final delivery date depends on {carrier}.")]),
                S("order",
                  ["Tracking for order {order} says it reached {city} two days ago and hasn't moved since. Is it stuck?",
                   "Can you tell me where order {order} is? I need it soon.",
                   "My {product} has been \"in transit\" forever. When will it actually arrive?"],
                  ["I contacted {carrier} about order {order}. The package is at their {city} hub, which is running behind because of volume, and they expect to deliver it by {eta}.",
                   "Your package is already at the local {carrier} facility in {city} and should be out for delivery today or tomorrow. Tracking number: {tracking}.",
                   "Order {order} is moving normally. {carrier} tracking {tracking} shows an estimated delivery of {eta}. If it hasn't arrived by then, message us and we'll chase it right away."],
                  [("Will they leave it at the door if I'm not home?",
                    "{carrier} usually tries to hand it over first and may leave it in a safe place or at a nearby pickup point if nobody's home."),
                   ("What if it's not here by {eta}?",
                    "If it hasn't arrived by {eta}, just reply here and we'll open a trace with {carrier} immediately.")]),
                C("order",
                  ["I just ordered the {product} but never got a confirmation email. Did the order actually go through?",
                   "The page froze after I paid for order {order}. Can you confirm it was placed?"],
                  ["Yes, order {order} was placed successfully and your payment of {price} is confirmed. It'll ship within 48 hours, so there's no need to order again.",
                   "Order {order} looks good on my end: the {product} is in the shipping queue. Confirmation emails can be delayed, so My Orders is the best place to check."],
                  [("Will I get charged twice?",
                    "No, there's only one payment of {price} on record. If a duplicate charge ever shows up, it's reversed automatically.")]),
            ]),
    },
    "shipping": {
        "zh": IntentText(
            asks=["麻烦提供一下订单号，我帮您联系快递核实。",
                  "请问是哪个订单呢？发一下订单编号，我马上帮您处理。",
                  "您方便提供订单号吗？我这边查一下物流详情。"],
            scenarios=[
                S("order",
                  ["物流显示订单{order}已经签收了，可是我根本没收到东西。",
                   "我的{product}显示已签收，但家里和门口都没有，是被谁签收了？",
                   "订单{order}显示昨天已送达，我问了前台，快递柜里也没有。"],
                  ["我已经联系{carrier}核实，订单{order}的包裹被放在了小区附近的驿站，取件码会通过短信发给您，麻烦您去驿站看一下。",
                   "已经为您向{carrier}提交了查件工单，运单号{tracking}，快递员会在24小时内联系您确认。如果确实丢件，我们会为您补发或全额退款。",
                   "快递员确认包裹放在了门卫室，我已经让{carrier}的派送员联系您。如果48小时内仍然找不到，我们直接为您补发{product}。"],
                  [("如果找不到的话多久能补发？",
                    "确认丢件后当天就会为您补发，补发同样走{carrier}，通常{days}天内送达。")]),
                S("order",
                  ["订单{order}的收货地址填错了，能帮我改成{city}的新地址吗？",
                   "我刚买的{product}地址写错了，还没发货的话能改一下吗？",
                   "我下周要出差去{city}，订单{order}能改寄到那边吗？"],
                  ["订单{order}还没有出库，可以修改。您在订单详情页点击“修改地址”就能直接更新，改好后我这边再帮您确认一遍。",
                   "订单{order}已经交给{carrier}运输了，我这边已提交改址申请，改址成功后会短信通知您，可能会晚一到两天送达。",
                   "可以的，订单{order}目前还在仓库，您在“我的订单”里填写新地址即可，仓库会按新地址发货。"],
                  [("改地址要加运费吗？", "不需要额外运费，改址产生的费用由我们承担。")]),
                C(None,
                  ["请问发到{city}一般要几天？用的是什么快递？",
                   "我在{city}，今天下单{product}的话大概什么时候能到？",
                   "你们发货能指定{carrier}吗？我在{city}，别的快递不太方便收。"],
                  ["我们默认发{carrier}，发往{city}一般{days}天左右送达，偏远地区会稍慢一些。",
                   "今天16点前下单当天发货，发往{city}走{carrier}，正常{days}天左右就能收到。",
                   "可以的，下单时在备注里写明“发{carrier}”就行，仓库会按备注安排，发往{city}大约{days}天。"],
                  [("运费怎么算？", "订单满99元包邮，不满99元收取8元运费，偏远地区以结算页显示为准。")]),
            ]),
        "en": IntentText(
            asks=["Could you give me the order number so I can check with the carrier?",
                  "Which order is this about? Send me the order number and I'll take care of it.",
                  "Please share the order number and I'll pull up the shipping details."],
            scenarios=[
                S("order",
                  ["Tracking says order {order} was delivered, but I never got anything.",
                   "My {product} shows as delivered, but it's not at my door or anywhere in the building.",
                   "Order {order} was marked delivered yesterday. I checked with my neighbors and the mailroom and it's not there."],
                  ["I checked with {carrier}: the package for order {order} was left at a pickup point near you. You should receive a text with the pickup code shortly.",
                   "I've opened a trace with {carrier} for tracking number {tracking}. They'll contact you within 24 hours, and if the package is lost we'll reship or refund in full.",
                   "The driver reports leaving it with your building's front desk. I've asked {carrier} to reach out, and if it doesn't turn up within 48 hours we'll send a replacement {product}."],
                  [("How fast would a replacement ship?",
                    "Replacements go out the same day we confirm the loss, via {carrier}, and usually arrive within {days} days.")]),
                S("order",
                  ["I entered the wrong shipping address for order {order}. Can you change it to my new place in {city}?",
                   "I just bought the {product} and typed the address wrong. Can I fix it before it ships?",
                   "I'll be in {city} next week. Can order {order} be redirected there?"],
                  ["Order {order} hasn't left the warehouse yet, so you can still change it: open the order details and tap \"Edit address\". I'll double-check it after you update.",
                   "Order {order} is already with {carrier}, so I've submitted a redirect request. You'll get a text once it's approved; delivery may take a day or two longer.",
                   "Good timing: order {order} is still at our warehouse. Just update the address on the order page and it'll ship to the new one."],
                  [("Is there a fee for changing the address?",
                    "No, there's no extra charge. We cover any redirect fee.")]),
                C(None,
                  ["How long does shipping to {city} usually take, and which carrier do you use?",
                   "I'm in {city}. If I order the {product} today, when would it arrive?",
                   "Can you ship with {carrier}? I'm in {city} and other carriers have been unreliable here."],
                  ["We ship with {carrier} by default, and delivery to {city} usually takes about {days} business days.",
                   "Orders placed before 4 p.m. ship the same day. To {city} via {carrier}, expect it in about {days} business days.",
                   "Yes, just add \"ship with {carrier}\" in the order notes and the warehouse will follow it. Delivery to {city} takes about {days} business days."],
                  [("How much is shipping?", "Shipping is free on orders over $49; below that it's a flat $5.99.")]),
            ]),
    },
    "refund": {
        "zh": IntentText(
            asks=["麻烦提供一下订单号，我帮您核实一下。",
                  "请问是哪一笔订单呢？把订单号发给我，我马上处理。",
                  "您方便提供订单编号吗？我这边查一下订单记录。"],
            scenarios=[
                S("order",
                  ["我的退货{days}天前就寄回去了，订单{order}的退款到现在还没到账。",
                   "请问订单{order}的退款什么时候能到？金额是{amount}。",
                   "退货仓库已经签收了，可是{product}的退款一直没收到。"],
                  ["我查到订单{order}的退货已经入库，退款{amount}已经提交，会原路退回到您的{method}，一般1到3个工作日到账。",
                   "您的退款{amount}已于今天处理完成，原路退回{method}，银行处理可能需要3到5个工作日，请留意账户变动。",
                   "订单{order}的退货正在质检，质检通过后会立即退款{amount}，预计{eta}前完成，到时会短信通知您。"],
                  [("退款会退到哪里？", "退款会原路退回到您付款时使用的{method}，不会退到账户余额。"),
                   ("寄回去的运费能报销吗？", "可以的，退货运费会以优惠券的形式补偿到您的账户，下次购物直接抵扣。")]),
                S("order",
                  ["我刚买的{product}今天就降了{diff}，差价能退吗？订单号{order}。",
                   "订单{order}买完第二天就降价了，能申请价保吗？",
                   "我{order_date}买的{product}现在便宜了{diff}，这个差价怎么算？"],
                  ["订单{order}在15天价保期内，差价{diff}已经为您申请，预计1到3个工作日退回{method}。",
                   "已经核实，{product}确实降价{diff}，价保申请已经提交，差价会原路退回，请您留意到账通知。"],
                  [("以后再降价还能再退吗？", "价保期内每次降价都可以申请，每个订单最多可以申请3次。")]),
                C("order",
                  ["订单{order}我不想要了，还没拆封，可以直接退款吗？",
                   "买的{product}还没拆，家里人已经买了一个，能退吗？"],
                  ["未拆封的商品支持七天无理由退货，我已经为订单{order}提交了退款申请，{carrier}快递员会上门取件，仓库签收后马上为您退款{amount}。",
                   "可以的，您在“我的订单”里选择“退货退款”，原因选“不想要了”，快递会上门取件，签收后退款{amount}原路返回。"],
                  [("上门取件要收费吗？", "不收费，七天无理由退货的上门取件运费由我们承担。")]),
            ]),
        "en": IntentText(
            asks=["Could you give me the order number so I can look into it?",
                  "Which order is this for? Send me the order number and I'll take care of it.",
                  "Please share the order number and I'll pull up the order record."],
            scenarios=[
                S("order",
                  ["I mailed my return back {days} days ago and still haven't received the refund for order {order}.",
                   "When will I get the refund for order {order}? It's {amount}.",
                   "Your warehouse received my return, but I still haven't seen the refund for the {product}."],
                  ["I can see the return for order {order} has been received, and the refund of {amount} has been issued to your {method}. It usually shows up within 1-3 business days.",
                   "Your refund of {amount} was processed today and sent back to your {method}. Banks can take 3-5 business days to post it.",
                   "The return for order {order} is being inspected. Once it passes, we'll refund {amount} immediately, by {eta} at the latest, and you'll get an email."],
                  [("Where does the refund go?",
                    "It goes back to the original payment method, your {method}, not to store credit."),
                   ("Will you cover the return shipping?",
                    "Yes, the return shipping cost will be credited to your account as a coupon for your next order.")]),
                S("order",
                  ["The {product} I just bought dropped by {diff} today. Can I get the difference back? Order {order}.",
                   "Order {order} went on sale the day after I bought it. Do you offer price protection?",
                   "I bought the {product} on {order_date} and now it's {diff} cheaper. How does the price adjustment work?"],
                  ["Order {order} is within our 15-day price protection window, so I've requested a {diff} adjustment. It'll go back to your {method} within 1-3 business days.",
                   "Confirmed, the {product} dropped by {diff}. I've submitted the price adjustment and the difference will be refunded to your original payment method."],
                  [("What if the price drops again?",
                    "You can request an adjustment each time within the 15-day window, up to 3 times per order.")]),
                C("order",
                  ["I don't need order {order} anymore and it's still sealed. Can I just get a refund?",
                   "My family already bought the same {product}, and mine is unopened. Can I return it?"],
                  ["Unopened items can be returned within 30 days. I've started the refund for order {order}; {carrier} will pick it up, and we'll refund {amount} once it reaches us.",
                   "Of course. Go to My Orders, choose \"Return\", pick \"No longer needed\", and print the prepaid {carrier} label. We'll refund {amount} when it arrives."],
                  [("Do I have to pay for the pickup?", "No, pickup is free for unopened returns.")]),
            ]),
    },
    "account": {
        "zh": IntentText(
            asks=["麻烦提供一下您的用户名，我帮您查询账号状态。",
                  "请问您的账号用户名是什么？我这边核实一下。",
                  "方便告诉我一下登录用的用户名吗？我帮您看看。"],
            scenarios=[
                S("user",
                  ["我的账号{user}登录不上了，一直提示密码错误。",
                   "忘记密码了，想找回账号该怎么操作？",
                   "App里登录一直转圈，进不去账号。"],
                  ["我已经为账号{user}重置了登录状态，您在登录页点击“忘记密码”，通过绑定的手机接收验证码就能重新设置密码。",
                   "查到账号{user}因为多次输错密码被临时锁定，30分钟后会自动解锁，之后用“忘记密码”重新设置就可以了。",
                   "账号{user}状态正常，可能是App版本过旧导致的，建议您更新到最新版本后再试一下，如果还不行我帮您转给技术同事处理。"],
                  [("验证码一直收不到怎么办？",
                    "可能被手机拦截了，您可以检查一下短信拦截，或者选择语音验证码，60秒后可以重新获取。")]),
                S("user",
                  ["我账号{user}上个月的积分怎么没到账？",
                   "我上次买{product}的积分到现在都没加上，会员等级也没变。"],
                  ["查到账号{user}的{points}积分正在结算中，订单确认收货15天后会统一发放，请您耐心等待。",
                   "账号{user}的积分确实漏发了，我已经手动为您补发{points}积分，刷新一下“我的积分”就能看到。"],
                  [("积分可以抵现吗？", "可以的，100积分抵1元，下单结算时勾选“使用积分”即可。")]),
                C("user",
                  ["我换了新手机号，账号{user}怎么换绑？",
                   "旧手机号已经停用了，想把账号换绑到新号码上。"],
                  ["您可以在“设置-账号与安全-手机号”里换绑，旧号码停用的话选择“旧手机号无法接收验证码”，通过人脸认证即可。",
                   "我已经为账号{user}开通了人工换绑通道，您在App里按提示完成身份验证，1个工作日内就会换绑成功。"],
                  [("换绑之后订单记录还在吗？", "都在的，换绑只更改登录手机号，订单、积分和优惠券都不受影响。")]),
                S("user",
                  ["我想注销账号{user}，要怎么操作？",
                   "这个账号我以后不用了，能帮我注销吗？"],
                  ["注销前需要确认账号{user}没有进行中的订单和未到账的退款，您在“设置-账号与安全-注销账号”里提交申请，15天冷静期后会正式注销。",
                   "已为账号{user}提交注销申请，15天内重新登录会自动撤销申请；注销后积分和优惠券将清零，请您知悉。"],
                  [("注销后还能用同一个手机号注册吗？", "可以的，注销完成后该手机号可以重新注册新账号，但原账号的数据无法恢复。")]),
            ]),
        "en": IntentText(
            asks=["Could you tell me your username so I can check the account?",
                  "What's the username on the account? I'll take a look.",
                  "Please share the username you log in with and I'll check what's going on."],
            scenarios=[
                S("user",
                  ["I can't log in to my account {user}. It keeps saying the password is wrong.",
                   "I forgot my password. How do I recover my account?",
                   "The app just spins forever when I try to log in."],
                  ["I've reset the login session for {user}. Tap \"Forgot password\" on the login screen and we'll send a code to the phone number on file so you can set a new one.",
                   "The account {user} was temporarily locked after several failed attempts. It unlocks automatically in 30 minutes, then you can use \"Forgot password\" to reset it.",
                   "The account {user} looks fine on our side. This usually happens with an outdated app version, so please update and try again. If it still fails, I'll escalate to our tech team."],
                  [("What if the verification code never arrives?",
                    "Check your spam filter or message blocking, or choose a voice call code. You can request a new one after 60 seconds.")]),
                S("user",
                  ["The reward points for my account {user} from last month never showed up.",
                   "I didn't get any points for buying the {product}, and my member tier hasn't changed."],
                  ["The {points} points for {user} are pending. Points are released 15 days after delivery is confirmed, so they'll appear soon.",
                   "It looks like the points for {user} were missed. I've added {points} points manually; refresh the Rewards page and you should see them."],
                  [("Can I use points to pay?", "Yes, 100 points equal $1 off. Just tick \"Use points\" at checkout.")]),
                C("user",
                  ["I changed my phone number. How do I update it on account {user}?",
                   "My old phone number is no longer active and I need to update it on my account."],
                  ["Go to Settings > Account & Security > Phone number. If the old number can't receive codes, choose \"I can't access my old number\" and verify your identity.",
                   "I've enabled a manual update for {user}. Follow the identity verification steps in the app, and the new number will be linked within one business day."],
                  [("Will my order history still be there?",
                    "Yes, changing the phone number doesn't affect your orders, points or coupons.")]),
                S("user",
                  ["I want to delete my account {user}. How do I do that?",
                   "I don't use this account anymore. Can you close it for me?"],
                  ["Before deletion, please make sure {user} has no open orders or pending refunds. Then submit the request under Settings > Account & Security > Delete account; it takes effect after a 15-day cooling-off period.",
                   "I've submitted the deletion request for {user}. Logging in within 15 days cancels it automatically. Note that points and coupons will be lost after deletion."],
                  [("Can I sign up again later with the same email?",
                    "Yes, once deletion is complete you can register a new account, but the old account's data can't be restored.")]),
            ]),
    },
    "product_question": {
        "zh": IntentText(
            asks=[],
            scenarios=[
                C(None,
                  ["请问{product}保修多久？", "{product}如果用坏了怎么保修？需要寄回去吗？"],
                  ["{product}享受一年官方质保，质保期内非人为损坏可以免费维修或更换。",
                   "{product}提供12个月保修，出现质量问题联系在线客服，我们会安排{carrier}免费上门取件检测。"],
                  [("保修需要发票吗？", "不需要纸质发票，凭订单记录就可以享受保修服务。")]),
                C(None,
                  ["{product}的{color}还有货吗？", "想买{product}，{color}现在能发货吗？", "请问{product}{color}有现货吗？"],
                  ["{product}的{color}目前有现货，今天16点前下单当天就能发出。",
                   "{color}款现在库存比较紧张，预计{eta}补货，您可以先点“到货提醒”，有货第一时间通知您。",
                   "{color}目前仓库还有少量库存，下单后48小时内发货，喜欢的话建议尽快下单哦。"],
                  [("{color2}的也有货吗？", "{color2}库存充足，可以正常下单。")]),
                C(None,
                  ["{product}适合送人吗？能不能帮忙包装一下？", "我想买{product}当生日礼物，有礼盒包装吗？"],
                  ["{product}是原厂礼盒包装，下单时备注“送礼”，我们会去掉价格标签并附上贺卡。",
                   "可以的，结算时勾选“礼品包装”，加5元就能用礼盒包装，还可以免费写一张贺卡。"],
                  [("能直接寄给朋友吗？", "可以的，收货地址填朋友的就行，包裹里不会放发票和价格信息。")]),
                C(None,
                  ["{product}是正品吗？和线下专柜的一样吗？", "你们家的{product}是官方授权的吗？"],
                  ["我们是品牌官方授权店铺，{product}和线下专柜同款同批次，支持验货。",
                   "{product}由品牌官方直接供货，每件都有防伪码，收到后可以扫码验证真伪。"],
                  [("价格是{price}吗？还有优惠吗？", "{product}现价{price}，今天下单还可以领一张满减券，结算时会自动抵扣。")]),
                C(None,
                  ["{product}收到之后第一次怎么用？有说明书吗？", "{product}需要安装吗？我自己能搞定吗？"],
                  ["包装里附有中文说明书，{product}拆封后按说明书的步骤操作就行，商品详情页也有安装视频。",
                   "{product}操作很简单，一般几分钟就能上手，遇到问题可以随时联系我们，技术客服会远程指导您。"],
                  [("有视频教程吗？", "有的，商品详情页下方有官方视频教程，扫包装上的二维码也能直接观看。")]),
            ]),
        "en": IntentText(
            asks=[],
            scenarios=[
                C(None,
                  ["How long is the warranty on the {product}?",
                   "If the {product} breaks, how does the warranty work? Do I have to mail it back?"],
                  ["The {product} comes with a one-year manufacturer warranty covering defects, with free repair or replacement.",
                   "It has a 12-month warranty. If anything goes wrong, contact us and we'll arrange a free {carrier} pickup for inspection."],
                  [("Do I need the receipt for warranty claims?", "No paper receipt needed. Your order record is enough.")]),
                C(None,
                  ["Is the {product} in {color} in stock?", "I want the {product} in {color}. Can it ship now?",
                   "Do you have the {color} {product} available?"],
                  ["Yes, the {color} {product} is in stock, and orders placed before 4 p.m. ship the same day.",
                   "The {color} version is running low; the next restock is expected on {eta}. Tap \"Notify me\" and we'll let you know the moment it's back.",
                   "We have a few units left in {color}. They ship within 48 hours, so I'd order soon if you like it."],
                  [("What about {color2}?", "The {color2} one is fully stocked, so you can order it right away.")]),
                C(None,
                  ["Would the {product} make a good gift? Can you gift-wrap it?",
                   "I'm buying the {product} as a birthday present. Do you offer gift boxes?"],
                  ["It comes in the brand's gift box. Add \"gift\" in the order notes and we'll remove the price tag and include a card.",
                   "Yes! Tick \"Gift wrap\" at checkout for $3.99 and you can add a free handwritten card."],
                  [("Can you ship it straight to my friend?",
                    "Sure, just use your friend's address. The package won't include the invoice or any prices.")]),
                C(None,
                  ["Is the {product} authentic? Same as in retail stores?", "Are you an authorized seller for the {product}?"],
                  ["We're an authorized retailer, and the {product} is the same model and batch sold in stores.",
                   "The {product} comes directly from the brand, and each unit has a serial number you can verify on the brand's website."],
                  [("Is {price} the best price? Any discounts?",
                    "The {product} is {price} right now, and there's a coupon you can claim today that applies automatically at checkout.")]),
                C(None,
                  ["How do I set up the {product} when it arrives? Is there a manual?",
                   "Does the {product} need installation? Can I do it myself?"],
                  ["There's a printed manual in the box, and the product page has a short setup video. Most people get the {product} running in a few minutes.",
                   "It's easy to set up yourself. If you get stuck, our tech support team can walk you through it over chat."],
                  [("Is there a video tutorial?",
                    "Yes, there's an official tutorial at the bottom of the product page, and the QR code on the box links to it too.")]),
            ]),
    },
    "complaint": {
        "zh": IntentText(
            asks=["麻烦提供一下订单号，我马上为您登记处理。",
                  "请把订单编号发给我，我这边立即核实情况。",
                  "方便提供一下订单号吗？我来跟进这件事。"],
            scenarios=[
                S("order",
                  ["收到的{product}外壳有一道明显的裂痕，订单号{order}。",
                   "订单{order}的{product}用了两天就出问题了，没法正常使用。",
                   "{product}到手就发现有划痕，外包装也是破的。"],
                  ["订单{order}已经为您登记质量问题，我们会安排{carrier}上门取件，并免费给您换一个全新的{product}。",
                   "麻烦您拍几张{product}问题部位的照片发给我们，核实后可以选择换新或者全额退款{amount}，来回运费都由我们承担。",
                   "已经为订单{order}开通优先处理通道，新的{product}今天就会发出，有问题的那件等快递上门取回就行。"],
                  [("能不能给点补偿？", "为了表示歉意，我们给您的账户发放了一张{coupon_value}元无门槛优惠券，下次购物可以直接使用。")]),
                S("order",
                  ["我买的是{color}的{product}，结果发来的是{color2}的，订单{order}。",
                   "订单{order}发错货了，收到的根本不是我下单的{product}。"],
                  ["核实到仓库确实发错了，我已经安排重新发出正确的{product}，预计{eta}送达，发错的那件快递会上门回收。",
                   "订单{order}的错发问题已登记，正确的商品今天就会用{carrier}发出，运单号{tracking}。"],
                  [("发错的那件要我自己寄回吗？", "不用的，{carrier}快递员会上门取件，运费由我们承担。")]),
                S("order",
                  ["{carrier}的快递员没打电话就把订单{order}的包裹扔在门口了。",
                   "快递员态度很差，让我自己下楼去取{product}，还说不取就退回去。"],
                  ["我们已经把这个情况反馈给{carrier}，要求他们调查处理派送员的服务问题，后续会给您答复。",
                   "这次派送的问题已经向{carrier}投诉登记，之后您的订单我们都会备注“务必送货上门”，避免再发生类似情况。"],
                  [("多久能给我答复？", "{carrier}一般会在48小时内回复调查结果，我们收到后第一时间告诉您。")]),
                S(None,
                  ["我昨天在线上留言问了问题，到现在都没人回复。",
                   "打了好几次客服电话都没人接，等了半个小时。"],
                  ["昨天咨询量比较大，回复不及时。我是客服{agent}，接下来由我全程跟进您的问题，您直接在这里告诉我就好。",
                   "我们已经把这个反馈提交给客服主管，后续会增加人手，您现在的问题我来帮您处理。"],
                  [("以后怎么联系你们最快？", "App里的在线客服7×24小时在线，一般1分钟内就能接入人工。")]),
            ]),
        "en": IntentText(
            asks=["Please send me the order number and I'll log this right away.",
                  "Could you share the order number so I can look into this immediately?",
                  "What's the order number? I'll take ownership of this."],
            scenarios=[
                S("order",
                  ["The {product} from order {order} arrived with a big crack in the casing.",
                   "The {product} in order {order} stopped working properly after two days.",
                   "My {product} arrived scratched and the box was torn open."],
                  ["I've logged a quality issue for order {order}. {carrier} will pick up the damaged one, and we'll send you a brand-new {product} at no cost.",
                   "Could you send a couple of photos of the damage? Once confirmed, you can choose a replacement or a full refund of {amount}, and we'll cover shipping both ways.",
                   "I've put order {order} on our priority queue. A new {product} ships today, and the courier will collect the faulty one when it arrives."],
                  [("Do I get anything for the trouble?",
                    "We've added a ${coupon_value} coupon to your account as an apology. It works on anything in the store.")]),
                S("order",
                  ["I ordered the {product} in {color}, but you sent {color2}. Order {order}.",
                   "You sent the wrong item for order {order}. This isn't the {product} I bought."],
                  ["The warehouse did send the wrong item. A correct {product} is going out now and should arrive by {eta}; {carrier} will pick up the wrong one.",
                   "I've logged the mix-up on order {order}. The right item ships today via {carrier}, tracking number {tracking}."],
                  [("Do I have to send the wrong one back myself?", "No, {carrier} will pick it up from your address, free of charge.")]),
                S("order",
                  ["The {carrier} driver dumped my package for order {order} at the door without even knocking.",
                   "The courier was rude and told me to come downstairs for my {product} or he'd send it back."],
                  ["I've reported this to {carrier} and asked them to investigate the driver's conduct. We'll follow up with you once they respond.",
                   "I've filed a formal complaint with {carrier} and added a \"hand deliver only\" note to your account so it doesn't happen again."],
                  [("When will I hear back?", "{carrier} usually replies within 48 hours, and we'll update you as soon as they do.")]),
                S(None,
                  ["I left a message on your chat yesterday and nobody ever replied.",
                   "I called your support line several times and no one picked up. I waited half an hour."],
                  ["Yesterday's volume was unusually high and we fell behind. I'm {agent}, and I'll handle your case from start to finish, so just tell me here what you need.",
                   "I've passed this feedback to our support lead and we're adding staff. Let me take care of your question right now."],
                  [("What's the fastest way to reach you next time?",
                    "In-app chat is staffed 24/7 and usually connects you to a person within a minute.")]),
            ]),
    },
    "payment": {
        "zh": IntentText(
            asks=["麻烦提供一下订单号，我帮您查一下支付记录。",
                  "请问是哪笔订单？把订单号发给我，我马上核实扣款情况。",
                  "您方便提供订单编号吗？我这边联系财务核对。"],
            scenarios=[
                S("order",
                  ["订单{order}我被扣了两次款，每次{price}。",
                   "买{product}的时候{method}扣了两笔钱，但只生成了一个订单。"],
                  ["核实到订单{order}确实重复扣款，多扣的{price}已经发起退款，1到3个工作日会原路退回您的{method}。",
                   "财务已经确认重复支付，系统会在24小时内自动退回多扣的{price}，到账后会有短信提醒。"],
                  [("退回来的钱会有手续费吗？", "不会的，重复扣款的退款全额原路返回，没有任何手续费。")]),
                S("order",
                  ["付款的时候显示失败，但是{method}已经扣钱了，订单{order}还是待支付。",
                   "我刚才买{product}支付失败了，钱却扣了，这是怎么回事？"],
                  ["这是支付渠道的延迟，订单{order}的款项我们已经收到，状态会在半小时内更新为“已支付”，不需要重新付款。",
                   "查到这笔{price}的款项没有成功入账，{method}会在1到3个工作日内自动退回，您可以重新下单。"],
                  [("以后怎么避免这种情况？", "支付时尽量保持网络稳定，页面提示结果前不要重复点击支付按钮。")]),
                C(None,
                  ["请问你们支持哪些付款方式？", "下单可以用{method}付款吗？"],
                  ["我们支持微信支付、支付宝、银行卡和花呗，结算页可以自由选择。",
                   "可以用{method}，另外也支持货到付款，不过货到付款只限部分城市。"],
                  [("企业可以对公转账吗？", "可以的，结算时选择“对公转账”，按页面提示的账户信息汇款即可，到账后安排发货。")]),
                C(None,
                  ["{product}可以分期付款吗？", "买{product}能用信用卡分期吗？手续费怎么算？"],
                  ["{product}支持花呗和信用卡分期，3期和6期免手续费，12期按银行标准收取。",
                   "{product}现价{price}，最多支持12期分期，3期免息，具体费率在结算页会显示。"],
                  [("提前还款有额外费用吗？", "提前还款的规则以花呗或发卡银行为准，我们这边不收取任何额外费用。")]),
                S(None,
                  ["我领的{coupon_value}元优惠券为什么用不了？", "下单{product}的时候优惠券显示不可用，是怎么回事？"],
                  ["这张优惠券需要满{coupon_min}元才能使用，而且部分特价商品不参与，建议您看一下券的使用说明。",
                   "优惠券{coupon}只限指定品类使用，{product}不在活动范围内，我已经给您补发了一张全场通用券。"],
                  [("以后怎么知道哪些券能用？", "结算页会自动筛选出可用的优惠券，不可用的券会标明原因。")]),
            ]),
        "en": IntentText(
            asks=["Could you share the order number so I can check the payment records?",
                  "Which order was this? Send me the order number and I'll look at the charges.",
                  "Please give me the order number and I'll check with our billing team."],
            scenarios=[
                S("order",
                  ["I was charged twice for order {order}, {price} each time.",
                   "My {method} was charged twice when I bought the {product}, but there's only one order."],
                  ["I've confirmed the duplicate charge on order {order}. The extra {price} has been refunded and should be back on your {method} within 1-3 business days.",
                   "Billing confirmed the double payment. The extra {price} will be reversed automatically within 24 hours, and you'll get an email when it's done."],
                  [("Will there be any fees on the refund?", "No, the duplicate charge is refunded in full with no fees.")]),
                S("order",
                  ["Checkout said the payment failed, but my {method} was charged and order {order} still says unpaid.",
                   "My payment for the {product} failed but the money still left my account. What happened?"],
                  ["That's a delay from the payment provider. We did receive the money for order {order}, and its status will update to \"Paid\" within 30 minutes, so no need to pay again.",
                   "The {price} payment didn't go through on our end, so your {method} will reverse it automatically within 1-3 business days. You can place the order again."],
                  [("How do I avoid this next time?",
                    "Keep a stable connection at checkout and don't tap \"Pay\" again until the page shows a result.")]),
                C(None,
                  ["What payment methods do you accept?", "Can I pay with my {method}?"],
                  ["We accept credit and debit cards, PayPal, Apple Pay and Google Pay; just choose one at checkout.",
                   "Yes, that works, and you can also use store gift cards at checkout."],
                  [("Can my company pay by bank transfer?",
                    "Yes, choose \"Bank transfer\" at checkout and follow the instructions; we ship once the payment clears.")]),
                C(None,
                  ["Can I pay for the {product} in installments?", "Do you offer financing for the {product}? What are the fees?"],
                  ["Yes, the {product} qualifies for installments: 3 or 6 monthly payments with 0% interest, or 12 months at the lender's standard rate.",
                   "The {product} is {price} and can be split into up to 12 payments; the 3-month plan is interest-free, and exact rates appear at checkout."],
                  [("Is there a penalty for paying it off early?",
                    "We don't charge anything extra; early payoff rules are set by the financing provider.")]),
                S(None,
                  ["Why can't I use my ${coupon_value} coupon?", "The coupon shows as unavailable when I try to buy the {product}."],
                  ["That coupon requires a minimum spend of ${coupon_min}, and some sale items are excluded. Please check the coupon terms.",
                   "Coupon {coupon} only applies to selected categories, and the {product} isn't one of them. I've sent you a sitewide coupon instead."],
                  [("How do I know which coupons apply in the future?",
                    "Checkout automatically shows the coupons you can use and explains why others don't apply.")]),
            ]),
    },
    "cancel_order": {
        "zh": IntentText(
            asks=["麻烦提供一下要取消的订单号，我帮您处理。",
                  "请问是哪个订单需要取消？把订单号发给我就好。",
                  "您方便提供订单编号吗？我看一下现在能不能取消。"],
            scenarios=[
                C("order",
                  ["我想取消订单{order}，刚下单的。", "刚买的{product}不想要了，帮我取消一下订单。",
                   "订单{order}还没发货吧？麻烦帮我取消。"],
                  ["订单{order}还没有出库，已经为您取消成功，{price}会在1到3个工作日内原路退回{method}。",
                   "已为您取消订单{order}，退款{price}已经提交，到账后会有短信通知。",
                   "好的，订单{order}已取消，如果之后还需要{product}，直接重新下单就可以。"],
                  [("取消了会影响我的信用吗？", "不会的，取消订单不会影响您的账户信用和会员等级。")]),
                S("order",
                  ["订单{order}好像已经发货了，现在还能取消吗？", "{product}买重复了，已经显示发货，还能取消吗？"],
                  ["订单{order}已经由{carrier}发出，暂时没办法直接取消。您可以拒收包裹，包裹退回仓库后我们会全额退款{price}。",
                   "包裹已经在运输途中，我已经为您申请拦截，{carrier}会把包裹退回，仓库签收后为您退款。拦截不成功的话，您收到后直接申请退货就行。"],
                  [("拒收的话运费谁出？", "拒收产生的运费由我们承担，不会从退款里扣除。")]),
                C("order",
                  ["订单{order}颜色选错了，想取消重新买{color2}的。", "我买{product}的时候选成了{color}，能不能先取消？"],
                  ["订单{order}已为您取消，款项原路退回，您重新下单选想要的颜色就可以，目前各个颜色都有现货。",
                   "订单{order}还没出库，已经为您取消，退款会在24小时内原路退回，重新下单时注意选对颜色就好。"],
                  [("重新下单还能用之前的优惠券吗？", "可以的，取消订单后优惠券会自动退回到您的账户，有效期不变。")]),
            ]),
        "en": IntentText(
            asks=["Could you share the number of the order you'd like to cancel?",
                  "Which order should I cancel? Just send me the order number.",
                  "Please give me the order number and I'll check whether it can still be canceled."],
            scenarios=[
                C("order",
                  ["I'd like to cancel order {order}. I just placed it.",
                   "I don't want the {product} I just bought anymore. Please cancel the order.",
                   "Order {order} hasn't shipped yet, right? Please cancel it."],
                  ["Order {order} hadn't left the warehouse, so it's now canceled. The {price} will be refunded to your {method} within 1-3 business days.",
                   "I've canceled order {order} and submitted the {price} refund. You'll get an email once it's processed.",
                   "Done, order {order} is canceled. If you want the {product} later, you can simply order it again."],
                  [("Does canceling affect my account in any way?",
                    "Not at all. Cancellations don't affect your account standing or member tier.")]),
                S("order",
                  ["Order {order} seems to have shipped already. Can I still cancel it?",
                   "I accidentally bought the {product} twice and it already shows as shipped. Can I cancel it?"],
                  ["Order {order} has already shipped with {carrier}, so I can't cancel it directly. You can refuse the delivery, and we'll refund {price} in full once it's back at our warehouse.",
                   "The package is in transit, so I've requested an intercept from {carrier}. If it can't be stopped, just request a return once it arrives."],
                  [("Who pays the shipping if I refuse it?", "We do. Refused deliveries won't be deducted from your refund.")]),
                C("order",
                  ["I picked the wrong color on order {order}. I want to cancel and buy it in {color2}.",
                   "I chose {color} by mistake when I ordered the {product}. Can you cancel it?"],
                  ["Order {order} is canceled and the payment will be refunded to your original method. Just place a new order in the color you want; everything's in stock.",
                   "Order {order} hadn't shipped, so I've canceled it. The refund will post within 24 hours, so you can reorder in the right color."],
                  [("Can I use the same coupon on my new order?",
                    "Yes, the coupon goes back to your account automatically with the same expiry date.")]),
            ]),
    },
    "return_exchange": {
        "zh": IntentText(
            asks=["麻烦提供一下订单号，我帮您办理退换货。",
                  "请问是哪个订单的商品需要退换？把订单号发给我一下。",
                  "您方便提供订单编号吗？我先确认一下是否还在退换期内。"],
            scenarios=[
                S("order",
                  ["订单{order}的{product}想换成{color2}，可以吗？", "收到的{product}颜色和图片差别有点大，想换成{color2}。"],
                  ["可以换的，我已经为订单{order}提交换货申请，{carrier}会上门取回原商品，{color2}的新品同步发出。",
                   "订单{order}在15天换货期内，您在“我的订单”里申请换货，选择{color2}，仓库收到原件后两天内给您发新的。"],
                  [("换货需要补差价吗？", "同款换颜色不需要补差价，来回运费也由我们承担。")]),
                C("order",
                  ["订单{order}的{product}想退货，怎么寄回去？", "{product}不太合适，想退掉，退货地址是哪里？",
                   "我想退{product}，包装盒已经拆了还能退吗？"],
                  ["您在“我的订单”里找到订单{order}，点击“申请退货”，选择上门取件，{carrier}快递员会在约定时间上门，不用您自己填地址。",
                   "只要商品和配件齐全、不影响二次销售就能办理退货。您提交退货申请后，系统会自动生成退货地址和预约取件时间。",
                   "已经为订单{order}创建退货单，请把{product}和配件一起放回包装，{carrier}明天上门取件，仓库签收后3天内退款{amount}。"],
                  [("退款大概多久到账？", "仓库签收并质检后1到3个工作日退款，原路退回到您的{method}。")]),
                C(None,
                  ["你们家的东西买了多久之内可以退换？", "拆封用过的{product}还能退换吗？"],
                  ["我们支持签收后7天无理由退货、15天内质量问题退换；无理由退货需要商品完好、配件齐全，质量问题的话拆封使用过也可以办理。",
                   "签收7天内可以无理由退货，前提是不影响二次销售；如果是质量问题，15天内即使已经用过也能退换。"],
                  [("退货运费谁承担？", "质量问题的来回运费由我们承担；无理由退货的话，运费险会帮您报销大部分运费。")]),
            ]),
        "en": IntentText(
            asks=["Could you share the order number so I can start the return or exchange?",
                  "Which order is it? Send me the order number and I'll set it up.",
                  "Please give me the order number so I can check it's still within the return window."],
            scenarios=[
                S("order",
                  ["Can I exchange the {product} from order {order} for the {color2} one?",
                   "The {product} looks quite different in person. I'd like to swap it for {color2}."],
                  ["Sure, I've filed an exchange for order {order}. {carrier} will pick up the original, and the {color2} one ships at the same time.",
                   "Order {order} is within the 30-day exchange window. Request an exchange under My Orders, choose {color2}, and we'll ship the new one within two days of receiving the original."],
                  [("Do I need to pay anything extra?", "No, swapping colors of the same item is free, including shipping both ways.")]),
                C("order",
                  ["I want to return the {product} from order {order}. How do I send it back?",
                   "The {product} doesn't really suit me. What's the return address?",
                   "I'd like to return the {product}, but I've already opened the box. Is that okay?"],
                  ["Find order {order} under My Orders, tap \"Return item\" and choose pickup. {carrier} will collect it at the time you pick, so you don't need to write any address.",
                   "Returns are accepted as long as the item and accessories are complete and undamaged. Submit the request under My Orders and you'll get a prepaid {carrier} label with the return address.",
                   "I've created a return for order {order}. Pack the {product} with its accessories; {carrier} will collect it tomorrow, and we'll refund {amount} within 3 days of receiving it."],
                  [("How long does the refund take after that?",
                    "Once the warehouse receives and inspects it, the refund goes back to your {method} within 1-3 business days.")]),
                C(None,
                  ["How long do I have to return or exchange something?", "Can I still return the {product} if I've already used it?"],
                  ["You have 30 days from delivery for change-of-mind returns, as long as the item is complete and like new. Defective items can be returned or exchanged within 90 days, even if used.",
                   "Returns are accepted within 30 days if the item is unused and complete. If it's defective, you can return or exchange it within 90 days even after use."],
                  [("Who pays for return shipping?",
                    "We cover shipping for defective items. For change-of-mind returns, there's a flat $5.99 label fee.")]),
            ]),
    },
    "invoice": {
        "zh": IntentText(
            asks=["麻烦提供一下订单号，我帮您处理发票的问题。",
                  "请问是哪个订单需要发票？发一下订单编号就可以。",
                  "您方便提供订单号吗？我这边查一下开票状态。"],
            scenarios=[
                C("order",
                  ["订单{order}需要开增值税专用发票，抬头是{company}。",
                   "买{product}想开公司抬头的发票，抬头{company}，税号{tax_id}。"],
                  ["已为订单{order}提交开票申请，抬头{company}，电子发票会在3个工作日内发送到您账户的“我的发票”里。",
                   "好的，开票信息已经登记，纸质发票会通过{carrier}单独寄出，预计{eta}前送达。"],
                  [("发票金额是多少？", "发票金额按实际支付的{price}开具，优惠券抵扣的部分不计入发票。")]),
                S("order",
                  ["订单{order}的发票抬头开错了，能重开吗？应该是{company}。",
                   "上次买{product}开的发票税号写错了，麻烦帮我重新开一下。"],
                  ["已为订单{order}作废原发票并重新开具，新发票会在1到2个工作日内推送到“我的发票”，请注意查收。",
                   "发票重开申请已经提交，财务核对信息后会重新开具，开好后会短信通知您。"],
                  [("旧的那张需要寄回吗？", "电子发票不需要寄回，原发票作废后自动失效。")]),
                S("order",
                  ["订单{order}都收货一周了，电子发票还没收到。", "我买{product}的发票在哪里看？一直没找到。"],
                  ["订单{order}的电子发票已经开好了，您在App“我的-我的发票”里可以查看和下载PDF。",
                   "发票会在确认收货后开具，订单{order}我已经帮您手动触发开票，半小时后就能在“我的发票”里看到。"],
                  [("能发到我邮箱吗？", "可以的，在“我的发票”里点击“发送到邮箱”，填写邮箱地址就能收到。")]),
            ]),
        "en": IntentText(
            asks=["Could you share the order number so I can sort out the invoice?",
                  "Which order do you need the invoice for? The order number is enough.",
                  "Please give me the order number and I'll check the invoice status."],
            scenarios=[
                C("order",
                  ["I need an invoice for order {order} made out to {company}.",
                   "Can I get a company invoice for the {product}? Company name {company}, tax ID {tax_id}."],
                  ["I've requested the invoice for order {order}, made out to {company}. It'll appear under My Invoices within 3 business days.",
                   "Done. The invoice details are saved, and a PDF invoice will be sent to the email address on your account within 3 business days."],
                  [("What amount will the invoice show?",
                    "It will show the amount actually paid, {price}; coupon discounts aren't included.")]),
                S("order",
                  ["The invoice for order {order} has the wrong company name. It should be {company}. Can you reissue it?",
                   "The tax ID on my invoice for the {product} is wrong. Could you issue a corrected one?"],
                  ["I've voided the original invoice for order {order} and issued a corrected one. It will be under My Invoices within 1-2 business days.",
                   "The reissue request is in. Our finance team will verify the details and let you know as soon as the corrected invoice is ready."],
                  [("Do I need to send the old one back?", "No, the old electronic invoice is voided automatically.")]),
                S("order",
                  ["It's been a week since order {order} was delivered and I still haven't received an invoice.",
                   "Where can I find the invoice for my {product}? I can't see it anywhere."],
                  ["The invoice for order {order} is ready. You can view and download the PDF under Account > My Invoices.",
                   "Invoices are issued after delivery is confirmed. I've generated the one for order {order} manually, and it'll show up under My Invoices in about 30 minutes."],
                  [("Can you email it to me?", "Sure, open My Invoices and tap \"Email invoice\" to send it to any address.")]),
            ]),
    },
}
# fmt: on
