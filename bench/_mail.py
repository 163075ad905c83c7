"""Realistic submission mail for the ingest benchmark, made fast enough for thousands of messages.

What a county 科协 officer sends from NetEase webmail (Coremail, GBK encoded-words), Foxmail
(UTF-8) or QQ Mail (gb18030): a short note, one .docx article of 20-60 KB built by python-docx,
and 1-3 photos of 100-300 KB. Every message is unique (Subject, Message-ID, and the bytes of
every attachment, so the archive really writes each file), yet almost nothing is encoded per
message:

* A small pool of .docx files and photo payloads is built once per seed.
* A photo is a 57-byte JPEG-like header (SOI, APP0/JFIF and a COM segment holding a per-message
  tag) followed by a pooled random payload and EOI. 57 bytes is one base64 line, so the header's
  base64 is simply concatenated with the payload's cached base64.
* A .docx is made unique by a per-message zip archive comment (still a valid zip/docx); all but
  its last partial base64 line come from the cache.

Messages use LF line ends (how Dovecot stores Maildir files); IMAP serves them with CRLF.
"""
from __future__ import annotations

import base64
import io
import random
import struct
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: mailkit

from mailkit.files import Doc
from mailkit.images import png_of_rows
from mailkit.mime import words

CST = timezone(timedelta(hours=8))
OFFICIAL = "smxskx@163.com"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_LINE = 57  # bytes per 76-character base64 line

# (unit, officer, address, client): the county units and societies that report to the city.
UNITS = [
    ("卢氏县科协", "杨晓红", "lsxkx@163.com", "coremail"),
    ("渑池县科协", "王建军", "mcxkx@163.com", "coremail"),
    ("渑池县科协", "王建军", "2856471930@qq.com", "qqmail"),
    ("灵宝市科协", "张丽", "lbskx@126.com", "foxmail"),
    ("灵宝市科协", "赵鹏", "zhaopeng_lb@163.com", "coremail"),
    ("陕州区科协", "刘洋", "szqkx2019@163.com", "coremail"),
    ("义马市科协", "陈静", "ymskx@163.com", "coremail"),
    ("湖滨区科协", "孙磊", "hbqkx@163.com", "foxmail"),
    ("三门峡市医学会", "郭敏", "smxyxh@163.com", "coremail"),
    ("三门峡市农学会", "高峰", "smxnxh@126.com", "foxmail"),
    ("三门峡职业技术学院科协", "马超", "kx@smxpt.edu.cn", "coremail"),
    ("河南中原黄金冶炼厂科协", "王喆", "wangzhe@zyhjyl.com.cn", "foxmail"),
]

TOPICS = [
    "科普大篷车走进{town}中心小学",
    "举办香菇标准化种植技术培训会",
    "苹果科技小院开展秋季果园管理技术培训",
    "召开基层科协“三长”工作座谈会",
    "丹参科技小院助力中药材产业提质增效",
    "院士专家工作站开展技术攻关交流活动",
    "开展全国科普日主题活动",
    "组织科技志愿者走进{town}开展科技助农服务",
    "举办青少年科技创新大赛",
    "开展“科技之春”科普宣传月活动",
    "召开学术年会暨优秀论文表彰会",
    "开展应急科普知识进社区活动",
]
TOWNS = ["官道口镇", "横涧乡", "寺河乡", "陈村乡", "张湾乡", "观音堂镇", "朱阳镇", "洪阳镇", "五里川镇"]

