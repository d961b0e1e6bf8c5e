from __future__ import annotations

import time

from proxy.engine.served import ImageStore, Served, is_served_path, url_for


def test_a_stored_image_is_served_until_it_expires() -> None:
    store = ImageStore(ttl=0.2)
    path = store.put(b"png")
    assert store.get(path) == Served("image/png", b"png")
    time.sleep(0.3)
    assert store.get(path) is None


def test_the_store_is_bounded_oldest_first() -> None:
    store = ImageStore(max_items=2)
    first, second, third = store.put(b"1"), store.put(b"2"), store.put(b"3")
    assert store.get(first) is None
    assert store.get(second) == Served("image/png", b"2")
    assert store.get(third) == Served("image/png", b"3")


def test_links_are_unguessable_and_round_trip() -> None:
    store = ImageStore()
    a, b = store.put(b"x"), store.put(b"x")
    assert a != b and len(a) >= 32 + len("/pixelgate/fallback/")
    assert is_served_path(a) and a.endswith(".png")
    url = url_for("api.openai.com", 443, a)
    assert url == f"https://api.openai.com{a}"
    assert store.get(url.removeprefix("https://api.openai.com") + "?x=1") is not None
    assert url_for("gw.internal", 8443, a).startswith("https://gw.internal:8443/")
    assert not is_served_path("/v1/images/generations")


def test_a_document_can_be_served_at_the_exact_path_an_sdk_polls() -> None:
    store = ImageStore()
    path = store.put(b'{"status":"succeeded"}', "application/json", "/v1/predictions/pg-1")
    assert path == "/v1/predictions/pg-1"
    assert store.get("/v1/predictions/pg-1") == Served(
        "application/json", b'{"status":"succeeded"}'
    )
    assert store.get("/v1/predictions/other") is None
