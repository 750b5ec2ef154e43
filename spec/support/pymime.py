"""spec/support/pymime.py: Python's email package as an independent oracle
for the lmail.mime specs (stdlib only).

  pymime.py datadir           prints the directory of Python's own email
                              test corpus (test/test_email/data), or fails
  pymime.py describe FILE...  one JSON line per file and policy: the part
                              tree as Python's email reads it, compat32 and
                              policy.default
  pymime.py build DIR         writes messages built with Python's email
                              (non-ASCII subjects, GBK/GB2312 parts, RFC 2231
                              names, nested multiparts) to DIR/py_*.eml
"""
import hashlib
import json
import os
import sys
from email import message_from_bytes, policy
from email.header import decode_header, make_header


def datadir():
    import test.test_email
    d = os.path.join(os.path.dirname(test.test_email.__file__), "data")
    if not os.path.isfile(os.path.join(d, "msg_01.txt")):
        raise SystemExit("no msg_01.txt in " + d)
    return d


def decoded(value, pol):
    if value is None:
        return None
    if pol == "compat32":
        return str(make_header(decode_header(value)))
    return str(value)


def addresses(msg, pol):
    from email.utils import getaddresses
    out = {}
    for field in ("from", "to", "cc", "reply-to", "sender"):
        values = msg.get_all(field)
        if not values:
            continue
        if pol == "compat32":
            pairs = getaddresses([str(v) for v in values])
            out[field] = [[decoded(n, pol), a] for n, a in pairs]
        else:
            out[field] = [[a.display_name, a.addr_spec] for v in values for a in v.addresses]
    return out


def describe(msg, pol):
    node = {"ct": msg.get_content_type()}
    fn = msg.get_filename()
    if fn is not None:
        node["filename"] = decoded(fn, pol) if pol == "compat32" else str(fn)
    if msg.is_multipart():
        node["parts"] = [describe(p, pol) for p in msg.get_payload()]
    else:
        payload = msg.get_payload(decode=True)
        if payload is not None:
            node["md5"] = hashlib.md5(payload).hexdigest()
            node["size"] = len(payload)
    return node


def describe_file(path):
    raw = open(path, "rb").read()
    out = {"file": os.path.basename(path)}
    for name, pol in (("compat32", policy.compat32), ("default", policy.default)):
        try:
            msg = message_from_bytes(raw, policy=pol)
            tree = describe(msg, name)
            subj = msg["subject"]
            tree["subject"] = decoded(subj, name) if subj is not None else None
            tree["addresses"] = addresses(msg, name)
            if name == "default" and msg.get_body(("plain",)) is not None:
                try:
                    tree["text"] = msg.get_body(("plain",)).get_content()
                except Exception as e:  # noqa: BLE001 - recorded as data
                    tree["text_error"] = type(e).__name__
            out[name] = tree
        except Exception as e:  # noqa: BLE001 - recorded as data
            out[name] = {"error": "%s: %s" % (type(e).__name__, e)}
    return out


def build(outdir):
    from email.message import EmailMessage
    from email.mime.application import MIMEApplication
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    from email.header import Header

    m = EmailMessage()
    m["Subject"] = "验证码 / verification code"
    m["From"] = "张三 <zs@example.test>"
    m["To"] = "Bob <bob@example.test>"
    m.set_content("中文正文，第二行。\n")
    m.add_alternative("<p>中文 <b>HTML</b></p>\n", subtype="html")
    m.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="名单.csv")
    m.add_attachment(bytes(range(256)) * 40, maintype="application",
                     subtype="octet-stream", filename="Grüße über alles.bin")
    open(os.path.join(outdir, "py_default.eml"), "wb").write(bytes(m))

    c = MIMEMultipart("mixed")
    c["Subject"] = Header("测试邮件 GBK 主题", "gbk")
    c["From"] = "a@example.test"
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("简体中文 GB2312 正文\n", "plain", "gb2312"))
    alt.attach(MIMEText("<p>GBK 的 HTML 正文</p>\n", "html", "gbk"))
    c.attach(alt)
    rel = MIMEMultipart("related")
    rel.attach(MIMEText("<img src=cid:x>", "html", "utf-8"))
    img = MIMEApplication(b"\x89PNG\r\n\x1a\n" + bytes(200), "octet-stream")
    img.add_header("Content-ID", "<x>")
    img.add_header("Content-Disposition", "inline", filename=("utf-8", "", "图片.png"))
    rel.attach(img)
    c.attach(rel)
    att = MIMEApplication(b"%PDF-1.4\n" * 100, "pdf")
    att.add_header("Content-Disposition", "attachment",
                   filename=("gbk", "zh", "报告 2024 年度 很长的文件名 需要续行 以便测试.pdf"))
    c.attach(att)
    q = MIMEText("Ça va? Très bien.\n" * 3, "plain", "iso-8859-1")
    c.attach(q)
    open(os.path.join(outdir, "py_compat32.eml"), "wb").write(c.as_bytes())


def main():
    cmd = sys.argv[1]
    if cmd == "datadir":
        print(datadir())
    elif cmd == "describe":
        for path in sys.argv[2:]:
            print(json.dumps(describe_file(path), ensure_ascii=False, sort_keys=True))
    elif cmd == "build":
        build(sys.argv[2])
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
