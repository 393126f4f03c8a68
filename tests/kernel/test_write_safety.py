"""Preview -> confirm tickets and idempotent creates, for any plugin's write tools."""

from __future__ import annotations

import uuid

import anyio
import httpx
import pytest
from pydantic import Field

from billy_core import hookimpl
from billy_core.context import Principal
from billy_core.errors import ConfirmationRequired, InvalidArgument, UpstreamUnavailable
from billy_core.testing import mcp_client
from billy_core.tools import Tool, ToolInput, ToolOutput

ALICE = Principal(id="alice", kind="api_key")
BOB = Principal(id="bob", kind="api_key")


class PayArgs(ToolInput):
    invoice_id: str
    amount: str = Field(pattern=r"^\d+\.\d\d$")


class Paid(ToolOutput):
    paid: str


class MakeArgs(ToolInput):
    name: str


class Made(ToolOutput):
    id: str
    name: str


class Effects:
    """A stand-in for Billy's side effects, so tests can count what really happened."""

    def __init__(self) -> None:
        self.payments: list[tuple[str, str]] = []
        self.created: list[str] = []
        self.fail_next: Exception | None = None


@pytest.fixture
def effects(billy_plugins) -> Effects:
    effects = Effects()

    async def pay(args, ctx):
        effects.payments.append((args.invoice_id, args.amount))
        return {"paid": args.amount}

    async def describe_payment(args, ctx):
        return {"invoice_id": args.invoice_id, "amount": args.amount, "effect": "marks the invoice paid"}

    async def make(args, ctx):
        if effects.fail_next is not None:
            failure, effects.fail_next = effects.fail_next, None
            raise failure
        await anyio.sleep(0.05)  # long enough for concurrent callers to overlap
        effects.created.append(args.name)
        return {"id": f"thing-{len(effects.created)}", "name": args.name}

    class Writes:
        @hookimpl
        def register_tools(self, register):
            register(
                Tool(
                    name="pay_thing",
                    description="Pay",
                    input_model=PayArgs,
                    output_model=Paid,
                    handler=pay,
                    read_only=False,
                    destructive=True,
                    preview=describe_payment,
                )
            )
            register(
                Tool(
                    name="make_thing",
                    description="Create",
                    input_model=MakeArgs,
                    output_model=Made,
                    handler=make,
                    read_only=False,
                    creates="things",
                )
            )

    billy_plugins.append(("writes", Writes()))
    return effects


async def call(kernel, name, arguments, principal=ALICE):
    result = await kernel.call_tool(name, arguments, principal=principal, transport="memory")
    return result.structured


@pytest.mark.anyio
async def test_destructive_tool_previews_first_and_changes_nothing(effects, sandbox_kernel):
    async with sandbox_kernel:
        preview = await call(sandbox_kernel, "pay_thing", {"invoice_id": "inv-1", "amount": "375.00"})
    assert effects.payments == []
    assert "preview" in preview, preview
    assert preview["preview"] == {
        "invoice_id": "inv-1",
        "amount": "375.00",
        "effect": "marks the invoice paid",
    }
    assert preview["confirmation_ticket"].startswith("ct_") and preview["expires_at"]


@pytest.mark.anyio
async def test_ticket_executes_once_and_never_again(effects, sandbox_kernel):
    arguments = {"invoice_id": "inv-1", "amount": "375.00"}
    async with sandbox_kernel:
        ticket = (await call(sandbox_kernel, "pay_thing", arguments))["confirmation_ticket"]
        done = await call(sandbox_kernel, "pay_thing", {**arguments, "confirmation_ticket": ticket})
        again = await call(sandbox_kernel, "pay_thing", {**arguments, "confirmation_ticket": ticket})
    assert done == {"paid": "375.00"}
    assert again["code"] == "confirmation_required"
    assert effects.payments == [("inv-1", "375.00")]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("changed", "principal"),
    [({"amount": "999.00"}, ALICE), ({}, BOB), ({"invoice_id": "inv-2"}, ALICE)],
    ids=["other-amount", "other-principal", "other-invoice"],
)
async def test_ticket_is_bound_to_arguments_and_principal(effects, sandbox_kernel, changed, principal):
    arguments = {"invoice_id": "inv-1", "amount": "375.00"}
    async with sandbox_kernel:
        ticket = (await call(sandbox_kernel, "pay_thing", arguments))["confirmation_ticket"]
        refused = await call(
            sandbox_kernel, "pay_thing", {**arguments, **changed, "confirmation_ticket": ticket}, principal
        )
        still_good = await call(sandbox_kernel, "pay_thing", {**arguments, "confirmation_ticket": ticket})
    assert refused["code"] == "confirmation_required"
    assert still_good == {"paid": "375.00"}
    assert effects.payments == [("inv-1", "375.00")]


