"""Opaque 22-character ids like Billy's, derived from the seed so the same seed gives the same ids."""

from __future__ import annotations

import base64
import hashlib


class IdFactory:
    def __init__(self, seed: int, counter: int = 0) -> None:
        self.seed = seed
        self.counter = counter

    def new(self) -> str:
        self.counter += 1
        digest = hashlib.blake2b(f"{self.seed}:{self.counter}".encode(), digest_size=16).digest()
        return base64.urlsafe_b64encode(digest)[:22].decode("ascii")
