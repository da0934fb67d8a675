"""WeCom (企业微信) external contacts.

    send.py         send: a message queued for the staff member to confirm
    poll.py         the send-result poll (WeCom pushes no receipt)
    events.py       inbound contact callbacks (signed, encrypted): added, removed
    contact_way.py  contact-me QR codes
    client.py       the SDK client (wechatpy's enterprise client)

Outcomes: WeCom answers in the WeChat errcode scheme; its codes are rows of
``wechat/outcomes.py``, and its sends go through ``wechat/calls.py``.
"""