@pytest.mark.anyio
@pytest.mark.parametrize("made_up_ticket", ["ct_" + "x" * 32, "bogus", "wrong"])
async def test_expired_and_made_up_tickets_are_refused(effects, sandbox_kernel, monkeypatch, made_up_ticket):
    arguments = {"invoice_id": "inv-1", "amount": "375.00"}
    async with sandbox_kernel:
        ticket = (await call(sandbox_kernel, "pay_thing", arguments))["confirmation_ticket"]
        made_up = await call(
            sandbox_kernel, "pay_thing", {**arguments, "confirmation_ticket": made_up_ticket}
        )
        import billy_core.write_safety as write_safety

        later = write_safety.time.time() + 301
        monkeypatch.setattr(write_safety.time, "time", lambda: later)
        expired = await call(sandbox_kernel, "pay_thing", {**arguments, "confirmation_ticket": ticket})
    assert made_up["code"] == expired["code"] == "confirmation_required"
    assert effects.payments == []


@pytest.mark.anyio
@pytest.mark.parametrize("key", ["order-0001", "k1"])
async def test_same_idempotency_key_twice_gives_one_record(effects, sandbox_kernel, key):
    async with sandbox_kernel:
        first = await call(sandbox_kernel, "make_thing", {"name": "a", "idempotency_key": key})
        second = await call(sandbox_kernel, "make_thing", {"name": "a", "idempotency_key": key})
    assert first["id"] == second["id"] == "thing-1"
    assert second["replayed"] is True and first["idempotency_key"] == key
    assert effects.created == ["a"]


@pytest.mark.anyio
async def test_concurrent_calls_with_one_key_make_one_record(effects, sandbox_kernel):
    results = []
    async with sandbox_kernel:

        async def one():
            results.append(
                await call(sandbox_kernel, "make_thing", {"name": "b", "idempotency_key": "order-0002"})
            )

        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one)
    assert effects.created == ["b"]
    assert {result["id"] for result in results} == {"thing-1"}


@pytest.mark.anyio
async def test_create_without_key_gets_a_generated_one(effects, sandbox_kernel):
    async with sandbox_kernel:
        made = await call(sandbox_kernel, "make_thing", {"name": "c"})
    assert made["idempotency_key"].startswith("idem-")


@pytest.mark.anyio
async def test_malformed_idempotency_key_is_refused(effects, sandbox_kernel):
    async with sandbox_kernel:
        refused = await call(
            sandbox_kernel, "make_thing", {"name": "c", "idempotency_key": "no spaces allowed"}
        )
    assert (
        refused["code"] == "invalid_argument"
        and refused["details"]["errors"][0]["field"] == "idempotency_key"
    )
    assert effects.created == []


@pytest.mark.anyio
async def test_read_only_refuses_writes_before_any_preview(effects, make_kernel, billy_sandbox):
    kernel = make_kernel(api_url=billy_sandbox.api_url, access_token=billy_sandbox.token, read_only=True)
    async with kernel:
        refused = await call(kernel, "pay_thing", {"invoice_id": "inv-1", "amount": "1.00"})
    assert refused["code"] == "read_only"


@pytest.mark.anyio
async def test_tickets_are_single_use_across_instances_through_redis(
    make_kernel, billy_sandbox, redis_url, effects
):
    settings = {"api_url": billy_sandbox.api_url, "access_token": billy_sandbox.token, "sandbox": True}
    first = make_kernel(redis_url=redis_url, **settings)
    second = make_kernel(redis_url=redis_url, **settings)
    arguments = {"invoice_id": "inv-9", "amount": "10.00"}
    async with first, second:
        ticket = (await call(first, "pay_thing", arguments))["confirmation_ticket"]
        outcomes = []

        async def redeem(kernel):
            outcomes.append(await call(kernel, "pay_thing", {**arguments, "confirmation_ticket": ticket}))

        async with anyio.create_task_group() as group:
            group.start_soon(redeem, first)
            group.start_soon(redeem, second)
    assert sorted(str(outcome.get("code")) for outcome in outcomes) == ["None", "confirmation_required"]
    assert effects.payments == [("inv-9", "10.00")]


def test_schemas_carry_the_kernel_owned_arguments(effects, make_kernel):
    kernel = make_kernel()
    pay = kernel.tools.get("pay_thing")
    make = kernel.tools.get("make_thing")
    assert "confirmation_ticket" in pay.input_schema["properties"]
    assert "idempotency_key" in make.input_schema["properties"]
    assert "required" not in pay.output_schema
    assert {"paid", "preview", "confirmation_ticket", "expires_at"} <= set(pay.output_schema["properties"])
    assert make.output_schema["properties"]["idempotency_key"]["type"] == "string"
    assert make.output_schema["required"] == ["id", "name"]


@pytest.mark.anyio
async def test_preview_and_result_both_satisfy_the_output_schema_through_mcp(effects, sandbox_kernel):
    arguments = {"invoice_id": "inv-3", "amount": "5.00"}
    async with mcp_client(sandbox_kernel) as client:
        preview = await client.call_tool("pay_thing", arguments)
        ticket = preview.structured_content["confirmation_ticket"]
        done = await client.call_tool("pay_thing", {**arguments, "confirmation_ticket": ticket})
    assert preview.is_error is False and done.is_error is False
    assert done.structured_content == {"paid": "5.00"}


