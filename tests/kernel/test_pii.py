"""PII filtering: detectors, field rules, keyed markers, log and body helpers."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loguru import logger
from stdnum import luhn
from stdnum.dk import cvr

from billy_core import pii
from billy_core.pii import KEEP, MARKER, SCAN, Redactor, classify, detect, loguru_patcher
from billy_core.pii import detectors as detectors_module

KEY = b"test-key-0123456789abcdef"
R = Redactor(KEY)


def kinds(text: str) -> list[str]:
    return [finding.kind for finding in detect(text)]


# --- detectors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("skriv til jens@example.dk i dag", "skriv til [email] i dag"),
        ("Jens.Hansen+faktura@Firma-Navn.co.uk.", "[email]."),
        ("Ring til +45 20 12 34 56", "Ring til [phone]"),
        ("0045 20123456", "[phone]"),
        ("+4520123456", "[phone]"),
        ("+45 2012 3456", "[phone]"),
        ("20 12 34 56", "[phone]"),
        ("20-12-34-56", "[phone]"),
        ("tlf. 20123456", "tlf. [phone]"),
        ("Mobil: 2012 3456", "Mobil: [phone]"),
        ("ring på 20123456", "ring på [phone]"),
        ("CPR 010190-1234", "CPR [cpr]"),
        ("cpr:0101901234.", "cpr:[cpr]."),
        ("IBAN DK50 0040 0440 1162 43, tak", "IBAN [iban], tak"),
        ("IBAN DK5000400440116243", "IBAN [iban]"),
        ("GB82 WEST 1234 5698 7654 32 KORT", "[iban] KORT"),
        ("konto 1234-1234567890", "konto [bank]"),
        ("reg. 1234 konto 12345678", "reg. [bank]"),
        ("Reg.nr. 1234 / 0012345678", "Reg.nr. [bank]"),
        ("kontonr. 0012345678", "kontonr. [bank]"),
        ("kort 4571 9940 0000 0005", "kort [card]"),
        ("kort 4571-9940-0000-0005.", "kort [card]."),
        ("4111111111111111", "[card]"),
    ],
)
def test_detectors_find_personal_values(text, expected):
    assert MARKER.sub(lambda m: f"[{m.group()[1:].split(':')[0]}]", R.redact_text(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "CVR 13748136",
        "CVR 25313763",
        "CVR-nr. 25 31 37 63",
        "SE-nr 25313763",
        "momsnr.: DK 25 31 37 63",
        "VAT DK-25313763",
        "DK25313763",
        "Telefon og CVR: 25313763",
        "Faktura 12345678 betalt",
        "10 12 34 56",
        "invoice 2024-01-15, amount 1234.50 DKK, 0.123s",
        "CPR-lignende 320190-1234 og 011390-1234",
        "kort 4571 9940 0000 0007",
        "IBAN DK50 0040 0440 1162 44",
        "EAN 5798000000087",
        "GLN: 5798000000087",
        "konto 1110 Salg",
        "faktura 2024-0001",
        "GET /v2/invoices/cSHBqWWITexZvQy29lqpYg -> 200 in 0.123s",
        "id ab0101901234cd and x7hHlzRkTdavUvtzrKUzRg",
        "correlation=5f1c2a9e1b2c4d3e9f00123456789abc",
        "no @ here, just a@b",
    ],
)
def test_non_personal_values_stay_readable(text):
    assert R.redact_text(text) == text


def test_phone_and_cvr_in_one_text():
    assert cvr.is_valid("25313763")
    text = "Tlf. 20123456, CVR 25313763, tlf. 30 12 34 56"
    assert (
        R.redact_text(text)
        == f"Tlf. {R.marker('phone', '20123456')}, CVR 25313763, tlf. {R.marker('phone', '30123456')}"
    )


def test_mod11_failing_cpr_is_still_redacted():
    assert detectors_module._cpr.checksum("0101901234") != 0
    assert kinds("0101901234") == ["cpr"]


def test_luhn_card_numbers_are_checked():
    assert luhn.is_valid("4571994000000005") and not luhn.is_valid("4571994000000007")
    assert luhn.is_valid("5798000000087")
    assert kinds("4571 9940 0000 0005") == ["card"]
    assert kinds("nummer 5798000000087") == ["card"]


def test_spellings_of_one_value_share_a_marker():
    spellings = {
        "email": ["jens@example.dk", "JENS@Example.DK"],
        "phone": ["+45 20 12 34 56", "0045 20123456", "tlf 20123456", "20-12-34-56"],
        "cpr": ["010190-1234", "0101901234"],
        "iban": ["DK50 0040 0440 1162 43", "DK5000400440116243"],
        "card": ["4571 9940 0000 0005", "4571-9940-0000-0005", "4571994000000005"],
        "bank": ["1234-0012345678", "reg. 1234 konto 12345678"],
    }
    for kind, texts in spellings.items():
        markers = {marker for text in texts for marker in MARKER.findall(R.redact_text(text))}
        assert len(markers) == 1, kind
        assert markers.pop().startswith(f"[{kind}:")


# --- markers and keys ----------------------------------------------------------------------


def test_markers_are_keyed_hashes():
    marker = R.marker("email", "jens@example.dk")
    assert re.fullmatch(r"\[email:[0-9a-f]{10}\]", marker)
    assert Redactor(KEY).marker("email", "jens@example.dk") == marker
    assert Redactor(b"another-key-0123456789").marker("email", "jens@example.dk") != marker
    assert R.marker("email", "anne@example.dk") != marker
    assert R.marker("cpr", "0101901234") != R.marker("bank", "0101901234")


def test_a_short_key_is_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Redactor(b"short")


def test_redaction_is_idempotent_and_protects_markers():
    text = "Ring til Jens på +45 20 12 34 56 eller jens@example.dk, CPR 010190-1234"
    once = R.redact_text(text)
    assert R.redact_text(once) == once
    digits_marker = "[cpr:0101901234]"  # a marker whose hash happens to be all digits
    assert R.redact_text(f"x {digits_marker} y") == f"x {digits_marker} y"


# --- field rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "rule"),
    [
        ("id", KEEP),
        ("contactId", KEEP),
        ("contact_id", KEEP),
        ("attachmentIds", KEEP),
        ("isPaid", KEEP),
        ("has_vat", KEEP),
        ("entryDate", KEEP),
        ("createdTime", KEEP),
        ("entryDatePeriod", KEEP),
        ("paymentTermsDays", KEEP),
        ("amount", KEEP),
        ("unitPrice", KEEP),
        ("exchangeRate", KEEP),
        ("state", KEEP),
        ("sentState", KEEP),
        ("taxMode", KEEP),
        ("currencyId", KEEP),
        ("invoiceNo", KEEP),
        ("invoice_no", KEEP),
        ("accountNo", KEEP),
        ("registrationNo", KEEP),
        ("ean", KEEP),
        ("zipcode", KEEP),
        ("emailAttachmentDeliveryMode", KEEP),
        ("email", "email"),
        ("billEmailAddress", "email"),
        ("phone", "phone"),
        ("mobile_no", "phone"),
        ("fax", "phone"),
        ("street", "address"),
        ("address_line2", "address"),
        ("firstName", "name"),
        ("cpr", "cpr"),
        ("iban", "iban"),
        ("bankAccountNo", "bank"),
        ("cardNumber", "card"),
        ("accessCode", "secret"),
        ("X-Access-Token", "secret"),
        ("password", "secret"),
        ("name", SCAN),
        ("contactMessage", SCAN),
        ("contact_message", SCAN),
        ("description", SCAN),
        ("emailBody", SCAN),
        ("city", SCAN),
        ("account", SCAN),
        ("items", SCAN),
    ],
)
def test_field_rules(key, rule):
    assert classify(key) == rule


def test_contact_with_contact_persons():
    body = {
        "contact": {
            "organizationId": "07WgjDjARrWDUR0FAqEVEg",
            "type": "company",
            "name": "Ninjas ApS",
            "countryId": "DK",
            "street": "Fiolstræde 17B",
            "zipcodeText": "1171",
            "cityText": "København K",
            "phone": "+45 20 12 34 56",
            "registrationNo": "13748136",
            "ean": "5798000000087",
            "isCustomer": True,
            "paymentTermsDays": None,
            "contactPersons": [{"name": "Jane Doe", "email": "jane@example.com", "isPrimary": True}],
        }
    }
    assert R.redact_value(body) == {
        "contact": {
            "organizationId": "07WgjDjARrWDUR0FAqEVEg",
            "type": "company",
            "name": "Ninjas ApS",
            "countryId": "DK",
            "street": R.marker("address", "Fiolstræde 17B"),
            "zipcodeText": "1171",
            "cityText": "København K",
            "phone": R.marker("phone", "20123456"),
            "registrationNo": "13748136",
            "ean": "5798000000087",
            "isCustomer": True,
            "paymentTermsDays": None,
            "contactPersons": [
                {
                    "name": R.marker("name", "Jane Doe"),
                    "email": R.marker("email", "jane@example.com"),
                    "isPrimary": True,
                }
            ],
        }
    }


def test_person_contact_and_sideloaded_contact_persons():
    response = {
        "contacts": [
            {
                "id": "x7hHlzRkTdavUvtzrKUzRg",
                "type": "person",
                "name": "Jens Hansen",
                "street": "",
                "cityId": "dk_aalborg",
            }
        ],
        "contactPersons": [
            {"id": "xv1MBXjMQvmwdRcWvqze3A", "contactId": "x7hHlzRkTdavUvtzrKUzRg", "name": "Jens Hansen"}
        ],
        "cities": [{"id": "dk_aalborg", "name": "Aalborg", "countryId": "DK"}],
    }
    name = R.marker("name", "jens  hansen")
    assert R.redact_value(response) == {
        "contacts": [
            {
                "id": "x7hHlzRkTdavUvtzrKUzRg",
                "type": "person",
                "name": name,
                "street": "",
                "cityId": "dk_aalborg",
            }
        ],
        "contactPersons": [
            {"id": "xv1MBXjMQvmwdRcWvqze3A", "contactId": "x7hHlzRkTdavUvtzrKUzRg", "name": name}
        ],
        "cities": [{"id": "dk_aalborg", "name": "Aalborg", "countryId": "DK"}],
    }


def test_invoice_with_contact_message():
    message = (
        "Ring til Jens på +45 20 12 34 56 eller jens@example.dk, CPR 010190-1234, "
        "IBAN DK50 0040 0440 1162 43, kort 4571 9940 0000 0005"
    )
    invoice = {
        "invoice": {
            "id": "cSHBqWWITexZvQy29lqpYg",
            "contactId": "DDAc0RmLQyelyZrv55JJKg",
            "entryDate": "2016-12-23",
            "invoiceNo": "2024-000123",
            "amount": Decimal("374.40"),
            "tax": 93.6,
            "balance": 468,
            "currencyId": "DKK",
            "state": "approved",
            "isPaid": False,
            "contactMessage": message,
            "lines": [
                {
                    "id": "rJOYmHUfQBecodHXkZF8qQ",
                    "description": "Alt udevendigt",
                    "quantity": 1,
                    "unitPrice": 123,
                }
            ],
        }
    }
    redacted = R.redact_value(invoice)["invoice"]
    assert redacted["contactMessage"] == (
        f"Ring til Jens på {R.marker('phone', '20123456')} eller {R.marker('email', 'jens@example.dk')}, "
        f"CPR {R.marker('cpr', '0101901234')}, IBAN {R.marker('iban', 'DK5000400440116243')}, "
        f"kort {R.marker('card', '4571994000000005')}"
    )
    assert {key: value for key, value in redacted.items() if key != "contactMessage"} == {
        key: value for key, value in invoice["invoice"].items() if key != "contactMessage"
    }
    assert R.redact_value(R.redact_value(invoice)) == R.redact_value(invoice)


def test_snake_case_tool_arguments_and_paths():
    arguments = {
        "contact_id": "DDAc0RmLQyelyZrv55JJKg",
        "contact_message": "mail jens@example.dk",
        "contact_persons": [{"name": "Jens Hansen", "e_mail": "jens@example.dk"}],
        "emails": ["anne@example.dk", ""],
    }
    email = R.marker("email", "jens@example.dk")
    assert R.redact_value(arguments) == {
        "contact_id": "DDAc0RmLQyelyZrv55JJKg",
        "contact_message": f"mail {email}",
        "contact_persons": [{"name": R.marker("name", "Jens Hansen"), "e_mail": email}],
        "emails": [R.marker("email", "anne@example.dk"), ""],
    }
    assert R.redact_value("Jens Hansen", ("contactPersons", 0, "name")) == R.marker("name", "Jens Hansen")
    assert R.redact_value("Jens Hansen", ("contacts", 0, "name")) == "Jens Hansen"
    assert R.redact_value({"name": "Acme ApS"}, ("users", 0, "organization")) == {"name": "Acme ApS"}
    assert R.redact_value("jens@example.dk", ("email",)) == email


def test_kept_fields_keep_tokens_and_numbers_only():
    assert R.redact_value({"invoiceNo": "ring 20 12 34 56"}) == {
        "invoiceNo": f"ring {R.marker('phone', '20123456')}"
    }
    assert R.redact_value({"externalId": "jens@example.dk"}) == {
        "externalId": R.marker("email", "jens@example.dk")
    }
    assert R.redact_value({"amount": 1101901234, "note": 1101901234}) == {
        "amount": 1101901234,
        "note": R.marker("cpr", "1101901234"),
    }
    assert R.redact_value({"sendEmail": True, "phone": None, "email": ""}) == {
        "sendEmail": True,
        "phone": None,
        "email": "",
    }
    assert R.redact_value({"cvr": 13748136, "priority": 1}) == {"cvr": 13748136, "priority": 1}


# --- bodies and logs -----------------------------------------------------------------------


def test_redact_body_for_debug_logging():
    body = b'{"contact":{"id":"x7hHlzRkTdavUvtzrKUzRg","email":"jens@example.dk","amount":12.50}}'
    assert R.redact_body(body) == (
        f'{{"contact":{{"id":"x7hHlzRkTdavUvtzrKUzRg","email":"{R.marker("email", "jens@example.dk")}","amount":"12.50"}}}}'
    )
    assert R.redact_body("{not json jens@example.dk") == f"{{not json {R.marker('email', 'jens@example.dk')}"
    assert R.redact_body({"text": "x" * 50}, limit=20) == '{"text":"xxxxxxxxxxx…(+41 chars)'
    assert R.redact_body(None) == "null"


def test_process_wide_redactor():
    with mock.patch.object(pii, "_active", None):
        assert pii.get_redactor() is pii.get_redactor()
        pii.set_redactor(R)
        assert pii.redact_for_log("jens@example.dk") == R.marker("email", "jens@example.dk")
        assert pii.redact_body({"phone": "20123456"}) == f'{{"phone":"{R.marker("phone", "20123456")}"}}'


def test_loguru_patcher_filters_a_real_sink():
    lines: list[str] = []
    records: list[dict] = []
    sink_id = logger.add(
        lambda message: (lines.append(str(message)), records.append(message.record)),
        format="{message} | {extra}",
        filter=lambda record: record["extra"].get("pii_test") is True,
    )
    try:
        log = logger.patch(loguru_patcher(R)).bind(pii_test=True)
        log.bind(email="jens@example.dk", contact_id="DDAc0RmLQyelyZrv55JJKg", note="tlf 20123456").info(
            "kunde {} ringede fra +45 20 12 34 56 (CVR 25313763)", "jens@example.dk"
        )
    finally:
        logger.remove(sink_id)
    email, phone = R.marker("email", "jens@example.dk"), R.marker("phone", "20123456")
    assert records[0]["message"] == f"kunde {email} ringede fra {phone} (CVR 25313763)"
    assert records[0]["extra"] == {
        "pii_test": True,
        "email": email,
        "contact_id": "DDAc0RmLQyelyZrv55JJKg",
        "note": f"tlf {phone}",
    }
    assert "jens@example.dk" not in lines[0] and "20 12 34 56" not in lines[0]


def test_loguru_patcher_in_json_mode():
    lines: list[str] = []
    sink_id = logger.add(lines.append, serialize=True, filter=lambda record: "pii_json" in record["extra"])
    try:
        logger.patch(loguru_patcher(R)).bind(pii_json=1).warning("CPR 010190-1234")
    finally:
        logger.remove(sink_id)
    assert json.loads(lines[0])["record"]["message"] == f"CPR {R.marker('cpr', '0101901234')}"


def test_cost_per_log_line_smoke():
    """Not timed: prints the cost so a regression is visible with ``pytest -s``."""
    lines = [
        "billy GET /v2/invoices/cSHBqWWITexZvQy29lqpYg -> 200 in 0.123s",
        "tool list_invoices ok in 0.042s correlation=5f1c2a9e1b2c4d3e9f00123456789abc",
        "hook billy_tools -> ['billy', 'audit']",
        "tool create_invoice failed: contact DDAc0RmLQyelyZrv55JJKg has no e-mail (CVR 13748136)",
    ]
    rounds = 500
    started = time.perf_counter()
    for _ in range(rounds):
        for line in lines:
            assert R.redact_text(line) == line
    per_line = (time.perf_counter() - started) / (rounds * len(lines)) * 1e6
    print(f"pii: {per_line:.1f} µs per typical log line")


# --- properties ----------------------------------------------------------------------------


def _luhn_number(prefix: str) -> str:
    return prefix + luhn.calc_check_digit(prefix)


emails = st.from_regex(r"[a-z][a-z0-9.]{0,8}[a-z]@[a-z]{2,8}\.(dk|com|org)", fullmatch=True)
phones = st.from_regex(r"\+45 [2-9][0-9] [0-9]{2} [0-9]{2} [0-9]{2}", fullmatch=True)
cprs = (
    st.dates()
    .map(lambda day: day.strftime("%d%m%y"))
    .flatmap(lambda date: st.from_regex(r"[0-9]{4}", fullmatch=True).map(lambda serial: f"{date}-{serial}"))
)
cards = st.from_regex(r"4[0-9]{14}", fullmatch=True).map(_luhn_number)
ibans = st.sampled_from(["DK50 0040 0440 1162 43", "GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00"])
personal = st.one_of(emails, phones, cprs, cards, ibans)
filler = st.text(alphabet="abcdefghij æøå,.:;!?", min_size=1, max_size=12).map(lambda text: f" x{text}x ")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(filler, personal), min_size=1, max_size=4))
def test_no_detected_value_survives(parts):
    text = "".join(word + value for word, value in parts)
    redacted = R.redact_text(text)
    for _, value in parts:
        assert value not in redacted
    assert detect(redacted) == []
    assert R.redact_text(redacted) == redacted


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_redaction_of_any_text_is_idempotent(text):
    redacted = R.redact_text(text)
    assert R.redact_text(redacted) == redacted
    assert detect(redacted) == []


fragments = st.sampled_from(
    [
        "tlf ",
        "CVR ",
        "+45 ",
        "0045",
        "DK",
        "DK50 ",
        "reg. ",
        " konto ",
        "EAN ",
        "@",
        "a@b.dk",
        " ",
        "-",
        ".",
        "x",
    ]
)
digits = st.text(alphabet="0123456789", min_size=1, max_size=10)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(fragments, digits), max_size=12))
def test_quick_checks_never_hide_a_finding(parts):
    text = "".join(parts)
    always = re.compile("")
    with (
        mock.patch.object(detectors_module, "_TRIGGER", always),
        mock.patch.object(detectors_module, "_NUMBER", always),
        mock.patch.object(detectors_module, "_IBAN_START", always),
    ):
        unfiltered = detect(text)
    assert detect(text) == unfiltered
