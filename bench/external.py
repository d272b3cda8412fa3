#!/usr/bin/python3
"""The outside check set: text-line images drawn by an engine, fonts, texts and styles
that the training renderer (synth/) never uses.

    /usr/bin/python3 bench/external.py --out data/external

Run it with Debian's Python, which has PyGObject (Pango, PangoCairo), pycairo, Pillow
and numpy from Debian packages (python3-gi-cairo, gir1.2-pango-1.0, python3-pil,
python3-numpy), not with the project's venv. It writes

    OUT/images/{id}_{label}.png   the label encoded in the name (core/labels.py's rule)
    OUT/labels.tsv                images/NAME.png<TAB>label, UTF-8
    OUT/styles.jsonl              per image: label, slice, font, size and every style choice

and replaces earlier output there. The same --seed gives the same labels and images.

What keeps it apart from the training data:
- engine: Pango/HarfBuzz shaping and Cairo rasterising (the training renderer draws
  glyphs with Pillow/FreeType);
- fonts: only faces that fonts/manifest.yaml does not list (WenQuanYi Micro Hei,
  Droid Sans Fallback, LXGW WenKai, Smiley Sans, the Noto CJK SC weights the training
  does not use, GNU FreeFont, URW base35). Each line's characters are checked against
  the coverage of the font that draws them, and every shaped run is checked to come
  from that font file, so fontconfig never slips in a fallback face;
- text: the hand-written phrase lists and composition rules below, independent of
  synth/corpus.py; every label stays inside the project's default charset (printable
  ASCII, common CJK punctuation, GB2312 level-1 hanzi), recomputed here the same way as
  core/charset.py, which this Python cannot import (it needs pydantic);
- styles: its own colours, gradients, shadows, outlines, rotation, padding, Cairo
  antialiasing and hinting options, then noise, blur, JPEG and rescaling.

Slices follow training/metrics.py's slice_of: digits, en, zh, mixed (--per-slice each).
"""

from __future__ import annotations

import argparse
import colorsys
import ctypes
import importlib.util
import io
import json
import math
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

try:
    import gi

    gi.require_version("Pango", "1.0")
    gi.require_version("PangoCairo", "1.0")
    import cairo
    import numpy as np
    from gi.repository import Pango, PangoCairo
    from PIL import Image, ImageFilter
except (ImportError, ValueError) as error:
    sys.exit(
        f"bench/external.py: {error}\n"
        "It needs PyGObject with Pango/PangoCairo, pycairo, Pillow and numpy: run it with Debian's "
        "/usr/bin/python3 (apt-get install -y python3-gi-cairo gir1.2-pango-1.0 python3-pil python3-numpy)."
    )

ROOT = Path(__file__).resolve().parents[1]


def _load_labels_module():
    """core/labels.py (stdlib only), loaded from its file: this Python lacks the project's dependencies."""
    spec = importlib.util.spec_from_file_location("_external_labels", ROOT / "core" / "labels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


labels = _load_labels_module()

# ----------------------------------------------------------------------------------------
# Charset and slices: the same definitions as core/charset.py and training/metrics.py.
# ----------------------------------------------------------------------------------------

PRINTABLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))
CJK_PUNCTUATION = "，。、；：？！“”‘’（）《》【】「」『』…—·￥％～"


def gb2312_level1_hanzi() -> str:
    hanzi = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                hanzi.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(hanzi)


CHARSET = set(PRINTABLE_ASCII + CJK_PUNCTUATION + gb2312_level1_hanzi())
SLICES = ("digits", "en", "zh", "mixed")
MAX_CHARS = 40


def slice_of(label: str) -> str:
    if not label:
        return "mixed"
    if all("0" <= c <= "9" for c in label):
        return "digits"
    if label.isascii():
        return "en"
    has_hanzi = any("\u4e00" <= c <= "\u9fff" for c in label)
    if has_hanzi and not any(c.isascii() and c.isalnum() for c in label):
        return "zh"
    return "mixed"


def label_problems(label: str) -> list[str]:
    problems = []
    if not 1 <= len(label) <= MAX_CHARS:
        problems.append(f"{len(label)} characters")
    if label != label.strip(" ") or "  " in label:
        problems.append("leading, trailing or double spaces")
    outside = sorted({c for c in label if c not in CHARSET})
    if outside:
        problems.append("outside the charset: " + " ".join(f"{c} (U+{ord(c):04X})" for c in outside))
    return problems


# ----------------------------------------------------------------------------------------
# Text sources: hand-written here, with no word list or template of synth/corpus.py.
# ----------------------------------------------------------------------------------------

# Chinese lines without ASCII letters or digits (the zh slice), by kind.
ZH_PHRASES = {
    "receipts": [
        "请妥善保管您的购物小票", "谢谢惠顾，欢迎再次光临", "本店营业时间：早上九点至晚上十点",
        "收银员：王小红", "商品名称", "金额合计", "实收现金", "找零", "会员积分", "本小票不作为报销凭证",
        "如需发票请到服务台开具", "支付方式：微信支付", "支付方式：支付宝", "退换货请在七日内凭小票办理",
        "特价商品不退不换", "满一百元送精美礼品一份", "人民币叁佰元整", "银行卡消费签购单",
    ],
    "addresses": [
        "北京市朝阳区建国路", "上海市黄浦区南京东路", "广州市天河区体育西路", "珠海市香洲区情侣路",
        "杭州市西湖区文三路", "成都市武侯区人民南路四段", "南京市鼓楼区中山北路", "武汉市武昌区中南路",
        "西安市雁塔区小寨东路", "重庆市渝中区解放碑步行街", "天津市和平区南京路", "长沙市岳麓区麓山南路",
        "山东省青岛市市南区香港中路", "河北省石家庄市长安区",
    ],
    "shop_signs": [
        "老王家常菜", "张记牛肉面", "福满楼大酒店", "新华书店", "平安大药房", "小林便利店", "阳光眼镜店",
        "好运来超市", "东方家电城", "幸福里花店", "金鼎茶庄", "五金建材批发", "快修配钥匙", "美发造型",
        "干洗店", "川味火锅", "正宗兰州拉面", "老北京炸酱面", "鲜花蛋糕预订",
    ],
    "forms": [
        "姓名：", "性别：", "出生日期：", "身份证号码：", "联系电话：", "通讯地址：", "工作单位：",
        "申请人签字：", "审核意见：", "备注：", "邮政编码", "紧急联系人", "请用黑色签字笔填写",
        "以上信息真实有效", "本人承诺所填内容属实", "经办人：李建国",
    ],
    "headlines": [
        "全国多地迎来降温降雨天气", "我国科学家在量子通信领域取得新进展", "新能源汽车销量持续增长",
        "春运首日铁路发送旅客超千万人次", "教育部发布高校招生工作通知", "城市更新行动稳步推进",
        "多部门联合开展食品安全检查", "沿海地区做好防台风准备", "农村电商助力乡村振兴",
        "国产大飞机完成首次商业飞行", "“十四五”规划实施取得明显成效", "今年夏粮再获丰收",
        "全民健身运动会在京开幕", "我省出台稳就业二十条措施",
    ],
    "notices": [
        "请勿吸烟", "小心地滑", "禁止停车", "非工作人员禁止入内", "请排队等候", "安全出口",
        "电梯维修中，请走楼梯", "节约用水，人人有责", "请保持安静", "请随手关门", "施工重地，闲人免进",
        "请勿将贵重物品留在车内", "本区域已进入视频监控范围", "友情提示：请看管好您的随身物品",
        "停水通知：因管道维修，明日停水一天", "会议室已预约，请勿占用", "请出示健康码",
        "爱护花草，人人有责", "前方施工，车辆慢行", "请在一米线外等候",
    ],
    "products": [
        "纯牛奶", "原味酸奶", "纯正小磨香油", "东北大米", "有机绿茶", "手工水饺", "鲜榨橙汁",
        "无线蓝牙耳机", "保温杯", "洗衣液", "儿童牙刷", "全自动洗衣机", "智能电饭锅", "纯棉毛巾",
        "笔记本电脑", "运动跑鞋", "红烧牛肉面", "五香瓜子", "老陈醋", "农家土鸡蛋",
    ],
    "boards": [
        "欢迎光临", "今日特价", "新品上市", "买一送一", "限时抢购", "全场包邮", "开业大吉", "营业中",
        "暂停营业", "收费标准", "停车场", "卫生间", "服务台", "问讯处", "候车室", "售票处",
        "第一教学楼", "图书馆三楼阅览室", "人民医院门诊部", "挂号收费处", "急诊", "药房取药",
        "《用户服务协议》", "【限时优惠】", "「最终解释权归本店所有」", "“安全第一，预防为主”",
        "……以上内容仅供参考", "价格面议", "欢迎来电咨询", "约翰·史密斯", "第三章 第二节",
    ],
    "ui": [
        "上一页", "下一页", "确定", "取消", "返回首页", "个人中心", "我的订单", "购物车", "立即购买",
        "加入购物车", "设置", "退出登录", "忘记密码？", "请输入手机号", "验证码已发送",
        "网络连接失败，请稍后重试", "保存成功", "清除缓存", "检查更新", "关于我们",
    ],
    "sayings": [
        "床前明月光，疑是地上霜。", "春眠不觉晓，处处闻啼鸟。", "海内存知己，天涯若比邻。",
        "千里之行，始于足下。", "读万卷书，行万里路。", "学而时习之，不亦说乎？",
        "好好学习，天天向上", "欲穷千里目，更上一层楼。",
    ],
}

