"""Signing in and out of the console in Chromium: each role reaches the dashboard, a
wrong password does not, the sixth failure is refused, CSRF, and ``next``."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, Response, expect

from tests.browser.conftest import PASSWORD, STAFF_CLINICS, USERS, ConsoleServer, sign_in

pytestmark = pytest.mark.browser

ROLE_NAMES = {"admin": "管理员", "operator": "运营", "staff": "门店员工"}


def posted_login(response: Response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/login")


async def csrf_of(page: Page) -> str:
    """The session's CSRF token, as the signed-in page carries it."""
    return await page.locator("form.sign-out input[name=csrf_token]").input_value()


async def session_cookie(page: Page) -> str | None:
    cookies = await page.context.cookies()
    return next((c["value"] for c in cookies if c["name"] == "carepath_session"), None)


@pytest.mark.parametrize("username", list(USERS))
async def test_each_role_signs_in_to_the_dashboard(
    page: Page, console: ConsoleServer, username: str
) -> None:
    role, clinics, name = USERS[username]
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    await sign_in(page, username, path=page.url)

    await expect(page).to_have_url(console.url + "/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("看板")
    header = page.get_by_role("banner")
    await expect(header).to_contain_text(name)
    await expect(header.locator(".role")).to_have_text(ROLE_NAMES[role])
    await expect(page.locator(".card")).to_have_count(7)
    offered = await page.locator("#clinic_id option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    if role == "staff":
        assert offered == ["", *STAFF_CLINICS]
        await expect(page.locator("#clinic_id option").first).to_have_text("我的全部门店")
    else:  # every clinic with customers in the last 30 days, beyond the staff user's two
        assert offered[0] == "" and len(offered) > 1 + len(STAFF_CLINICS)
        assert set(offered[1:]) <= {f"c{i:02}" for i in range(1, 13)}
    cookie = next(c for c in await page.context.cookies() if c["name"] == "carepath_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


async def test_a_wrong_password_shows_an_error_and_signs_nobody_in(page: Page) -> None:
    await sign_in(page, "chen.admin", "not-the-password")

    await expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确，请检查后重试。")
    await expect(page).to_have_url(re.compile(r"/login$"))
    assert await session_cookie(page) is None
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next="))


async def test_the_sixth_failed_attempt_is_refused_with_429(page: Page) -> None:
    for _ in range(5):
        async with page.expect_response(posted_login) as sent:
            await sign_in(page, "li.ops", "guess-guess-guess")
        assert (await sent.value).status == 200
        await expect(page.get_by_role("alert")).to_contain_text("不正确")

    async with page.expect_response(posted_login) as sent:
        await sign_in(page, "li.ops", "guess-guess-guess")
    refused = await sent.value
    assert refused.status == 429
    assert 14 * 60 < int(refused.headers["retry-after"]) <= 15 * 60
    await expect(page.get_by_role("alert")).to_contain_text("登录失败次数过多，请在 15 分钟后")

    # Even the right password waits now: the limit is on attempts, not on guesses.
    async with page.expect_response(posted_login) as sent:
        await sign_in(page, "li.ops", PASSWORD)
    assert (await sent.value).status == 429
    assert await session_cookie(page) is None


async def test_a_post_without_the_csrf_token_is_refused(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, "chen.admin")
    await expect(page).to_have_url(console.url + "/")
    token = await csrf_of(page)

    forged = await page.request.post("/logout", form={"next": "/"}, max_redirects=0)
    assert forged.status == 403
    assert "此请求被拒绝" in await forged.text()
    wrong = await page.request.post("/logout", headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status == 403
    await page.goto("/")  # still signed in: nothing was changed
    await expect(page.get_by_role("heading", level=1)).to_have_text("看板")

    # The header htmx sends works as the form field does.
    kept = await page.request.post("/logout", headers={"X-CSRF-Token": token}, max_redirects=0)
    assert kept.status == 303 and kept.headers["location"] == "/login"
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next="))


async def test_signing_out_with_the_button_ends_the_session(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "wang.desk")
    secret = await session_cookie(page)
    assert secret is not None and console.store.find_session(secret) is not None

    await page.get_by_role("button", name="退出登录").click()

    await expect(page).to_have_url(re.compile(r"/login$"))
    assert console.store.find_session(secret) is None
    assert await session_cookie(page) is None


async def test_the_sign_in_form_needs_its_own_token(page: Page) -> None:
    await page.goto("/login")
    forged = await page.request.post(
        "/login", form={"username": "chen.admin", "password": PASSWORD}, max_redirects=0
    )
    assert forged.status == 403
    assert await session_cookie(page) is None


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/steal", "//evil.example/steal", "/\\evil.example", "/\t/evil.example"],
)
async def test_next_cannot_lead_off_site(page: Page, console: ConsoleServer, target: str) -> None:
    await page.goto("/login?" + "next=" + target.replace("\t", "%09").replace("\\", "%5C"))
    await expect(page.locator("input[name=next]")).to_have_value("/")
    await sign_in(page, "chen.admin", path=page.url)
    await expect(page).to_have_url(console.url + "/")

    # Posted straight to the form, too: the sign-in goes home, not to ``target``.
    await page.request.post("/logout", headers={"X-CSRF-Token": await csrf_of(page)})
    await page.goto("/login")
    form = {
        "username": "chen.admin",
        "password": PASSWORD,
        "next": target,
        "csrf_token": await page.locator("input[name=csrf_token]").input_value(),
    }
    answer = await page.request.post("/login", form=form, max_redirects=0)
    assert answer.status == 303 and answer.headers["location"] == "/"


async def test_next_brings_you_back_to_the_page_you_asked_for(
    page: Page, console: ConsoleServer
) -> None:
    await page.goto("/?from=2026-01-01&to=2026-01-31")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2F%3Ffrom%3D2026-01-01"))
    await sign_in(page, "chen.admin", path=page.url)
    await expect(page).to_have_url(console.url + "/?from=2026-01-01&to=2026-01-31")
    await expect(page.locator("#from")).to_have_value("2026-01-01")
