"""Account pages in Chromium: sign up, confirm the email and reset the password with the links
the worker leaves in the dev outbox, sign out and in (by keyboard), and see the API's errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.conftest import RunningServer, random_email
from tests.web.conftest import DESKTOP, PHONE, PageWatch, outbox_link, screenshot

pytestmark = pytest.mark.browser

SESSION_KEY = "interviewace.session"


async def stored_session(page: Any) -> Any:
    return await page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}'))")


async def test_sign_up_confirm_sign_out_and_reset_the_password_from_the_outbox(
    browser: Any,
    web_server: RunningServer,
    web_worker: Any,
    settings: Any,
) -> None:
    base = web_server.base_url
    data_dir = Path(settings.data_path)
    watch = PageWatch()
    context = await browser.new_context(viewport=DESKTOP)
    page = watch.attach(await context.new_page())
    address = random_email()
    password = "Quiet-harbour-lantern-47"

    await page.goto(f"{base}/register")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    await screenshot(page, "desktop-register")

    # The server's password policy answers 422 with a field error; it lands next to the field.
    await page.get_by_label("Full name").fill("Ada Lovelace")
    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill("too-short")
    await page.get_by_role("button", name="Create account").click()
    password_field = page.get_by_label("Password")
    await expect(password_field).to_have_attribute("aria-invalid", "true")
    await expect(page.locator(".field-error")).to_have_text("Must be at least 10 characters long")
    await expect(page.locator(".form-alert")).to_contain_text("Please correct the highlighted field")
    await screenshot(page, "desktop-register-error")

    await password_field.fill(password)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url(f"{base}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    await expect(page.locator(".alert-info")).to_contain_text(f"Please confirm {address}")
    stored = await stored_session(page)
    assert stored["user"]["email"] == address
    access_token = stored["tokens"]["access_token"]
    await screenshot(page, "desktop-home")

    link = await outbox_link(data_dir, address, "verify-email")
    assert link.startswith(f"{base}/verify-email#token=")
    await page.goto(link)
    await expect(page.locator(".alert-success")).to_have_text(f"Thank you: {address} is confirmed.")
    assert page.url == f"{base}/verify-email", "the token is removed from the address bar"
    await screenshot(page, "desktop-verify-email")
    async with httpx.AsyncClient(base_url=base) as http:
        me = (await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"})).json()
    assert me["email_verified"] is True
    await page.get_by_role("link", name="Continue").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")
    await expect(page.locator(".alert-info")).to_have_count(0)

    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url(f"{base}/login")
    assert await stored_session(page) is None
    async with httpx.AsyncClient(base_url=base) as http:
        revoked = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {access_token}"})
    assert revoked.status_code == 401, "signing out ends the session on the server too"

    await page.get_by_label("Email").fill(address)
    await page.get_by_label("Password").fill("Not-the-password-000")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator(".form-alert")).to_have_text("The email or password is incorrect.")
    await screenshot(page, "desktop-login-error")

    await page.get_by_role("link", name="Forgot your password?").click()
    await page.wait_for_url(f"{base}/forgot-password")
    await page.get_by_label("Email").fill(address)
    await page.get_by_role("button", name="Send reset link").click()
    await expect(page.locator(".alert-success")).to_contain_text(f"If an account exists for {address}")
    await screenshot(page, "desktop-forgot-password")

    link = await outbox_link(data_dir, address, "reset-password")
    await page.goto(link)
    assert page.url == f"{base}/reset-password"
    new_password = "Copper-meadow-violin-82"
    await page.get_by_label("New password", exact=True).fill(new_password)
    await page.get_by_label("Repeat the new password").fill(new_password + "x")
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.locator(".field-error")).to_have_text("Does not match the new password")
    await screenshot(page, "desktop-reset-password")
    await page.get_by_label("Repeat the new password").fill(new_password)
    await page.get_by_role("button", name="Set new password").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Password changed")

    # Signing in by keyboard alone: type, Tab, type, Enter.
    await page.get_by_role("link", name="Sign in").first.click()
    await page.wait_for_url(f"{base}/login")
    await page.get_by_label("Email").focus()
    await page.keyboard.type(address)
    await page.keyboard.press("Tab")
    await page.keyboard.type(new_password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Ada")

    assert not [url for url in watch.request_urls if "token" in url.lower()], "no token ever goes in a URL"
    watch.assert_clean()

    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    phone_page = watch.attach(await phone.new_page())
    for path, name in [
        ("/", "phone-landing"),
        ("/login", "phone-login"),
        ("/register", "phone-register"),
        ("/forgot-password", "phone-forgot-password"),
        ("/reset-password", "phone-reset-password-without-link"),
    ]:
        await phone_page.goto(f"{base}{path}")
        await expect(phone_page.get_by_role("heading", level=1)).to_be_visible()
        await screenshot(phone_page, name)
    await expect(phone_page.locator(".alert-error")).to_contain_text("needs the link")
    width = await phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "nothing overflows sideways on a phone"
    await phone_page.goto(f"{base}/")
    menu = phone_page.get_by_role("button", name="Menu")
    await expect(menu).to_have_attribute("aria-expanded", "false")
    nav_sign_in = phone_page.locator("#site-nav").get_by_role("link", name="Sign in")
    await expect(nav_sign_in).to_be_hidden()
    await menu.click()
    await expect(menu).to_have_attribute("aria-expanded", "true")
    await expect(nav_sign_in).to_be_visible()
    await screenshot(phone_page, "phone-menu-open")
    watch.assert_clean()
