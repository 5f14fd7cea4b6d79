"""Each demo user signs in through the login page and lands on their role's home page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login


@pytest.mark.parametrize("username", ["prescriber", "technician", "pharmacist", "admin"])
def test_demo_user_sees_role_home(page, username):
    login(page, username)
    page.wait_for_url("**/home")
    assert page.locator(f"[data-home='{username}']").is_visible()
    assert page.locator(".badge-role").inner_text().strip() == username
    assert page.js_errors == []


def test_wrong_password_shows_error(page):
    login(page, "pharmacist", "not-the-password")
    error = page.locator("#login-error")
    assert error.is_visible()
    assert "Wrong username or password" in error.inner_text()
    assert "/login" in page.url


def test_sign_out_returns_to_login(page):
    login(page, "technician")
    page.wait_for_url("**/home")
    page.click("text=Sign out")
    page.wait_for_url("**/login")
    assert "signed out" in page.locator(".flash").inner_text()