SENTENCES = [
    "活动现场，科普辅导员一边演示，一边用通俗易懂的语言讲解展品背后的声学、电学、磁学原理，引导群众动手操作、大胆提问。",
    "培训会上，市首席科普专家结合山区气候特点，围绕菌棒制作、温湿度管理、病虫害绿色防控等内容进行了系统讲解。",
    "在随后的现场教学环节，专家走进大棚，手把手指导种植户观察作物长势、掌握补水时机，并现场解答了生产中遇到的实际问题。",
    "“专家讲得实在，听得懂、用得上，今年的管理心里更有底了。”一位种植户高兴地说。",
    "近年来，县科协依托乡镇科协、农技协和科普示范基地，常态化开展“科技下乡”实用技术培训，累计举办各类培训班三十余期。",
    "驻院研究生与果农同吃同住同劳动，累计开展田间培训四十余场，指导建立示范园五个，推广新技术六项。",
    "与会人员结合各自工作实际，交流了在开展科普活动、联系服务科技工作者、推动科技助力乡村振兴等方面的经验做法。",
    "会议要求，各基层科协要进一步健全联络制度，建立工作台账，定期开展活动，切实打通科协服务群众的“最后一公里”。",
    "示范田平均亩产较传统种植方式增产百分之二十以上，有效成分含量全部达到药典标准，收购价每公斤高出零点五元。",
    "专家团队深入生产车间实地调研，详细了解工艺运行情况，并与技术骨干围绕炉况优化、综合回收、烟气治理等课题进行了深入研讨。",
    "县科协还向学校赠送了科普图书二百册，并为学校科技兴趣小组配备了航模、编程机器人等科技活动器材。",
    "下一步，县科协将持续推动优质科普资源向农村倾斜，让更多群众在家门口感受科技魅力，为乡村振兴注入科技力量。",
    "据了解，今年以来已组织科普活动二十六场次，发放科普资料五千余份，受益群众一万二千余人次。",
    "此次活动由县科协、县教育局、县农业农村局联合主办，各乡镇科协、农技协和科普志愿者队伍积极参与。",
]


@dataclass
class Generated:
    raw: bytes  # the whole message, LF line ends
    date: datetime  # arrival time: the Maildir file's mtime becomes the IMAP INTERNALDATE


def b64(data: bytes) -> bytes:
    """base64 in 76-character lines, each ended by LF (like every mail client)."""
    return base64.encodebytes(data)


def encoded_word(text: str, charset: str) -> str:
    """RFC 2047 B encoded-words of at most ~75 characters, folded onto continuation lines."""
    return "\n\t".join(words(text, charset, max_len=66 - len(charset)))


def random_png(rng: random.Random, nbytes: int) -> bytes:
    """A valid PNG of noise (incompressible): pads a .docx to the wanted size."""
    side = max(8, int((nbytes / 3) ** 0.5))
    rows = b"".join(b"\0" + rng.randbytes(side * 3) for _ in range(side))
    return png_of_rows(side, side, rows, level=1)


def article_text(rng: random.Random, chars: int) -> list[str]:
    paragraphs, total = [], 0
    while total < chars:
        para = "".join(rng.choice(SENTENCES) for _ in range(rng.randint(2, 5)))
        paragraphs.append(para)
        total += len(para)
    return paragraphs


def make_docx(rng: random.Random, title: str, unit: str, officer: str, target: int) -> bytes:
    """A python-docx article (title, 仿宋 body, a small photo) padded to about `target` bytes."""
    def build(picture: int) -> bytes:
        r = random.Random(rng.random())
        d = Doc()
        d.para(title, centre=True, bold=True, size=22, font="方正小标宋简体")
        for i, text in enumerate(article_text(r, r.randint(1500, 4000))):
            d.para(text, indent=32, size=16, font="仿宋_GB2312")
            if i == 1 and picture:
                d.picture(random_png(r, picture), width_inches=4)
        d.para(f"（{unit} {officer}）")
        rels = d.document.part.rels
        for rid, rel in list(rels.items()):  # Word 2010's leftover: 14 KB no Word 2016 writes
            if rel.reltype.endswith("/stylesWithEffects"):
                d.document.part.drop_rel(rid)
        return d.save(author=officer, created=datetime(2026, 9, 1))

    plain = build(0)
    return build(target - len(plain) - 400) if target - len(plain) > 1500 else plain


