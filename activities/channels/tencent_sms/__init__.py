"""Tencent Cloud SMS.

    send.py      send (``SendSms``, a pre-approved template)
    receipts.py  status reports (the receipts)
    replies.py   inbound SMS: what customers text back
    client.py    the SDK client (tencentcloud-sdk-python, never retrying)
    outcomes.py  the ``Code`` table

Tencent signs no callback: expose their path only to Tencent's addresses, at the edge.
"""
