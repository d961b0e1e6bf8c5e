"""Loggers of libraries that see request content, silenced in every PixelGate process.

Some log what they read: Presidio's IBAN recognizer logs a rejected candidate at ERROR and
its context enhancer the surrounding words at DEBUG; Pillow's TIFF reader logs every EXIF
tag value (camera serials, GPS) at DEBUG; RapidOCR resets its logger when an engine is
built. No level of theirs is safe, so none of their records may reach a handler.
"""

from __future__ import annotations

import logging

CONTENT_LOGGERS = ("presidio-analyzer", "decision_process", "PIL", "RapidOCR")


def silence_content_loggers() -> None:
    for name in CONTENT_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False
