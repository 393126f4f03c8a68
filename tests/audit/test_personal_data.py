"""The sandbox's seeded personal data, read and written through the server, never lands in clear text
in the audit store or the logs; CVR numbers and record ids do."""

from __future__ import annotations

import re
import sys

import pytest
from loguru import logger

from billy_core.context import LOCAL_PRINCIPAL
from billy_core.logs import configure_logging
from billy_core.settings import KernelSettings
from tests.audit.helpers import key_env, sandbox_settings
from tests.audit.toolkit import WriteToolkit, sandbox_control

pytestmark = pytest.mark.anyio

CVR = "29403473"


@pytest.fixture
def server_logs():
    """The server's own logging set-up (stderr sink plus the PII patcher), captured at DEBUG."""
    lines: list[str] = []
    configure_logging(KernelSettings(log_level="DEBUG"))
    logger.add(lines.append, level="DEBUG", format="{level} {name} {message} {extra}")
    yield lines
    logger.remove()
    logger.configure(patcher=lambda record: None)
    logger.add(sys.stderr)


def clear_forms(kind: str, value: str) -> set[str]:
    """How a value could appear in clear text: as seeded, and as its bare digits."""
    forms = {value}
    digits = re.sub(r"\D", "", value)
    if kind == "phone":
        forms.add(digits[-8:])
    elif kind in ("cpr", "card"):
        forms.add(digits)
    elif kind == "iban":
        forms.add(value.replace(" ", ""))
    return forms


async def test_personal_data_stays_out_of_the_audit_store_and_the_logs(
    make_kernel, billy_plugins, billy_sandbox, monkeypatch, tmp_path, server_logs
):
    store_file = tmp_path / "audit-only.sqlite3"
    for key, value in {**key_env(), "BILLY_AUDIT__DATABASE_URL": f"sqlite:///{store_file}"}.items():
        monkeypatch.setenv(key, value)
    billy_plugins.append(("audit_test", WriteToolkit()))
    kernel = make_kernel(**sandbox_settings(billy_sandbox, log_bodies=True, log_level="DEBUG"))
    seeded = sandbox_control(billy_sandbox, "info")["personal_data_by_kind"]
    assert all(seeded.get(kind) for kind in ("phone", "email", "cpr", "iban", "card")), seeded.keys()
    phones, emails = seeded["phone"], seeded["email"]
    sensitive = " ".join(
        [*(f"CPR {cpr}" for cpr in seeded["cpr"]), *(f"IBAN {iban}" for iban in seeded["iban"])]
        + [f"kort {card}" for card in seeded["card"]]
    )

    async def call(name, arguments):
        result = await kernel.call_tool(name, arguments, principal=LOCAL_PRINCIPAL, transport="memory")
        assert not result.is_error, result.structured
        return result.structured

    created = []
    async with kernel:
        for number, phone in enumerate(phones):
            mails = emails[number :: len(phones)]
            message = f"Ring på tlf. {phone} eller skriv til {', '.join(mails)}. {sensitive}"
            contact = await call(
                "create_test_contact",
                {
                    "name": f"Persondata Test {number} ApS",
                    "phone": phone,
                    "email": mails[0],
                    "registration_no": CVR,
                    "contact_message": message,
                },
            )
            created.append(contact["contact"]["id"])
        await call(
            "update_test_contact", {"contact_id": created[0], "phone": phones[-1], "street": sensitive}
        )
        for needle in (emails[0], phones[0], seeded["cpr"][0]):
            await call("list_customers", {"search": needle, "limit": 5})
        listed = await call("list_audit_logs", {"limit": 500})
    assert len(listed["items"]) == 2 * (len(phones) + 1) + 3

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("audit-only.sqlite3*")).decode(
        "utf-8", errors="replace"
    )
    logs = "\n".join(server_logs)
    assert "billy POST /contacts" in logs and "audit: intent seq" in logs  # bodies and entries were logged
    for kind, values in seeded.items():
        for value in values:
            for form in clear_forms(kind, value):
                assert form not in stored, f"{kind} {form!r} is in the audit store"
                assert form not in logs, f"{kind} {form!r} is in the logs"
    assert CVR in stored
    assert all(contact_id in stored for contact_id in created)
    assert "[email:" in stored and "[phone:" in stored and "[cpr:" in stored and "[iban:" in stored
    assert "[card:" in stored
