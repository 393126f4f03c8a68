"""Which fields of Billy payloads, tool arguments and log extras are kept, hashed or scanned.

Keys are compared normalised (lower case, without ``_`` and ``-``), so ``contactMessage``,
``contact_message`` and ``x-access-token`` are all understood. The first rule that matches wins:

1. **Hashed whole** (:data:`HASHED`): personal or secret fields: e-mail, phone/mobile/fax,
   street/address, first/last/full names, CPR, IBAN and bank/card numbers, tokens, passwords,
   Billy's ``accessCode`` (customer-portal secret). The marker kind comes from the rule.
2. **Kept** (:func:`classify` returns ``KEEP``) when the value is a number, a boolean, ``None`` or
   one token (no whitespace, no ``@``; other strings are scanned, so a misnamed field cannot
   leak a sentence or an e-mail address): record ids (``id``, ``*Id``, ``*Ids``, ``*_id``),
   booleans (``is*``, ``has*``), dates, times and periods, amounts, prices, balances, rates, fees,
   quantities and counts, states, types and modes, currencies and countries, numbers such as
   ``invoiceNo``/``accountNo``/``voucherNo``, codes (``zipcode`` included), CVR
   (``registrationNo``/``cvr``/``vatNo``) and EAN/GLN.
3. **Scanned** (everything else): free text such as ``contactMessage``, ``description``,
   ``lineDescription``, ``text``, ``emailBody``, company ``name``, ``city``, URLs; only what
   the detectors find is replaced.

A ``name`` is a person's name, and hashed, inside a person container (``contactPersons``,
``users``, ``attContactPerson``…) or in a dict whose ``type`` is ``"person"`` (a Billy contact
of type person). Other names (companies, products, accounts, cities) stay readable.
"""

from __future__ import annotations

import functools
import re

KEEP = "keep"
SCAN = "scan"

HASHED: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r".*e?mails?(?:address(?:es)?)?")),
    ("phone", re.compile(r".*(?:phone|mobile|mobil|fax|tlf)(?:no|nr|number)?s?")),
    ("address", re.compile(r".*(?:street|address|addressline)\d*s?")),
    ("name", re.compile(r"(?:first|last|middle|full|given|family|sur|person|contactperson)name")),
    ("cpr", re.compile(r"cpr(?:no|nr|number)?|personn(?:umme)?r|ssn|nationalid")),
    ("iban", re.compile(r".*iban")),
    ("bank", re.compile(r"bankaccount(?:no|nr|number)?|accountnumber|konto(?:nr|nummer)")),
    ("card", re.compile(r"(?:credit)?card(?:no|nr|number)?|pan")),
    (
        "secret",
        re.compile(r".*(?:token|password|passwd|secret|apikey|accesscode|authorization|cookie)s?|t?otp"),
    ),
)

_KEEP_EXACT = frozenset(
    "id ids type state status currency country locale region unit ean gln cvr cvrno senr vatno "
    "vatnumber registrationno side priority success statuscode method resource tool plugin level "
    "outcome decision sort sortproperty sortdirection page pagecount pagesize offset limit include "
    "discountvalue exchangerate quantity count totalcount".split()
)
_KEEP_SUFFIXES = (
    *("date", "time", "period", "days", "month", "year", "seconds", "duration"),
    *("amount", "price", "balance", "rate", "fee", "tax", "total", "percentage", "percent"),
    *("mode", "state", "type", "status", "role", "no", "nr", "number", "code", "version", "hash"),
)
_ID_KEY = re.compile(r"(?:Id|Ids|ID|_id|_ids)$|^(?:is|has)[A-Z_]")

PERSON_CONTAINERS = frozenset(
    "contactperson contactpersons attcontactperson user users owneruser copytouser person persons "
    "people recipient recipients employee employees".split()
)
PERSON_NAME_KEYS = frozenset({"name", "displayname"})


def normalise_key(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


@functools.lru_cache(maxsize=4096)
def classify(key: str) -> str:
    """``KEEP``, ``SCAN`` or the marker kind under which the whole value is hashed."""
    norm = normalise_key(key)
    for kind, pattern in HASHED:
        if pattern.fullmatch(norm):
            return kind
    if norm in _KEEP_EXACT or _ID_KEY.search(key) or norm.endswith(_KEEP_SUFFIXES):
        return KEEP
    return SCAN


@functools.lru_cache(maxsize=1024)
def is_person_container(key: str) -> bool:
    return normalise_key(key) in PERSON_CONTAINERS
