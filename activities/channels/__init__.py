"""The channels: one folder per provider, and the machinery they share.

Generic modules (no provider's codes or wire format):
    base.py         what every adapter takes and returns (request, result, outcome)
    outcomes.py     the ``Rule`` of the providers' tables; failures with no answer
    calls.py        content checks; a wechatpy call with a refused token replaced once
    tokens.py       access tokens shared by every worker process (``TokenCache``)
    token_client.py the token handling the WeChat and WeCom SDK clients share
    registry.py     one adapter per channel, built from the settings

Provider folders (everything carepath knows about one provider):
    wechat/         WeChat Official Account
    wecom/          WeCom (企业微信) external contacts
    tencent_sms/    Tencent Cloud SMS
"""
