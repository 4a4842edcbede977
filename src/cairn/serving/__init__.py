"""Serving models over HTTP: the scoring app, its request codecs and the process that runs it."""

from __future__ import annotations
