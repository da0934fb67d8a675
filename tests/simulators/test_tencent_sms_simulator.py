"""The Tencent Cloud SMS simulator: TC3 signatures, SendSms answers, status pushes."""

from __future__ import annotations

import json

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.sms.v20210111 import models

from activities.channels.tencent_sms.client import build_sms_client
from simulators import ProviderSimulators
from tests.simulators.receiver import Receiver

PHONE = "+8613800138000"


def send(sims: ProviderSimulators, params: list[str], **sms: str) -> models.SendSmsResponse:
    settings = sims.channel_settings().sms.model_copy(update=sms)
    req = models.SendSmsRequest()
    req.PhoneNumberSet = [PHONE]
    req.SmsSdkAppId = settings.sdk_app_id
    req.SignName = "某某眼科"
    req.TemplateId = "1234567"
    req.TemplateParamSet = params
    req.SessionContext = "enr-1:step-2:sms:1"
    return build_sms_client(settings, timeout=2).SendSms(req)


def test_accepted_send_is_recorded_with_its_serial_no(sims: ProviderSimulators) -> None:
    sims.sms.register_template("1234567", "{1}您好,您预约的{2}尚未支付。")
    status = send(sims, ["王女士", "角膜塑形镜"]).SendStatusSet[0]
    assert (status.Code, status.PhoneNumber, status.Fee, status.IsoCode) == ("Ok", PHONE, 1, "CN")
    assert status.SessionContext == "enr-1:step-2:sms:1"
    [message] = sims.sms.messages
    assert message.provider_ref == status.SerialNo
    assert message.content["text"] == "王女士您好,您预约的角膜塑形镜尚未支付。"
    assert sims.sms.receipt_for(status.SerialNo) == ("SUCCESS", 5.0)


def test_template_parameter_count_is_checked(sims: ProviderSimulators) -> None:
    sims.sms.register_template("1234567", "{1}您好,您预约的{2}尚未支付。")
    with pytest.raises(TencentCloudSDKException) as raised:
        send(sims, ["王女士"])
    assert raised.value.code == "FailedOperation.TemplateParamSetNotMatchApprovedTemplate"
    assert sims.sms.messages == []


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        ({"secret_key": "wrong-key"}, "AuthFailure.SignatureFailure"),
        ({"secret_id": "AKIDsomeoneelse"}, "AuthFailure.SecretIdNotFound"),
    ],
)
def test_signature_is_verified(
    sims: ProviderSimulators, credentials: dict[str, str], code: str
) -> None:
    with pytest.raises(TencentCloudSDKException) as raised:
        send(sims, [], **credentials)
    assert raised.value.code == code
    assert raised.value.requestId
    assert sims.sms.messages == []


def test_errors_are_http_200_with_plain_application_json(sims: ProviderSimulators) -> None:
    answer = requests.post(
        sims.sms.base_url,
        data=b"{}",
        headers={"Content-Type": "application/json", "X-TC-Action": "SendSms"},
        timeout=2,
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["Response"]["Error"]["Code"] == "AuthFailure.InvalidAuthorization"


def test_per_number_codes_and_request_codes(sims: ProviderSimulators) -> None:
    sims.sms.configure(
        per_call=[
            "LimitExceeded.PhoneNumberDailyLimit",
            "FailedOperation.SignatureIncorrectOrUnapproved",
        ]
    )
    status = send(sims, []).SendStatusSet[0]
    assert (status.Code, status.SerialNo, status.Fee) == (
        "LimitExceeded.PhoneNumberDailyLimit",
        "",
        0,
    )
    with pytest.raises(TencentCloudSDKException) as raised:
        send(sims, [])
    assert raised.value.code == "FailedOperation.SignatureIncorrectOrUnapproved"


def test_status_report_is_pushed(sims: ProviderSimulators, receiver: Receiver) -> None:
    sims.sms.configure(
        callback_url=receiver.url, default={"receipt": "FAIL:MK:0005", "after": 0.05}
    )
    serial = send(sims, []).SendStatusSet[0].SerialNo
    push = receiver.next()
    assert push.content_type == "application/json"
    [report] = json.loads(push.body)
    assert set(report) == {
        "user_receive_time",
        "nationcode",
        "mobile",
        "report_status",
        "errmsg",
        "description",
        "sid",
    }
    assert (report["sid"], report["report_status"], report["errmsg"]) == (serial, "FAIL", "MK:0005")
    assert (report["nationcode"], report["mobile"]) == ("86", "13800138000")


def test_status_reports_go_to_the_registered_url_with_the_callback_token(
    sims: ProviderSimulators, receiver: Receiver
) -> None:
    # Tencent signs no callback: the operator registers the URL with carepath's secret
    # in its query, and the simulator posts to it the same way.
    sims.sms.configure(callback_url=receiver.url, default={"after": 0.05})
    send(sims, [])
    path = receiver.next().path
    assert path == f"/callback?token={sims.settings.sms.callback_token}"
    # A URL that names its token already is posted to as given.
    assert sims.sms.registered("http://x/cb?token=abc") == "http://x/cb?token=abc"
