"""Realistic personal data for the demo's free-text fields, so redaction can be tested on real shapes.

Every value placed is recorded, and `GET /_sandbox/info` lists them under `personal_data`.
"""

from __future__ import annotations

import random

from billy_sandbox.checksums import iban_for, luhn_check_digit


class PersonalData:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.values: dict[str, list[str]] = {"phone": [], "email": [], "cpr": [], "iban": [], "card": []}

    def _keep(self, kind: str, value: str) -> str:
        if value not in self.values[kind]:
            self.values[kind].append(value)
        return value

    def phone(self, grouped: bool) -> str:
        digits = self.rng.choice("2345") + "".join(self.rng.choice("0123456789") for _ in range(7))
        if grouped:
            value = "+45 " + " ".join(digits[i : i + 2] for i in range(0, 8, 2))
        else:
            value = digits
        return self._keep("phone", value)

    def email(self, local: str, domain: str) -> str:
        return self._keep("email", f"{local}@{domain}")

    def cpr(self) -> str:
        day, month, year = self.rng.randint(1, 28), self.rng.randint(1, 12), self.rng.randint(50, 99)
        return self._keep("cpr", f"{day:02d}{month:02d}{year:02d}-{self.rng.randint(1000, 9999)}")

    def iban(self) -> str:
        bban = "".join(self.rng.choice("0123456789") for _ in range(14))
        return self._keep("iban", iban_for("DK", bban))

    def card(self) -> str:
        partial = "4571" + "".join(self.rng.choice("0123456789") for _ in range(11))
        number = partial + str(luhn_check_digit(partial))
        return self._keep("card", " ".join(number[i : i + 4] for i in range(0, 16, 4)))


def slug(text: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "é": "e", "ü": "u", "ö": "o", "ä": "a"})
    return "".join(c for c in text.lower().translate(table) if c.isalnum() or c in "-.")