# Kinds whose lines may share a line (a list of notices, a shelf of products), and the separators.
ZH_JOINS = {"notices": ["，", "；", " "], "products": [" ", "、"], "forms": [" "], "ui": [" ", " | "], "boards": [" "]}

# English lines: receipts, signs, UI labels, headlines, packaging, documents.
EN_PHRASES = [
    # receipts
    "Thank you for shopping with us!", "Please keep your receipt", "Subtotal", "Total Due",
    "Cash Tendered", "Change", "VAT included", "Returns accepted within 30 days", "Cashier: Maria",
    "Store #0421", "Have a nice day!", "Card ending in 4821", "Approved - Thank you",
    "Customer Copy", "Merchant ID 88213", "No refunds on sale items",
    # signs
    "No Parking", "Emergency Exit", "Staff Only", "Caution: Wet Floor", "Push", "Pull",
    "Open 24 Hours", "Closed on Sundays", "Please wait to be seated", "No smoking in this area",
    "Authorized personnel only", "Keep this door closed", "Fire Extinguisher", "Restrooms",
    "Elevator out of service", "Watch your step", "Free Wi-Fi", "Now Hiring", "Back in 10 minutes",
    "Drive-thru open late", "Deliveries at rear entrance", "Visitors must sign in",
    # UI
    "Sign in", "Create an account", "Forgot password?", "Remember me", "Log out", "Settings",
    "Save changes", "Cancel", "Delete account", "Search...", "Add to cart", "Checkout", "Continue",
    "Privacy Policy", "Terms of Service", "Download now", "Update available",
    "Loading, please wait", "Page not found", "Try again", "Upload a file", "Notifications",
    "Dark mode", "Select all", "Undo", "Export as PDF", "Show more", "View details",
    "Are you sure you want to quit?", "Your changes have been saved.",
    # headlines
    "Markets rally as inflation cools", "City council approves new bike lanes",
    "Heavy rain expected this weekend", "Local team wins championship",
    "Scientists discover new species of frog", "Tech firms report strong earnings",
    "Museum reopens after renovation", "Schools to start later next year",
    "Prices of fresh produce rise again", "New bridge opens to traffic",
    "Airport adds 12 international routes", "Study links sleep to memory",
    # packaging and documents
    "A quick brown fox jumps over a lazy dog", "All rights reserved.", "Made in China",
    "Best before: see bottom of can", "Handle with care", "This side up", "Fragile",
    "Keep refrigerated", "Shake well before use", "Serving size: 1 cup (240 ml)",
    "Ingredients: water, sugar, salt", "Not for resale", "For external use only", "Do not iron",
    "Machine wash cold", "Batteries not included", "Limited edition", "Buy one, get one free",
    "50% off all items", "Sale ends Sunday", "Open Mon-Fri 9am-6pm", "Tel: +1 (555) 010-2299",
    "Email: info@example.org", "www.greenleaf-market.com", "Invoice No. INV-2024-0871",
    "Due date: 04/15/2024", "Meeting Room B", "Gate 23", "Platform 4", "Level 2 - Parking",
    "Visitor Badge", "Room 1207", "Chapter 7: The Long Road Home", "Section 3.2 Results",
    "Figure 5. Sample output", "Page 12 of 48", "Version 2.4.1", "Error 404", "Battery low (15%)",
    "Signal strength: good", "Hello, world!", "Dear Mr. Thompson,", "Best regards,",
    "Quarterly Report, Q3 2023", "Net weight 16 oz (454 g)", "Lot A17 exp. 2026/08",
]

EN_STREETS = ["Baker", "Maple", "Oak", "Elm", "Cedar", "Park", "Lake", "Hill", "River", "Sunset",
              "Washington", "Lincoln", "Church", "Mill", "Station", "King", "Queen", "Victoria"]
EN_STREET_TYPES = ["Street", "St.", "Avenue", "Ave", "Road", "Rd", "Lane", "Drive", "Boulevard", "Way"]
EN_CITIES = ["Springfield, IL 62704", "Portland, OR 97205", "Austin, TX 78701", "Boston, MA 02108",
             "London SW1A 1AA", "Leeds LS1 4AP", "Toronto, ON M5V 2T6", "Sydney NSW 2000",
             "Denver, CO 80202", "Seattle, WA 98101"]
EN_ITEMS = ["Coffee Latte", "Bagel w/ Cream Cheese", "Orange Juice", "Chicken Wrap", "Green Salad",
            "Bananas 1.2 lb", "Whole Milk 1 gal", "Paper Towels", "AA Batteries 4pk", "Notebook A5",
            "Shampoo 400ml", "Sparkling Water", "Sourdough Loaf", "Dark Chocolate Bar"]
EN_TOTALS = {"Subtotal": 200, "Tax": 25, "Tip": 30, "TOTAL": 300, "Amount Paid": 300, "Balance": 900,
             "Discount": 20, "Shipping": 15}  # label: largest amount

