"""Technical lines that can hold no personal data are skipped; anything that might is read."""

from __future__ import annotations

import base64

import pytest

from proxy.detectors.technical import worth_reading

SKIPPED = [
    " v1 images generations",
    " v1beta models gemini-2.5-flash-image:generateContent",
    " v2beta stable-image generate sd3",
    "content-type: application/json",
    "user-agent: OpenAI/Python 2.54.0",
    "x-stainless-runtime-version: 3.11.7",
    "x-stainless-read-timeout: 600",
    "x-stainless-retry-count: 0",
    "x-goog-api-client: google-genai-sdk/1.52.0 gl-python/3.11.7",
    "accept: */*",
    "gpt-image-1\n1024x1024",
    "model\nprompt\nsize\nn",
    "dall-e-3\nhd\nvivid\nb64_json",
    "",
]
READ = [
    "x-end-user: jane.doe@example.org",
    "user 4539148803436467",
    "4539 1488 0343 6467",
    "4539-1488-0343-6467",
    "call 415 555 0100",
    "415.555.0100",
    "+14155550100",
    "ssn 078-05-1120",
    "client 192.168.1.20",
    "2001:db8::1",
    "221B Baker Street",
    "x-name: John Smith",
    "jane at example dot com",
    "four five three nine",
    "jane&#64;example.org",
    "jane%40example.org",
    "x-note: " + base64.b64encode(b"jane.doe@example.org").decode(),
    "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    "\uff14\uff15\uff13\uff19",  # full-width digits
    "GB82 WEST 1234 5698 7654 32",
    "born 1990-01-02",
    "x-safe: fine\nx-user: jane.doe@example.org",
]


@pytest.mark.parametrize("text", SKIPPED)
def test_technical_lines_without_personal_data_are_skipped(text: str) -> None:
    assert not worth_reading(text)


@pytest.mark.parametrize("text", READ)
def test_lines_that_could_hold_personal_data_are_read(text: str) -> None:
    assert worth_reading(text)
