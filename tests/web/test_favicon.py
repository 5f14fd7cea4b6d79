"""Browsers ask every page for an icon: it is served, to anyone, so no page logs a 404."""

from __future__ import annotations


def test_favicon_is_served_to_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # the ICO header: reserved 0, type 1 (icon)


def test_pages_name_the_icon(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.ico">' in page
    with client.get("/static/favicon.ico") as icon:
        assert icon.status_code == 200