# Pieces for mixed lines: Chinese with numbers, Latin brand names, units, codes.
ZH_PLACES = {  # city: (districts, roads)
    "北京市": (["海淀区", "朝阳区", "东城区", "西城区"], ["中关村大街", "建国路", "学院路", "长安街"]),
    "上海市": (["浦东新区", "黄浦区", "徐汇区"], ["世纪大道", "南京东路", "淮海中路"]),
    "广州市": (["天河区", "越秀区"], ["体育西路", "中山五路"]),
    "杭州市": (["西湖区", "上城区"], ["文三路", "延安路"]),
    "成都市": (["武侯区", "锦江区"], ["人民南路", "红星路"]),
    "南京市": (["鼓楼区", "玄武区"], ["中山北路", "北京东路"]),
    "武汉市": (["江汉区", "武昌区"], ["解放大道", "中南路"]),
    "苏州市": (["姑苏区", "吴中区"], ["人民路", "干将路"]),
    "厦门市": (["思明区", "湖里区"], ["中山路", "湖滨南路"]),
    "青岛市": (["市南区", "市北区"], ["香港中路", "台东一路"]),
}
ZH_PRODUCTS = ["矿泉水", "薯片", "洗发水", "牙膏", "酸奶", "咖啡", "面包", "苹果", "大米", "食用油",
               "纸巾", "电池", "充电器", "数据线", "显示器", "键盘", "鼠标", "台灯"]
ZH_UNITS = ["瓶", "袋", "盒", "件", "个", "箱", "包"]
BRANDS = ["Nova", "Luma", "Orbit", "Zenith", "Aurora", "Kestrel", "Pinecone", "Bluebird", "Vertex",
          "Maple Leaf", "Sunrise", "Echo", "Atlas", "Polar"]
DEVICES = ["智能手表", "蓝牙音箱", "移动电源", "无线鼠标", "机械键盘", "降噪耳机", "平板电脑", "路由器", "电动牙刷"]
DOMAINS = ["huaxin-tech.com", "example.com.cn", "gov.cn", "shop.example.cn", "news.example.org",
           "mail.example.net"]
ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def _pick(rng: random.Random, items):
    return items[rng.randrange(len(items))]


def _digits(rng: random.Random, count: int, first: str = "0123456789") -> str:
    return _pick(rng, first) + "".join(str(rng.randrange(10)) for _ in range(count - 1))


