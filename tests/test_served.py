from __future__ import annotations

import time

from proxy.served import ImageStore, token_of, url_for


def test_a_stored_image_is_served_until_it_expires() -> None:
    store = ImageStore(ttl=0.2)
    token = store.put(b"png")
    assert store.get(token) == b"png"
    time.sleep(0.3)
    assert store.get(token) is None


def test_the_store_is_bounded_oldest_first() -> None:
    store = ImageStore(max_images=2)
    first, second, third = store.put(b"1"), store.put(b"2"), store.put(b"3")
    assert store.get(first) is None and store.get(second) == b"2" and store.get(third) == b"3"


def test_links_are_unguessable_and_round_trip() -> None:
    store = ImageStore()
    a, b = store.put(b"x"), store.put(b"x")
    assert a != b and len(a) >= 32
    url = url_for("api.openai.com", 443, a)
    assert url == f"https://api.openai.com/pixelgate/fallback/{a}.png"
    assert token_of(url.removeprefix("https://api.openai.com")) == a
    assert url_for("gw.internal", 8443, a).startswith("https://gw.internal:8443/")
    assert token_of("/v1/images/generations") is None