class Attachment:
    """A pooled file whose per-message copy differs only by a tag, with its base64 cached."""

    def __init__(self, data: bytes, kind: str) -> None:
        self.kind = kind
        self.size = len(data)
        if kind == "photo":  # data is the random payload; the 57-byte header is per message
            self.cached = b64(data + b"\xff\xd9")
        else:  # docx: everything before the last full base64 line ahead of the EOCD's comment length
            assert data[-22:-18] == b"PK\x05\x06" and data[-2:] == b"\0\0", "unexpected zip end"
            cut = (len(data) - 2) // _LINE * _LINE
            self.head, self.tail = data[:cut], data[cut:-2]
            self.cached = b64(self.head)

    def encoded(self, tag: bytes) -> bytes:
        """base64 of this file made unique by `tag` (at most 33 bytes)."""
        if self.kind == "photo":
            tag = tag[:33].ljust(33, b" ")
            header = (b"\xff\xd8" + b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                      + b"\xff\xfe" + struct.pack(">H", len(tag) + 2) + tag)
            assert len(header) == _LINE
            return b64(header) + self.cached
        comment = b"mailbridge bench " + tag
        return self.cached + b64(self.tail + struct.pack("<H", len(comment)) + comment)

    def materialise(self, tag: bytes) -> bytes:
        return base64.decodebytes(self.encoded(tag))