def _luhn_complete(body: str) -> str:
    total = 0
    for i, char in enumerate(reversed(body)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def _ean13(rng: random.Random) -> str:
    body = "69" + _digits(rng, 10)
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _mobile(rng: random.Random) -> str:
    return _pick(rng, ["13", "15", "17", "18", "19"]) + _digits(rng, 9)


def _date(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(2015, 2027), rng.randrange(1, 13), rng.randrange(1, 29)


def _price(rng: random.Random, top: int = 500) -> str:
    return f"{rng.randrange(1, top)}.{rng.choice(['00', '50', '90', '99', str(rng.randrange(10, 100))])}"


def text_digits(rng: random.Random) -> str:
    """Digit-only strings people read off paper and screens, 1-24 digits long."""
    kind = rng.randrange(16)
    year, month, day = _date(rng)
    if kind == 0:
        return _mobile(rng)  # mobile phone, 11
    if kind == 1:
        return _luhn_complete("62" + _digits(rng, rng.choice([14, 17])))  # UnionPay card, 16 or 19
    if kind == 2:
        return _digits(rng, rng.choice([8, 10, 12, 20]), "0123456789")  # invoice codes and numbers
    if kind == 3:
        return _ean13(rng)  # barcode, 13
    if kind == 4:
        return _digits(rng, 6, "123456789")  # postcode
    if kind == 5:
        return f"{year}{month:02d}{day:02d}"  # date, 8
    if kind == 6:
        return f"{rng.randrange(24):02d}{rng.randrange(60):02d}"  # time, 4
    if kind == 7:
        return f"{year}{month:02d}{day:02d}" + _digits(rng, rng.randrange(6, 17))  # order number, 14-24
    if kind == 8:
        return str(rng.randrange(1, 10))  # a single digit: page, floor, quantity
    if kind == 9:
        return str(rng.randrange(10, 1000))  # 2-3 digits: room, price, count
    if kind == 10:
        return _digits(rng, rng.choice([4, 6]))  # verification code
    if kind == 11:
        return _pick(rng, ["010", "021", "020", "0755", "0571", "028"]) + _digits(rng, 8, "2345678")  # landline
    if kind == 12:
        return _digits(rng, rng.randrange(5, 10), "123456789")  # amount in cents, account balance
    if kind == 13:
        return str(year)
    if kind == 14:
        return _digits(rng, rng.randrange(21, 25), "123456789")  # long tracking numbers
    return _digits(rng, 18, "123456")  # an 18-digit identity-style number


def text_en(rng: random.Random) -> str:
    kind = rng.randrange(10)
    if kind < 6:
        return _pick(rng, EN_PHRASES)
    if kind == 6:
        return f"{rng.randrange(1, 9999)} {_pick(rng, EN_STREETS)} {_pick(rng, EN_STREET_TYPES)}"
    if kind == 7:
        return _pick(rng, EN_CITIES)
    if kind == 8:
        return f"{_pick(rng, EN_ITEMS)} ${_price(rng, 40)}"
    name = _pick(rng, sorted(EN_TOTALS))
    return f"{name}: ${_price(rng, EN_TOTALS[name])}"


def text_zh(rng: random.Random) -> str:
    kind = _pick(rng, sorted(ZH_PHRASES))
    first = _pick(rng, ZH_PHRASES[kind])
    if kind in ZH_JOINS and rng.random() < 0.3:  # two notices, products or buttons on one line
        second = _pick(rng, ZH_PHRASES[kind])
        joined = first + _pick(rng, ZH_JOINS[kind]) + second
        if second != first and len(joined) <= MAX_CHARS:
            return joined
    return first


def text_mixed(rng: random.Random) -> str:
    """Chinese with numbers, prices, dates, units, model numbers, Latin brands, phones, URLs."""
    n = rng.randrange  # n(a, b): a number from a to b - 1
    year, month, day = _date(rng)
    city = _pick(rng, sorted(ZH_PLACES))
    districts, roads = ZH_PLACES[city]
    letters = "ABCDEFGHKMNPRSTXZ"

    def address():
        room = f"{n(1, 30)}楼{n(1, 30)}{n(1, 20):02d}室" if rng.random() < 0.4 else ""
        return f"{city}{_pick(rng, districts)}{_pick(rng, roads)}{n(1, 300)}号{room}"

    def mobile():
        number = _mobile(rng)
        return f"{number[:3]} {number[3:7]} {number[7:]}" if rng.random() < 0.4 else number

    rules = [
        address,
        lambda: f"{_pick(rng, ZH_PRODUCTS)} ×{n(1, 6)} ￥{_price(rng, 100)}",
        lambda: _pick(rng, ["合计：", "实付：", "应收：", "优惠："]) + _pick(rng, ["￥", ""]) + _price(rng)
        + _pick(rng, ["", "元"]),
        lambda: f"{year}年{month}月{day}日",
        lambda: _pick(rng, ["日期：", "有效期至", "生产日期："]) + _pick(rng, "-./").join(
            [str(year), f"{month:02d}", f"{day:02d}"]),
        lambda: _pick(rng, ["型号：", "产品型号 ", "规格型号："]) + f"{_pick(rng, letters)}{_pick(rng, letters)}-"
        + f"{n(100, 9999)}{_pick(rng, ['', 'A', 'S', 'Pro', 'Plus', 'X'])}",
        lambda: f"净含量：{n(50, 2000)}{_pick(rng, ['g', 'ml', 'mL'])}",
        lambda: f"额定电压：{_pick(rng, ['220V~', '12V', '5V', '110-240V'])}",
        lambda: f"额定功率：{n(5, 2200)}W",
        lambda: f"规格：{n(200, 1500)}ml×{n(6, 25)}{_pick(rng, ZH_UNITS)}",
        lambda: _pick(rng, [f"重量约{n(1, 50)}kg", f"尺寸：{n(20, 200)}×{n(20, 200)}cm"]),
        lambda: f"{_pick(rng, BRANDS)}{_pick(rng, ['', ' '])}{_pick(rng, DEVICES)}",
        lambda: _pick(rng, BRANDS) + _pick(rng, ["官方旗舰店", "（中国）有限公司", "专卖店"]),
        lambda: _pick(rng, ["手机：", "电话：", "联系电话：", "订餐热线 "]) + mobile(),
        lambda: _pick(rng, ["客服热线：400-", "服务热线 400-", "投诉电话：0"]) + f"{n(100, 999)}-{n(1000, 9999)}",
        lambda: _pick(rng, ["官网：www.", "网址：www.", "详情请访问 www.", "网站："]) + _pick(rng, DOMAINS),
        lambda: _pick(rng, ["邮箱：", "投稿邮箱 "]) + _pick(rng, ["service", "info", "hr", "contact"]) + "@"
        + _pick(rng, DOMAINS),
        lambda: _pick(rng, ["订单号：", "快递单号：", "发票号码："]) + _pick(rng, ["DD", "SF", "YT", ""])
        + _digits(rng, n(8, 15)),
        lambda: _pick(rng, ["营业时间 ", "营业时间：", "开放时间："])
        + f"{n(7, 11)}:{_pick(rng, ['00', '30'])}-{n(17, 24)}:{_pick(rng, ['00', '30'])}",
        lambda: _pick(rng, [f"满{n(1, 10)}00减{n(10, 80)}", f"全场{n(5, 9)}.{n(1, 10)}折", f"第{n(2, 9)}件半价",
                            f"限购{n(1, 6)}件"]),
        lambda: _pick(rng, ["同比增长", "降价", "利率下调", "好评率"]) + f"{n(1, 40)}.{n(10)}" + _pick(rng, "%％"),
        lambda: _pick(rng, [f"第{n(1, 20)}页 共{n(20, 60)}页", f"第{n(1, 30)}章", f"第{n(1, 20)}期"]),
        lambda: _pick(rng, [f"{n(1, 12)}号楼{n(1, 6)}单元", f"{_pick(rng, 'ABCDE')}区{n(1, 40)}号"]),
        lambda: _pick(rng, ["WiFi密码：", "无线网络：", "Wi-Fi账号 "]) + _pick(rng, BRANDS).replace(" ", "")
        + _digits(rng, n(3, 9)),
        lambda: _pick(rng, ["扫码下载APP", "关注微信公众号", "支持USB充电", "高清4K显示", "内置GPS导航",
                            "支持NFC支付", "VIP会员专享", "LED节能灯", "双11大促", "iOS和Android通用"]),
        lambda: f"{_pick(rng, ZH_SURNAMES)}先生 {_mobile(rng)}",
        lambda: f"{year}届毕业生{_pick(rng, ZH_SURNAMES)}同学",
        lambda: _pick(rng, [f"￥{_price(rng, 2000)}", f"{_price(rng, 99)}元/斤", f"温度：{n(-10, 40)}度"]),
        lambda: f"{n(1, 12)}:{n(60):02d} 出发",
    ]
    return _pick(rng, rules)()


TEXT_SOURCES = {"digits": text_digits, "en": text_en, "zh": text_zh, "mixed": text_mixed}


def check_sources() -> None:
    """Fail early, naming the phrase, if a hand-written line or piece breaks the label rules."""
    zh_phrases = [phrase for phrases in ZH_PHRASES.values() for phrase in phrases]
    places = [name for city, (districts, roads) in ZH_PLACES.items() for name in [city, *districts, *roads]]
    pieces = places + ZH_PRODUCTS + ZH_UNITS + DEVICES + list(ZH_SURNAMES) + BRANDS + EN_ITEMS + EN_CITIES
    for phrase in zh_phrases + EN_PHRASES + pieces:
        problems = label_problems(phrase)
        if problems:
            sys.exit(f"bench/external.py: phrase {phrase!r}: {'; '.join(problems)}")
    for phrase in zh_phrases:
        if slice_of(phrase) != "zh":
            sys.exit(f"bench/external.py: Chinese phrase {phrase!r} falls in slice {slice_of(phrase)}")


# ----------------------------------------------------------------------------------------
# Fonts: selected by Pango description, checked to resolve to the expected file.
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Face:
    pango_family: str  # the family Pango is asked for
    weight: int  # Pango weight (300 light, 400 regular, 700 bold, ...)
    italic: bool
    file: str  # the file it must resolve to (fontconfig may pick another; that is an error)
    family: str  # the face's own (name ID 1) family name, as recorded
    style: str  # the face's style name
    package: str  # the Debian package that installs it
    latin_design: bool = True  # has its own Latin glyphs worth drawing en/digits lines with

    @property
    def typographic_family(self) -> str:
        return self.pango_family


NOTO = "/usr/share/fonts/opentype/noto/"
URW = "/usr/share/fonts/opentype/urw-base35/"
FREE = "/usr/share/fonts/truetype/freefont/"
KAI = "/usr/share/fonts/truetype/lxgw-wenkai/"

# CJK faces: family groups, so each group is picked about as often as the others.
CJK_FACES = {
    "wqy-microhei": [
        # Its Latin glyphs come from Droid Sans (a training font): ASCII is always drawn in a Latin face.
        Face("WenQuanYi Micro Hei", 400, False, "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
             "WenQuanYi Micro Hei", "Regular", "fonts-wqy-microhei", latin_design=False),
    ],
    "droid-fallback": [
        # Has no ASCII at all: ASCII is always drawn in a Latin face.
        Face("Droid Sans Fallback", 400, False, "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
             "Droid Sans Fallback", "Regular", "fonts-droid-fallback", latin_design=False),
    ],
    "lxgw-wenkai": [
        Face("LXGW WenKai", 300, False, KAI + "LXGWWenKai-Light.ttf", "LXGW WenKai Light", "Light",
             "fonts-lxgw-wenkai"),
        Face("LXGW WenKai", 400, False, KAI + "LXGWWenKai-Regular.ttf", "LXGW WenKai", "Regular", "fonts-lxgw-wenkai"),
        Face("LXGW WenKai", 700, False, KAI + "LXGWWenKai-Bold.ttf", "LXGW WenKai", "Bold", "fonts-lxgw-wenkai"),
        Face("LXGW WenKai Mono", 400, False, KAI + "LXGWWenKaiMono-Regular.ttf", "LXGW WenKai Mono", "Regular",
             "fonts-lxgw-wenkai"),
    ],
    "smiley-sans": [
        Face("Smiley Sans", 400, False, "/usr/share/fonts/truetype/smiley-sans/SmileySans-Oblique.ttf",
             "Smiley Sans Oblique", "Oblique", "fonts-smiley-sans"),
    ],
    "noto-sans-cjk-extra": [
        Face("Noto Sans CJK SC", 300, False, NOTO + "NotoSansCJK-Light.ttc", "Noto Sans CJK SC Light", "Light",
             "fonts-noto-cjk-extra"),
        Face("Noto Sans CJK SC", 350, False, NOTO + "NotoSansCJK-DemiLight.ttc", "Noto Sans CJK SC DemiLight",
             "DemiLight", "fonts-noto-cjk-extra"),
        Face("Noto Sans CJK SC", 500, False, NOTO + "NotoSansCJK-Medium.ttc", "Noto Sans CJK SC Medium", "Medium",
             "fonts-noto-cjk-extra"),
        Face("Noto Sans CJK SC", 900, False, NOTO + "NotoSansCJK-Black.ttc", "Noto Sans CJK SC Black", "Black",
             "fonts-noto-cjk-extra"),
    ],
    "noto-serif-cjk-extra": [
        Face("Noto Serif CJK SC", 200, False, NOTO + "NotoSerifCJK-ExtraLight.ttc", "Noto Serif CJK SC ExtraLight",
             "ExtraLight", "fonts-noto-cjk-extra"),
        Face("Noto Serif CJK SC", 300, False, NOTO + "NotoSerifCJK-Light.ttc", "Noto Serif CJK SC Light", "Light",
             "fonts-noto-cjk-extra"),
        Face("Noto Serif CJK SC", 500, False, NOTO + "NotoSerifCJK-Medium.ttc", "Noto Serif CJK SC Medium", "Medium",
             "fonts-noto-cjk-extra"),
        Face("Noto Serif CJK SC", 600, False, NOTO + "NotoSerifCJK-SemiBold.ttc", "Noto Serif CJK SC SemiBold",
             "SemiBold", "fonts-noto-cjk-extra"),
        Face("Noto Serif CJK SC", 900, False, NOTO + "NotoSerifCJK-Black.ttc", "Noto Serif CJK SC Black", "Black",
             "fonts-noto-cjk-extra"),
    ],
}


def _latin_family(family: str, package: str, folder: str, files: dict[str, str], weights=None) -> list[Face]:
    """Faces of one Latin family: style -> file name; weights maps style -> Pango weight."""
    weights = weights or {}
    faces = []
    for style, name in files.items():
        weight = weights.get(style, 700 if "Bold" in style else 400)
        italic = "Italic" in style or "Oblique" in style
        faces.append(Face(family, weight, italic, folder + name, family, style, package))
    return faces


LATIN_FACES = {
    "freesans": _latin_family("FreeSans", "fonts-freefont-ttf", FREE, {
        "Regular": "FreeSans.ttf", "Bold": "FreeSansBold.ttf", "Oblique": "FreeSansOblique.ttf",
        "Bold Oblique": "FreeSansBoldOblique.ttf"}),
    "freeserif": _latin_family("FreeSerif", "fonts-freefont-ttf", FREE, {
        "Regular": "FreeSerif.ttf", "Bold": "FreeSerifBold.ttf", "Italic": "FreeSerifItalic.ttf",
        "Bold Italic": "FreeSerifBoldItalic.ttf"}),
    "freemono": _latin_family("FreeMono", "fonts-freefont-ttf", FREE, {
        "Regular": "FreeMono.ttf", "Bold": "FreeMonoBold.ttf", "Oblique": "FreeMonoOblique.ttf"}),
    "nimbus-sans": _latin_family("Nimbus Sans", "fonts-urw-base35", URW, {
        "Regular": "NimbusSans-Regular.otf", "Bold": "NimbusSans-Bold.otf", "Italic": "NimbusSans-Italic.otf",
        "Bold Italic": "NimbusSans-BoldItalic.otf"}),
    "nimbus-sans-narrow": _latin_family("Nimbus Sans Narrow", "fonts-urw-base35", URW, {
        "Regular": "NimbusSansNarrow-Regular.otf", "Bold": "NimbusSansNarrow-Bold.otf"}),
    "nimbus-roman": _latin_family("Nimbus Roman", "fonts-urw-base35", URW, {
        "Regular": "NimbusRoman-Regular.otf", "Bold": "NimbusRoman-Bold.otf", "Italic": "NimbusRoman-Italic.otf",
        "Bold Italic": "NimbusRoman-BoldItalic.otf"}),
    "nimbus-mono": _latin_family("Nimbus Mono PS", "fonts-urw-base35", URW, {
        "Regular": "NimbusMonoPS-Regular.otf", "Bold": "NimbusMonoPS-Bold.otf"}),
    "c059": _latin_family("C059", "fonts-urw-base35", URW, {
        "Roman": "C059-Roman.otf", "Bold": "C059-Bold.otf", "Italic": "C059-Italic.otf"}),
    "p052": _latin_family("P052", "fonts-urw-base35", URW, {
        "Roman": "P052-Roman.otf", "Bold": "P052-Bold.otf", "Italic": "P052-Italic.otf"}),
    "urw-gothic": _latin_family("URW Gothic", "fonts-urw-base35", URW, {
        "Book": "URWGothic-Book.otf", "Demi": "URWGothic-Demi.otf", "Book Oblique": "URWGothic-BookOblique.otf"},
        {"Book": 380, "Demi": 600, "Book Oblique": 380}),
    "urw-bookman": _latin_family("URW Bookman", "fonts-urw-base35", URW, {
        "Light": "URWBookman-Light.otf", "Demi": "URWBookman-Demi.otf", "Light Italic": "URWBookman-LightItalic.otf"},
        {"Light": 300, "Demi": 600, "Light Italic": 300}),
}


class FontError(RuntimeError):
    pass


class FontBook:
    """Loads faces through Pango's fontconfig font map; knows each loaded font's file and coverage."""

    def __init__(self):
        self.fontmap = PangoCairo.FontMap.get_default()
        self.context = self.fontmap.create_context()
        self._coverage: dict[Face, object] = {}
        self._ft2 = ctypes.CDLL("libpangoft2-1.0.so.0")
        self._fc = ctypes.CDLL("libfontconfig.so.1")
        self._ft2.pango_fc_font_get_pattern.restype = ctypes.c_void_p
        self._ft2.pango_fc_font_get_pattern.argtypes = [ctypes.c_void_p]
        self._fc.FcPatternGetString.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int,
                                                ctypes.POINTER(ctypes.c_char_p)]
        self._capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
        self._capsule_pointer.restype = ctypes.c_void_p
        self._capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]

    @staticmethod
    def description(face: Face, size_px: float) -> Pango.FontDescription:
        description = Pango.FontDescription()
        description.set_family(face.pango_family)
        description.set_weight(Pango.Weight(face.weight))
        description.set_style(Pango.Style.ITALIC if face.italic else Pango.Style.NORMAL)
        description.set_absolute_size(size_px * Pango.SCALE)
        return description

    def font_file(self, font) -> str:
        """The file behind a loaded Pango font (from its fontconfig pattern)."""
        pattern = self._ft2.pango_fc_font_get_pattern(self._capsule_pointer(font.__gpointer__, None))
        value = ctypes.c_char_p()
        if not pattern or self._fc.FcPatternGetString(pattern, b"file", 0, ctypes.byref(value)) != 0:
            raise FontError(f"no file for {font.describe().to_string()}")
        return value.value.decode()

    def families_of(self, font) -> list[str]:
        pattern = self._ft2.pango_fc_font_get_pattern(self._capsule_pointer(font.__gpointer__, None))
        names, value = [], ctypes.c_char_p()
        while self._fc.FcPatternGetString(pattern, b"family", len(names), ctypes.byref(value)) == 0:
            names.append(value.value.decode())
        return names

    def check(self, face: Face) -> None:
        font = self.fontmap.load_font(self.context, self.description(face, 20))
        found = self.font_file(font) if font else None
        if found != face.file:
            raise FontError(f"Pango resolves {face.pango_family} {face.style} to {found}, not {face.file} "
                            f"(is Debian's {face.package} installed?)")
        if face.family not in self.families_of(font):
            raise FontError(f"{face.file} does not call itself {face.family!r}: {self.families_of(font)}")

    def covers(self, face: Face, text: str) -> bool:
        if face not in self._coverage:
            font = self.fontmap.load_font(self.context, self.description(face, 20))
            self._coverage[face] = font.get_coverage(Pango.Language.from_string("zh-cn"))
        coverage = self._coverage[face]
        return all(coverage.get(ord(c)) == Pango.CoverageLevel.EXACT for c in set(text))