@pytest.mark.anyio
async def test_a_key_belongs_to_the_call_it_was_first_used_for(effects, sandbox_kernel):
    async with sandbox_kernel:
        first = await call(sandbox_kernel, "make_thing", {"name": "a", "idempotency_key": "order-0100"})
        other_arguments = await call(
            sandbox_kernel, "make_thing", {"name": "b", "idempotency_key": "order-0100"}
        )
        other_caller = await call(
            sandbox_kernel, "make_thing", {"name": "a", "idempotency_key": "order-0100"}, BOB
        )
    assert first["id"] == "thing-1"
    assert other_arguments["code"] == other_caller["code"] == "conflict"
    assert effects.created == ["a"]


@pytest.mark.anyio
async def test_a_refusal_before_billy_frees_the_key(effects, sandbox_kernel, billy_plugins):
    async with sandbox_kernel:
        effects.fail_next = InvalidArgument("name: Billy refused it")
        refused = await call(sandbox_kernel, "make_thing", {"name": "a", "idempotency_key": "order-0101"})
        retried = await call(sandbox_kernel, "make_thing", {"name": "a", "idempotency_key": "order-0101"})
    assert refused["code"] == "invalid_argument"
    assert retried["id"] == "thing-1" and "replayed" not in retried


class StepUp:
    """A second factor: the code 246810 must come with the confirmation."""

    def __init__(self) -> None:
        self.asked = 0

    async def verify(self, call, arguments):
        self.asked += 1
        if call.context.confirmation_code != "246810":
            raise ConfirmationRequired("a second factor is needed", hint="send confirmation_code")


@pytest.mark.anyio
async def test_a_missing_second_factor_does_not_spend_the_ticket(
    effects, billy_plugins, make_kernel, billy_sandbox
):
    step_up = StepUp()

    class StepUpPlugin:
        @hookimpl
        def register_step_up_verifiers(self, register):
            register(step_up)

    billy_plugins.append(("step_up", StepUpPlugin()))
    kernel = make_kernel(api_url=billy_sandbox.api_url, access_token=billy_sandbox.token, sandbox=True)
    arguments = {"invoice_id": "inv-7", "amount": "7.00"}
    async with kernel:
        ticket = (await call(kernel, "pay_thing", arguments))["confirmation_ticket"]
        no_code = await call(kernel, "pay_thing", {**arguments, "confirmation_ticket": ticket})
        wrong = await call(
            kernel, "pay_thing", {**arguments, "confirmation_ticket": ticket, "confirmation_code": "000000"}
        )
        right = await call(
            kernel, "pay_thing", {**arguments, "confirmation_ticket": ticket, "confirmation_code": "246810"}
        )
    assert no_code["code"] == wrong["code"] == "confirmation_required"
    assert right == {"paid": "7.00"} and step_up.asked == 3
    assert effects.payments == [("inv-7", "7.00")]


class LostAnswer:
    """Creates a real contact in the sandbox, then (once) fails as if the answer was lost."""

    def __init__(self) -> None:
        self.lose_next = True

    @hookimpl
    def register_tools(self, register):
        async def create_contact(args, ctx):
            record = {"name": args.name, "registrationNo": "25313763", "countryId": "DK", "isCustomer": True}
            body = await ctx.billy.create("contacts", record)
            if self.lose_next:
                self.lose_next = False
                raise UpstreamUnavailable("Billy's answer was lost", details={"maybe_sent": True})
            return {"id": body["contacts"][0]["id"]}

        register(
            Tool(
                name="create_contact_lossy",
                description="Create",
                input_model=MakeArgs,
                handler=create_contact,
                read_only=False,
                creates="contacts",
            )
        )


@pytest.mark.anyio
async def test_after_a_lost_answer_the_same_key_reads_billy_back_instead_of_creating_again(
    billy_plugins, make_kernel, billy_sandbox
):
    billy_plugins.append(("lossy", LostAnswer()))
    kernel = make_kernel(api_url=billy_sandbox.api_url, access_token=billy_sandbox.token, sandbox=True)
    name = f"Tabt Svar {uuid.uuid4().hex[:8]} ApS"
    arguments = {"name": name, "idempotency_key": f"lost-{uuid.uuid4().hex[:12]}"}
    async with kernel:
        lost = await call(kernel, "create_contact_lossy", arguments)
        again = await call(kernel, "create_contact_lossy", arguments)
    async with httpx.AsyncClient(headers={"X-Access-Token": billy_sandbox.token}) as http:
        contacts = (await http.get(f"{billy_sandbox.api_url}/contacts", params={"name": name})).json()
    assert lost["code"] == "upstream_unavailable"
    assert [contact["id"] for contact in contacts["contacts"]] == [again["id"]]
