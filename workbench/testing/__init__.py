"""Conversation tests: YAML scripts of user turns and expected replies, run headless."""