# ----------------------------------------------------------------------------------------
# Style: the choices for one line, drawn from the line's own random generator.
# ----------------------------------------------------------------------------------------


def luminance(rgb) -> float:
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]


def _hsv(rng: random.Random, saturation, value) -> tuple[float, float, float]:
    return colorsys.hsv_to_rgb(rng.random(), rng.uniform(*saturation), rng.uniform(*value))


def _jitter(rgb, rng: random.Random, amount: float = 0.04):
    return tuple(min(1.0, max(0.0, c + rng.uniform(-amount, amount))) for c in rgb)


def pick_colours(rng: random.Random) -> dict:
    """Background (solid, linear or radial gradient) and text colour with enough contrast."""
    scheme = rng.choices(["paper", "tinted", "sign", "dark", "linear", "radial"], [30, 15, 15, 14, 16, 10])[0]
    for _ in range(100):
        # light background with dark text, or the other way round
        light = {"paper": 1.0, "tinted": 1.0, "linear": 0.8, "radial": 0.8, "sign": 0.35, "dark": 0.0}[scheme] > rng.random()
        if scheme == "paper":
            stops = [_jitter((0.97, 0.96, 0.93) if rng.random() < 0.5 else (1.0, 1.0, 1.0), rng, 0.04)]
        elif scheme == "tinted":
            stops = [_hsv(rng, (0.05, 0.3), (0.85, 1.0))]
        elif scheme == "sign":
            stops = [_hsv(rng, (0.5, 1.0), (0.75, 1.0) if light else (0.3, 0.7))]
        elif scheme == "dark":
            stops = [_hsv(rng, (0.0, 0.6), (0.02, 0.3))]
        else:
            value = (0.75, 1.0) if light else (0.05, 0.4)
            stops = [_hsv(rng, (0.0, 0.6), value), _hsv(rng, (0.0, 0.6), value)]
        if light:
            text = _hsv(rng, (0.0, 0.9), (0.0, 0.35)) if rng.random() < 0.5 else _jitter((0.05, 0.05, 0.08), rng, 0.05)
        else:
            text = _hsv(rng, (0.0, 0.7), (0.85, 1.0)) if rng.random() < 0.5 else _jitter((0.97, 0.97, 0.97), rng, 0.03)
        if min(abs(luminance(text) - luminance(stop)) for stop in stops) >= 0.45:
            return {"scheme": scheme, "background": [list(map(_r3, s)) for s in stops], "text": list(map(_r3, text)),
                    "gradient_angle": _r3(rng.uniform(0, 2 * math.pi)) if scheme == "linear" else None}
    return {"scheme": "paper", "background": [[1.0, 1.0, 1.0]], "text": [0.0, 0.0, 0.0], "gradient_angle": None}


