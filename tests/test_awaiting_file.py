"""超大附件 mail (the article behind an expiring download link) waits as `awaiting_file` (待补交):
it counts toward nothing until the unit's file arrives or a reviewer accepts the body."""
from __future__ import annotations

import email
import json
from datetime import datetime
from email import policy
from pathlib import Path

from support.mailfactory import make_mail
from support.mbcli import Mailbridge

from mailbridge.parse.html import expiry_words

SAMPLES = Path(__file__).resolve().parent / "samples"
# Quota 1: before the fix the 163 sample's cover note alone made the month "本月任务已完成".
ROSTER = ("单位,姓名,电子信箱,单位类型,任务数\n"
          "卢氏县科协,杨晓红,lsxkx@163.com,county,1\n"
          "渑池县科协,王建军,1987654321@qq.com,county,1\n")


def installation(root: Path) -> Mailbridge:
    mb = Mailbridge(root, [], receipts={"max_age_days": 0})
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    mb.ok("roster", "import", str(root / "roster.csv"))
    return mb


def import_files(mb: Mailbridge, *files: tuple[str, bytes]) -> None:
    folder = mb.root / f"in{len(list(mb.root.glob('in*')))}"
    folder.mkdir()
    for name, raw in files:
        (folder / name).write_bytes(raw)
    mb.ok("import", "--receipts", str(folder))


def sample(name: str) -> tuple[str, bytes]:
    return f"{name}.eml", (SAMPLES / f"{name}.eml").read_bytes()


def receipts(mb: Mailbridge) -> list[email.message.EmailMessage]:
    mails = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(mb.outbox.glob("*.eml"))]
    return [m for m in mails if m["Subject"].startswith("回执")]


def card(mb: Mailbridge, unit: str) -> dict:
    return {u["unit"]: u for u in json.loads(mb.ok("scorecard", "--month", "2026-11", "--json"))}[unit]


def remind_targets(mb: Mailbridge) -> set[str]:
    return {r["unit"] for r in json.loads(mb.ok("remind", "--month", "2026-11", "--dry-run", "--json"))}


def test_a_large_attachment_mail_waits_and_counts_once_its_file_arrives(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    import_files(mb, sample("netease_large_attachment_link"))
    [sub] = mb.submissions()
    assert sub["status"] == "awaiting_file" and "large_attachment_link" in sub["flags"]
    # Counted toward nothing: not the scorecard's quota, and the unit is still reminded.
    assert card(mb, "卢氏县科协")["submitted"] == 0 and not card(mb, "卢氏县科协")["quota_met"]
    assert "卢氏县科协" in remind_targets(mb)
    # The receipt: one instruction, with the link's expiry as 有效期至…, and no "done".
    [receipt] = receipts(mb)
    for part in (receipt.get_body(("plain",)), receipt.get_body(("html",))):
        body = part.get_content()
        assert "本月任务已完成" not in body and "已报送 0 篇" in body and "待补交" in body
        assert body.count("作为附件") == 1 and "重新发送" not in body
        assert "下载链接有效期至2026年12月7日 12:00" in body and "“卢氏县科普日活动视频.mp4”" in body
        assert "推荐客户端极速下载" not in body  # 163's advert for its client is no attachment
    # The clerk's ledger says 待补交.
    from openpyxl import load_workbook
    mb.ok("submissions", "list", "--month", "2026-11", "--xlsx", str(tmp_path / "ledger.xlsx"))
    sheet = load_workbook(tmp_path / "ledger.xlsx").active
    assert "待补交" in [cell.value for row in sheet.iter_rows() for cell in row]

    # Five days later the unit sends the document: it completes the waiting submission.
    import_files(mb, ("later.eml", make_mail(5000)))  # make_mail(5000) is written 2026-11-27
    waiting, arrived = mb.submissions()
    assert waiting["status"] == "superseded"
    assert arrived["status"] == "received" and "file_arrived" in arrived["flags"]
    shown = json.loads(mb.ok("submissions", "show", str(arrived["id"]), "--json"))
    assert shown["version_of"] == waiting["id"]
    assert card(mb, "卢氏县科协")["submitted"] == 1 and card(mb, "卢氏县科协")["quota_met"]
    assert "卢氏县科协" not in remind_targets(mb)
    later = receipts(mb)[-1].get_body(("plain",)).get_content()
    assert "本月任务已完成" in later and "已收到此前待补交稿件《卢氏县科协科普日活动视频》的文件" in later
    assert "内容相近" not in later  # it is the file that was owed, not a revision


def test_a_reviewer_may_accept_the_body_instead_and_it_is_audited(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    import_files(mb, sample("qq_large_attachment_link"))
    [sub] = mb.submissions()
    assert sub["status"] == "awaiting_file" and card(mb, "渑池县科协")["submitted"] == 0
    refused = mb.run("adopt", sub["receipt_no"], "网站")  # adopted, it would still count for nothing
    assert refused.returncode == 2 and "accept-body" in refused.stderr
    [receipt] = receipts(mb)
    assert "下载链接有效期至2026年12月22日 19:40" in receipt.get_body(("plain",)).get_content()
    out = mb.ok("accept-body", sub["receipt_no"], "--by", "dxb@smxkx.example", "--note", "正文即稿件")
    assert "body accepted" in out
    shown = json.loads(mb.ok("submissions", "show", str(sub["id"]), "--json"))
    assert shown["status"] == "received"
    assert [(d["action"], d["actor"], d["via"], d["note"]) for d in shown["decisions"]] == [
        ("accept_body", "dxb@smxkx.example", "cli", "正文即稿件")]
    assert card(mb, "渑池县科协")["submitted"] == 1
    assert "adopted" in mb.ok("adopt", sub["receipt_no"], "网站")
    again = mb.run("accept-body", sub["receipt_no"])
    assert again.returncode == 2 and "not waiting for a file" in again.stderr


def test_a_document_mail_with_a_link_counts_and_two_cover_notes_are_not_versions(tmp_path: Path) -> None:
    mb = installation(tmp_path)
    import_files(mb, sample("netease_large_attachment_link"),
                 ("again.eml", (SAMPLES / "netease_large_attachment_link.eml").read_bytes()
                  .replace(b"6e3a9c2.7b1c", b"6e3a9c2.7b1d").replace(b"12:00:27", b"12:30:27")))
    first, second = mb.submissions()
    # Alike cover notes are not a revision of one article: neither counts, neither is superseded.
    assert first["status"] == second["status"] == "awaiting_file"
    assert card(mb, "卢氏县科协")["submitted"] == 0


def test_expiry_words_read_the_forms_webmail_prints() -> None:
    arrived = datetime(2026, 11, 22, 12, 0)
    assert expiry_words("2026年12月07日 12:00", arrived) == "2026年12月7日 12:00"  # 163: "… 到期"
    assert expiry_words("2026年12月22日", arrived) == "2026年12月22日"
    assert expiry_words("30天", arrived) == "2026年12月22日 12:00"  # "30天后过期": from arrival
    assert expiry_words("无限期", arrived) == "无限期" and expiry_words("", arrived) == ""