class MailFactory:
    """Builds the template set once (a second or two), then messages at memory speed."""

    def __init__(self, seed: int, docx_templates: int = 8, photo_templates: int = 16) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.docs: list[tuple[str, Attachment]] = []
        for i in range(docx_templates):
            unit, officer, _, _ = UNITS[i % len(UNITS)]
            title = TOPICS[i % len(TOPICS)].format(town=self.rng.choice(TOWNS))
            target = self.rng.randint(20_000, 60_000)
            data = make_docx(self.rng, title, unit, officer, target)
            self.docs.append((title, Attachment(data, "docx")))
        self.photos = [Attachment(self.rng.randbytes(self.rng.randint(100_000, 300_000) - 59), "photo")
                       for _ in range(photo_templates)]
        self.start = datetime(2026, 9, 1, 8, 0, tzinfo=CST)

    def message(self, n: int) -> Generated:
        """Message number n (0-based); deterministic for a seed."""
        r = random.Random(self.seed * 1_000_003 + n)
        unit, officer, addr, client = UNITS[r.randrange(len(UNITS))]
        title, doc = self.docs[r.randrange(len(self.docs))]
        photos = r.sample(self.photos, r.randint(1, 3))
        when = self.start + timedelta(seconds=n * 37 + r.randrange(30))
        tag = f"{self.seed}-{n}".encode()
        subject = f"【{unit}】{unit}{title}（第{n + 1}期）"
        charset = {"coremail": "GBK", "foxmail": "utf-8", "qqmail": "gb18030"}[client]
        codec = {"GBK": "gbk", "utf-8": "utf-8", "gb18030": "gb18030"}[charset]
        boundary = f"----=_Part_{r.randrange(10**6, 10**7)}_{r.randrange(10**8, 10**9)}.{int(when.timestamp())}"
        inner = f"----=_Part_{r.randrange(10**6, 10**7)}_{r.randrange(10**8, 10**9)}.alt"
        note = f"市科协：\n报送信息一篇，图片{len(photos)}张，请审阅。\n\n{officer}\n{unit}\n"
        html = "".join(f"<p>{line}</p>" for line in note.splitlines())
        date = format_datetime(when)
        headers = [
            (f"Received: from m16.mail.163.com (unknown [220.181.16.{r.randrange(2, 250)}])\n"
             f"\tby mx{r.randrange(20, 46)}.163.com (Coremail) with SMTP id {r.randrange(10**9):09d}--.{n}S2;\n"
             f"\t{date} (CST)"),
            f"Date: {date}",
            f"From: {encoded_word(officer if client != 'qqmail' else unit + '-' + officer, charset)} <{addr}>",
            f'To: "{OFFICIAL}" <{OFFICIAL}>',
            f"Subject: {encoded_word(subject, charset)}",
            {"coremail": "X-Mailer: Coremail Webmail Server Version 2023.3-cmXT build 20240625(e2a8b9a5)",
             "foxmail": "X-Mailer: Foxmail 7.2.25.228[cn]",
             "qqmail": "X-Mailer: QQMail 2.x"}[client],
            "MIME-Version: 1.0",
            f"Message-ID: <{r.getrandbits(64):016x}.{n}.bench.{self.seed}@{addr.split('@')[1]}>",
            f'Content-Type: multipart/mixed;\n\tboundary="{boundary}"',
        ]
        out = io.BytesIO()
        w = out.write
        w("\n".join(headers).encode())
        w(f"\n\nThis is a multi-part message in MIME format.\n\n--{boundary}\n"
          f'Content-Type: multipart/alternative;\n\tboundary="{inner}"\n\n'
          f"--{inner}\nContent-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: base64\n\n".encode())
        w(b64(note.encode(codec)))
        w(f"--{inner}\nContent-Type: text/html; charset={charset}\nContent-Transfer-Encoding: base64\n\n".encode())
        w(b64(html.encode(codec)))
        w(f"--{inner}--\n".encode())
        name = encoded_word(f"{unit}-{title}.docx", charset)
        w(f'\n--{boundary}\nContent-Type: {DOCX_TYPE};\n\tname="{name}"\n'
          f'Content-Disposition: attachment;\n\tfilename="{name}"\nContent-Transfer-Encoding: base64\n\n'.encode())
        w(doc.encoded(tag))
        for i, photo in enumerate(photos, start=1):
            pname = f"IMG_{when:%Y%m%d_%H%M}{i:02d}.jpg"
            w(f'\n--{boundary}\nContent-Type: image/jpeg;\n\tname="{pname}"\n'
              f'Content-Disposition: attachment;\n\tfilename="{pname}"\nContent-Transfer-Encoding: base64\n\n'.encode())
            w(photo.encoded(tag + f"-{i}".encode()))
        w(f"\n--{boundary}--\n".encode())
        return Generated(out.getvalue(), when)

    def big_message(self, megabytes: int = 50) -> Generated:
        """One message with a `megabytes` MB .zip of random bytes (a 医学会 sending all its photos)."""
        r = random.Random(self.seed * 7 + 50)
        when = self.start + timedelta(days=3)
        date = format_datetime(when)
        boundary = f"----=_Part_{r.randrange(10**6, 10**7)}_big.{int(when.timestamp())}"
        zip_name = encoded_word("三门峡市医学会2026年学术年会图片.zip", "GBK")
        note = "市科协：\n学术年会图片打包发送，请查收。\n\n郭敏\n三门峡市医学会\n".encode("gbk")
        head = "\n".join([
            f"Date: {date}",
            f"From: {encoded_word('郭敏', 'GBK')} <smxyxh@163.com>",
            f'To: "{OFFICIAL}" <{OFFICIAL}>',
            f"Subject: {encoded_word('三门峡市医学会2026年学术年会图片（压缩包）', 'GBK')}",
            "MIME-Version: 1.0",
            f"Message-ID: <{r.getrandbits(64):016x}.big.bench@163.com>",
            f'Content-Type: multipart/mixed;\n\tboundary="{boundary}"',
        ])
        payload = b"PK\x03\x04" + r.randbytes(megabytes * 1024 * 1024 - 4)
        raw = b"".join([
            head.encode(),
            f"\n\n--{boundary}\nContent-Type: text/plain; charset=GBK\nContent-Transfer-Encoding: base64\n\n".encode(),
            b64(note),
            f'\n--{boundary}\nContent-Type: application/x-zip-compressed;\n\tname="{zip_name}"\n'
            f'Content-Disposition: attachment;\n\tfilename="{zip_name}"\nContent-Transfer-Encoding: base64\n\n'.encode(),
            b64(payload),
            f"\n--{boundary}--\n".encode(),
        ])
        return Generated(raw, when)