def _r3(value: float) -> float:
    return round(value, 3)


def pick_size(rng: random.Random, label: str) -> int:
    size = rng.choices([rng.randint(12, 17), rng.randint(18, 27), rng.randint(28, 43), rng.randint(44, 64)],
                       [28, 36, 24, 12])[0]
    # Long lines at smaller sizes: about 1,000 px wide at most before any rescale.
    width_em = sum(1.0 if ord(c) > 0x7F else 0.58 for c in label)
    return max(12, min(size, int(1000 / max(width_em, 1))))


def pick_style(rng: random.Random, label: str) -> dict:
    size = pick_size(rng, label)
    colours = pick_colours(rng)
    effect = rng.choices(["none", "shadow", "outline"], [80, 11, 9])[0]
    darker = [_r3(c * 0.3) for c in colours["text"]]
    contrasting = [0.0, 0.0, 0.0] if luminance(colours["text"]) > 0.5 else [1.0, 1.0, 1.0]
    small = size < 16
    return {
        "size_px": size,
        "letter_spacing_em": 0.0 if rng.random() < 0.55 else _r3(rng.uniform(-0.06, 0.25)),
        "colours": colours,
        "effect": effect,
        "shadow": {
            "dx": rng.choice([-1, 1, 1]) * max(1, round(size * rng.uniform(0.02, 0.07))),
            "dy": max(1, round(size * rng.uniform(0.02, 0.07))),
            "alpha": _r3(rng.uniform(0.3, 0.6)),
            "colour": darker if luminance(colours["text"]) < 0.5 else contrasting,
        } if effect == "shadow" else None,
        "outline": {"width_em": _r3(rng.uniform(0.04, 0.1)), "colour": contrasting} if effect == "outline" else None,
        "rotation_deg": 0.0 if rng.random() < 0.45 else _r3(rng.uniform(-3.0, 3.0)),
        # left, top, right, bottom, as fractions of the font size: tight to generous
        "padding_em": [_r3(rng.uniform(0.02, 0.9) ** 1.5) for _ in range(4)],
        "antialias": rng.choices(["gray", "subpixel", "none"], [60, 32, 8 if size >= 20 else 0])[0],
        "hint_style": rng.choice(["none", "slight", "medium", "full"]),
        "hint_metrics": rng.choice(["on", "off"]),
        "illumination": _r3(rng.uniform(0.08, 0.25)) if rng.random() < 0.15 else 0.0,
        "blur_px": _r3(rng.uniform(0.3, 0.5 if small else 1.0)) if rng.random() < 0.25 else 0.0,
        "rescale": _r3(rng.uniform(max(0.45, 12 / size), 0.85)) if rng.random() < 0.25 and size >= 16 else 1.0,
        "noise_sigma": _r3(rng.uniform(1.5, 5 if small else 8)) if rng.random() < 0.3 else 0.0,
        "jpeg_quality": rng.randint(60 if small else 30, 90) if rng.random() < 0.3 else None,
        "mode": "RGB" if rng.random() < 0.2 else "L",
    }


