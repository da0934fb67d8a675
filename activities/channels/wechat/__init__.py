"""WeChat Official Account.

    template.py, subscribe.py, text.py  sends (one adapter per channel)
    calls.py       one send: token, call, answer classified (WeCom's sends use it too)
    events.py      inbound callbacks (XML): follows, scans, messages, receipts
    signature.py   the callback URL's signature
    qrcodes.py     parameterized QR codes
    client.py      the SDK client (wechatpy, stable tokens)
    outcomes.py    the errcode table (WeCom answers in the same scheme)

Receipts arrive as callbacks (``events.py``); nothing is polled.
"""
