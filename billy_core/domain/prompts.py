"""Prompts for common bookkeeping jobs, phrased for a Danish small business."""

from __future__ import annotations

from billy_core.surface import Prompt, PromptArgument, PromptMessage


async def _overdue_follow_up(arguments: dict[str, str]) -> list[PromptMessage]:
    tone = arguments.get("tone", "venlig")
    return [
        PromptMessage(
            "user",
            "List my overdue invoices with list_invoices (payment_status=overdue), group them by customer "
            "with the days overdue and the outstanding balance, and draft a short "
            f"{tone} reminder in Danish for each customer. Do not send anything.",
        )
    ]


async def _monthly_overview(arguments: dict[str, str]) -> list[PromptMessage]:
    month = arguments["month"]
    return [
        PromptMessage(
            "user",
            f"Give me an overview of {month}: the invoices issued that month (list_invoices with start_date "
            "and end_date), what is paid and unpaid, and the largest customers. Amounts in Danish format "
            "(1.234,56 kr.).",
        )
    ]


async def _find_customer(arguments: dict[str, str]) -> list[PromptMessage]:
    return [
        PromptMessage(
            "user",
            f"Find the customer matching {arguments['search']!r} with list_customers and show their "
            "contact persons and their five latest invoices.",
        )
    ]


PROMPTS = (
    Prompt(
        name="overdue_follow_up",
        title="Follow up on overdue invoices",
        description="Overdue invoices grouped by customer, with draft reminders (nothing is sent).",
        render=_overdue_follow_up,
        arguments=(PromptArgument("tone", "Tone of the reminders, e.g. venlig or bestemt"),),
    ),
    Prompt(
        name="monthly_overview",
        title="Monthly overview",
        description="Invoicing, payments and top customers for one month.",
        render=_monthly_overview,
        arguments=(PromptArgument("month", "The month, YYYY-MM", required=True),),
    ),
    Prompt(
        name="find_customer",
        title="Find a customer",
        description="Look a customer up by name, CVR, phone or e-mail and show their latest invoices.",
        render=_find_customer,
        arguments=(
            PromptArgument("search", "Part of a name, a CVR, a phone number or an e-mail", required=True),
        ),
    ),
)