# ----------------------------------------------------------------------------------------
# Drawing: Pango layout on a Cairo surface, then Pillow and numpy.
# ----------------------------------------------------------------------------------------

ANTIALIAS = {"gray": cairo.ANTIALIAS_GRAY, "subpixel": cairo.ANTIALIAS_SUBPIXEL, "none": cairo.ANTIALIAS_NONE}
HINT_STYLE = {"none": cairo.HINT_STYLE_NONE, "slight": cairo.HINT_STYLE_SLIGHT, "medium": cairo.HINT_STYLE_MEDIUM,
              "full": cairo.HINT_STYLE_FULL}
HINT_METRICS = {"on": cairo.HINT_METRICS_ON, "off": cairo.HINT_METRICS_OFF}


def ascii_runs(text: str) -> list[tuple[int, int]]:
    """Byte ranges (UTF-8, as Pango counts) of the maximal runs of ASCII characters."""
    runs, offset, start = [], 0, None
    for char in text:
        if char.isascii():
            start = offset if start is None else start
        elif start is not None:
            runs.append((start, offset))
            start = None
        offset += len(char.encode("utf-8"))
    if start is not None:
        runs.append((start, offset))
    return runs


class LineRenderer:
    def __init__(self, book: FontBook):
        self.book = book

    def _layout(self, cr, label: str, face: Face, latin: Face | None, style: dict):
        options = cairo.FontOptions()
        options.set_antialias(ANTIALIAS[style["antialias"]])
        options.set_hint_style(HINT_STYLE[style["hint_style"]])
        options.set_hint_metrics(HINT_METRICS[style["hint_metrics"]])
        if style["antialias"] == "subpixel":
            options.set_subpixel_order(cairo.SUBPIXEL_ORDER_RGB)
        layout = PangoCairo.create_layout(cr)
        PangoCairo.context_set_font_options(layout.get_context(), options)
        layout.set_font_description(FontBook.description(face, style["size_px"]))
        layout.set_text(label, -1)
        attributes = Pango.AttrList()
        if latin is not None:
            for start, end in ascii_runs(label):
                attribute = Pango.attr_font_desc_new(FontBook.description(latin, style["size_px"]))
                attribute.start_index, attribute.end_index = start, end
                attributes.insert(attribute)
        spacing = round(style["letter_spacing_em"] * style["size_px"] * Pango.SCALE)
        if spacing:
            attributes.insert(Pango.attr_letter_spacing_new(spacing))
        layout.set_attributes(attributes)
        PangoCairo.update_layout(cr, layout)
        return layout

    def check_runs(self, layout, label: str, face: Face, latin: Face | None) -> None:
        """Every shaped run must come from the face meant for its characters: no fallback font."""
        encoded = label.encode("utf-8")
        runs = layout.get_iter()
        while True:
            run = runs.get_run()
            if run is not None:
                item = run.item
                text = encoded[item.offset:item.offset + item.length].decode("utf-8")
                wanted = latin if latin is not None and text.isascii() else face
                found = self.book.font_file(item.analysis.font)
                if found != wanted.file:
                    raise FontError(f"{text!r} was drawn with {found}, not {wanted.file}")
            if not runs.next_run():
                break

    def render(self, label: str, face: Face, latin: Face | None, style: dict) -> Image.Image:
        size = style["size_px"]
        scratch = cairo.Context(cairo.ImageSurface(cairo.FORMAT_RGB24, 4, 4))
        layout = self._layout(scratch, label, face, latin, style)
        self.check_runs(layout, label, face, latin)
        ink, logical = layout.get_pixel_extents()
        left, top = min(ink.x, logical.x), min(ink.y, logical.y)
        right = max(ink.x + ink.width, logical.x + logical.width)
        bottom = max(ink.y + ink.height, logical.y + logical.height)
        width, height = right - left, bottom - top
        # A canvas with room for the rotated line, the largest padding and the effects.
        margin = 2 * size + 8
        angle = math.radians(style["rotation_deg"])
        canvas_w = math.ceil(width * abs(math.cos(angle)) + height * abs(math.sin(angle))) + 2 * margin
        canvas_h = math.ceil(width * abs(math.sin(angle)) + height * abs(math.cos(angle))) + 2 * margin
        surface = cairo.ImageSurface(cairo.FORMAT_RGB24, canvas_w, canvas_h)
        mask_surface = cairo.ImageSurface(cairo.FORMAT_A8, canvas_w, canvas_h)
        cr, mask = cairo.Context(surface), cairo.Context(mask_surface)
        for context in (cr, mask):  # the same frame: centre of the line, rotated
            context.translate(canvas_w / 2, canvas_h / 2)
            context.rotate(angle)
        self._paint_background(cr, style["colours"], width, height)
        origin = (-width / 2 - left, -height / 2 - top)
        for context, is_mask in ((cr, False), (mask, True)):
            layout = self._layout(context, label, face, latin, style)
            self.check_runs(layout, label, face, latin)
            self._draw_text(context, layout, origin, style, is_mask)
        surface.flush()
        mask_surface.flush()
        pixels = np.ndarray((canvas_h, surface.get_stride() // 4, 4), np.uint8, surface.get_data())[:, :canvas_w]
        rgb = pixels[:, :, 2::-1].copy() if sys.byteorder == "little" else pixels[:, :, 1:].copy()
        alpha = np.ndarray((canvas_h, mask_surface.get_stride()), np.uint8, mask_surface.get_data())[:, :canvas_w]
        rows, cols = np.nonzero(alpha)  # every inked pixel, so nothing is cropped off
        if rows.size == 0:
            raise FontError(f"{label!r}: nothing was drawn")
        pad = [round(p * size) + 1 for p in style["padding_em"]]
        x0, x1 = max(0, cols.min() - pad[0]), min(canvas_w, cols.max() + 1 + pad[2])
        y0, y1 = max(0, rows.min() - pad[1]), min(canvas_h, rows.max() + 1 + pad[3])
        return Image.fromarray(rgb[y0:y1, x0:x1], "RGB")

    @staticmethod
    def _paint_background(cr, colours: dict, width: float, height: float) -> None:
        stops = colours["background"]
        if colours["scheme"] == "linear":
            angle = colours["gradient_angle"]
            dx, dy = math.cos(angle) * width / 2, math.sin(angle) * height / 2
            pattern = cairo.LinearGradient(-dx, -dy, dx, dy)
        elif colours["scheme"] == "radial":
            pattern = cairo.RadialGradient(0, 0, 0, 0, 0, max(width, height) / 2 + 10)
        else:
            pattern = cairo.SolidPattern(*stops[0])
        if len(stops) > 1:
            pattern.add_color_stop_rgb(0, *stops[0])
            pattern.add_color_stop_rgb(1, *stops[1])
        cr.set_source(pattern)
        cr.paint()

    @staticmethod
    def _draw_text(cr, layout, origin, style: dict, is_mask: bool) -> None:
        x, y = origin
        text = (0, 0, 0, 1) if is_mask else (*style["colours"]["text"], 1)
        if style["effect"] == "shadow":
            shadow = style["shadow"]
            cr.move_to(x + shadow["dx"], y + shadow["dy"])
            cr.set_source_rgba(*(0, 0, 0) if is_mask else shadow["colour"], shadow["alpha"])
            PangoCairo.show_layout(cr, layout)
        if style["effect"] == "outline":
            outline = style["outline"]
            cr.move_to(x, y)
            PangoCairo.layout_path(cr, layout)
            cr.set_source_rgba(*(0, 0, 0, 1) if is_mask else (*outline["colour"], 1))
            cr.set_line_width(max(1.0, outline["width_em"] * style["size_px"]))
            cr.set_line_join(cairo.LINE_JOIN_ROUND)
            cr.stroke()
        cr.move_to(x, y)
        cr.set_source_rgba(*text)
        PangoCairo.show_layout(cr, layout)


FILE_BUDGET = 12_000  # bytes: above it, store grey, then smaller (never under STORE_MIN_HEIGHT)
STORE_MIN_HEIGHT = 40


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def store(image: Image.Image, style: dict) -> tuple[bytes, Image.Image]:
    """The PNG to write: grey when colour costs too much, then scaled down to the budget."""
    data = png_bytes(image)
    if len(data) > FILE_BUDGET and image.mode != "L":
        image = image.convert("L")
        style["mode"] = "L"
        data = png_bytes(image)
    if len(data) > FILE_BUDGET and image.height > STORE_MIN_HEIGHT:
        scale = max(STORE_MIN_HEIGHT / image.height, math.sqrt(FILE_BUDGET / len(data)))
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
        style["stored_scale"] = _r3(scale)
        data = png_bytes(image)
    return data, image


def degrade(image: Image.Image, style: dict, np_rng: np.random.Generator) -> Image.Image:
    """Uneven light, blur, a down/up-scale round trip, noise and JPEG, as the style says."""
    if style["illumination"]:
        h, w = image.height, image.width
        field = np_rng.random((3, 4)).astype(np.float32)
        field = np.asarray(Image.fromarray((field * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), np.float32)
        gain = 1.0 - style["illumination"] * field / 255.0
        image = Image.fromarray(np.clip(np.asarray(image, np.float32) * gain[:, :, None], 0, 255).astype(np.uint8))
    if style["blur_px"]:
        image = image.filter(ImageFilter.GaussianBlur(style["blur_px"]))
    if style["rescale"] != 1.0:
        size = image.size
        small = (max(1, round(size[0] * style["rescale"])), max(1, round(size[1] * style["rescale"])))
        image = image.resize(small, Image.BILINEAR).resize(size, Image.BICUBIC)
    if style["noise_sigma"]:
        values = np.asarray(image, np.float32) + np_rng.normal(0, style["noise_sigma"], (image.height, image.width, 1))
        image = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))
    if style["jpeg_quality"]:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=style["jpeg_quality"])
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return image.convert(style["mode"])


