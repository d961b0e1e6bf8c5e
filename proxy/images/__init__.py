"""Uploaded images: decoding with limits, and redaction."""