# ----------------------------------------------------------------------------------------
# The set.
# ----------------------------------------------------------------------------------------


def pick_faces(rng: random.Random, book: FontBook, label: str, text_slice: str) -> tuple[Face, Face | None]:
    """A face that has every character of the label, and a Latin face for its ASCII runs where needed."""
    has_ascii = any(c.isascii() for c in label)
    for _ in range(50):
        if text_slice in ("en", "digits") and rng.random() < 0.8:
            face, latin = _pick(rng, _pick(rng, list(LATIN_FACES.values()))), None
        else:
            candidates = CJK_FACES if text_slice in ("zh", "mixed") else {
                key: faces for key, faces in CJK_FACES.items() if faces[0].latin_design}
            face = _pick(rng, _pick(rng, list(candidates.values())))
            latin = None
            if has_ascii and (not face.latin_design or (text_slice == "mixed" and rng.random() < 0.35)):
                latin = _pick(rng, [f for f in _pick(rng, list(LATIN_FACES.values())) if not f.italic])
        non_ascii = "".join(c for c in label if not c.isascii())
        ascii_part = "".join(c for c in label if c.isascii())
        if latin is not None:
            ok = book.covers(face, non_ascii) and book.covers(latin, ascii_part)
        else:
            ok = book.covers(face, label)
        if ok:
            return face, latin
    raise FontError(f"no outside face covers {label!r}")


def face_record(face: Face | None) -> dict | None:
    if face is None:
        return None
    return {"family": face.family, "typographic_family": face.typographic_family, "style": face.style,
            "weight": face.weight, "file": face.file, "package": face.package}


def build(out: Path, per_slice: int, seed: int) -> dict[str, int]:
    check_sources()
    book = FontBook()
    for faces in list(CJK_FACES.values()) + list(LATIN_FACES.values()):
        for face in faces:
            book.check(face)
    renderer = LineRenderer(book)

    order_rng = random.Random(seed)
    order = [s for s in SLICES for _ in range(per_slice)]
    order_rng.shuffle(order)

    images = out / "images"
    if images.exists():
        shutil.rmtree(images)
    images.mkdir(parents=True)
    seen: set[str] = set()
    rows, records, counts = [], [], dict.fromkeys(SLICES, 0)
    for number, text_slice in enumerate(order, 1):
        rng = random.Random(f"{seed}:{number}")  # each line has its own stream
        for _ in range(200):
            label = TEXT_SOURCES[text_slice](rng)
            if label not in seen and not label_problems(label) and slice_of(label) == text_slice:
                break
        else:
            sys.exit(f"bench/external.py: could not draw a new {text_slice} line for image {number}")
        seen.add(label)
        face, latin = pick_faces(rng, book, label, text_slice)
        style = pick_style(rng, label)
        image = renderer.render(label, face, latin, style)
        image = degrade(image, style, np.random.default_rng([seed, number]))
        style["stored_scale"] = 1.0
        data, image = store(image, style)
        name = labels.member_name(number, label, "png")
        (images / name).write_bytes(data)
        rows.append(f"images/{name}\t{label}")
        records.append({"path": f"images/{name}", "label": label, "slice": text_slice, "font": face_record(face),
                        "latin_font": face_record(latin), "width": image.width, "height": image.height, **style})
        counts[text_slice] += 1

    (out / "labels.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with open(out / "styles.jsonl", "w", encoding="utf-8") as file:
        file.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "external", help="output folder")
    parser.add_argument("--per-slice", type=int, default=130, help="lines per slice (digits, en, zh, mixed)")
    parser.add_argument("--seed", type=int, default=20240501, help="seed of texts, fonts and styles")
    args = parser.parse_args(argv)
    try:
        counts = build(args.out, args.per_slice, args.seed)
    except FontError as error:
        sys.exit(f"bench/external.py: {error}")
    size = sum(path.stat().st_size for path in (args.out / "images").iterdir())
    print(f"{sum(counts.values())} images in {args.out}: {counts}; images {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
