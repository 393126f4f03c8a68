"""docs/tools.md is the registry: its generated part matches tools/list, and its hand-written v1
mapping names only tools and arguments that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from billy_core.cli import cli
from billy_core.testing import mcp_client
from billy_core.tool_reference import GENERATED_BEGIN, GENERATED_END, generated_block

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "tools.md"
REGENERATE = "billy-mcp tools reference --output docs/tools.md"
# Tekup-Billy v1.4's 34 tools (tekup-billy-v1.md §2): each needs a successor or a reason.
V1_TOOLS = {
    *("list_invoices", "create_invoice", "get_invoice", "send_invoice", "update_invoice"),
    *("approve_invoice", "cancel_invoice", "mark_invoice_paid"),
    *("list_customers", "create_customer", "get_customer", "update_customer"),
    *("list_products", "create_product", "update_product", "get_revenue"),
    *("analyze_user_patterns", "generate_personalized_presets", "get_recommended_presets"),
    *("execute_preset", "list_presets", "create_custom_preset"),
    *("analyze_feedback", "analyze_usage_data", "analyze_adoption_risks", "analyze_ab_test"),
    *("analyze_segment_adoption", "list_test_scenarios", "run_test_scenario", "generate_test_data"),
    *("validate_auth", "test_connection", "list_audit_logs", "run_ops_check"),
}


def document() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


def generated_part(text: str) -> str:
    rest = text.partition(GENERATED_BEGIN)[2]
    return GENERATED_BEGIN + rest.partition(GENERATED_END)[0] + GENERATED_END + "\n"


def section(text: str, heading: str) -> list[list[str]]:
    """The table rows under a ``## heading``, as lists of cells (header and rule left out)."""
    body = text.split(f"\n## {heading}\n", 1)[1].split("\n#", 1)[0]
    rows = [line.strip().strip("|").split(" | ") for line in body.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in row] for row in rows]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@pytest.fixture
def writes_kernel(make_kernel):
    return make_kernel(api_url="http://127.0.0.1:9/v2", access_token="docs", read_only=False)


@pytest.mark.anyio
async def test_docs_tools_md_is_tools_list(writes_kernel):
    async with mcp_client(writes_kernel) as client:
        listed = sorted(tool.name for tool in (await client.list_tools()).tools)
    text = document()
    documented = re.findall(r"^## `([^`]+)`$", generated_part(text), flags=re.MULTILINE)
    assert documented == listed, f"docs/tools.md is out of date: run {REGENERATE}"
    wanted = generated_block(writes_kernel.tools.visible(read_only_mode=False))
    assert generated_part(text) == wanted, f"docs/tools.md is out of date: run {REGENERATE}"


def argument_schema(tool: Any, path: str) -> dict[str, Any] | None:
    """The schema of ``lines[].unit_price``-style argument paths, or None when there is none."""
    schema: dict[str, Any] = tool.input_schema
    for part in path.split("."):
        name, many = part.removesuffix("[]"), part.endswith("[]")
        found = schema.get("properties", {}).get(name)
        if found is None:
            return None
        if many:
            found = next((o for o in found.get("anyOf", [found]) if o.get("type") == "array"), found)
            found = found.get("items", {})
        ref = found.get("$ref") or next((o.get("$ref") for o in found.get("anyOf", []) if "$ref" in o), None)
        schema = tool.input_schema["$defs"][ref.rsplit("/", 1)[-1]] if ref else found
    return schema


def test_the_v1_mapping_names_real_tools_and_arguments(writes_kernel):
    text = document()
    successors = section(text, "v1 tools and their successors")
    retired = section(text, "v1 tools without a successor")
    mapped = {names(row[0])[0] for row in successors}
    assert mapped | {name for row in retired for name in names(row[0])} == V1_TOOLS
    for v1_name, arguments, successor_cell in successors:
        tool = writes_kernel.tools.get(names(successor_cell)[0])
        assert tool is not None, f"{v1_name}: {names(successor_cell)[0]} is not a tool"
        for mapping in arguments.split(", "):
            if "→" not in mapping:
                continue
            for argument in names(mapping.split("→", 1)[1]):
                assert argument_schema(tool, argument) is not None, f"{tool.name} has no argument {argument}"
    for row in retired:
        assert not any(writes_kernel.tools.get(name) for name in names(row[0]))
    successor_names = {names(row[2])[0] for row in successors}
    new = set(names(text.split("\n## Tools v1 did not have\n", 1)[1].split("\n#", 1)[0]))
    assert successor_names | new == {tool.name for tool in writes_kernel.tools}, (
        "a tool is missing from the v1 part"
    )


def test_tools_reference_command_writes_and_checks(tmp_path):
    target = tmp_path / "tools.md"
    target.write_text(
        "intro\n" + GENERATED_BEGIN + "\nstale text\n" + GENERATED_END + "\n# Hand-written\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    stale = runner.invoke(cli, ["tools", "reference", "--output", str(target), "--check"])
    written = runner.invoke(cli, ["tools", "reference", "--output", str(target)])
    fresh = runner.invoke(cli, ["tools", "reference", "--output", str(target), "--check"])
    assert stale.exit_code == 1 and "out of date" in stale.output
    assert written.exit_code == 0 and fresh.exit_code == 0, fresh.output
    text = target.read_text(encoding="utf-8")
    assert text.startswith("intro\n" + GENERATED_BEGIN) and text.endswith(
        GENERATED_END + "\n# Hand-written\n"
    )
    assert "## `create_customer`" in text and "stale text" not in text


CATALOGUE_TOOLS = {
    *("test_connection", "list_customers", "get_customer", "create_customer", "update_customer"),
    *("list_suppliers", "create_supplier", "list_products", "get_product", "create_product"),
    *("update_product", "list_accounts", "list_tax_rates", "list_bank_payments"),
    *("create_daybook_transaction", "calculate_vat", "validate_cvr", "validate_ean", "format_dkk"),
}


def undocumented(schema: dict[str, Any], root: dict[str, Any], path: str = "") -> list[str]:
    """Arguments without a description or without an example (flags and choices included)."""
    missing = []
    for name, prop in schema.get("properties", {}).items():
        where = f"{path}{name}"
        options = [prop, *prop.get("anyOf", [])]
        if "description" not in prop:
            missing.append(f"{where}: description")
        if "examples" not in prop:
            missing.append(f"{where}: examples")
        for option in options:
            ref = option.get("items", option).get("$ref")
            if ref:
                missing += undocumented(root["$defs"][ref.rsplit("/", 1)[-1]], root, f"{where}.")
    return missing


def test_every_tool_describes_every_argument_with_an_example(writes_kernel):
    found = {tool.name: undocumented(tool.input_schema, tool.input_schema) for tool in writes_kernel.tools}
    assert "list_audit_logs" in found and "approve_invoice" in found
    assert {name: gaps for name, gaps in found.items() if gaps} == {}


def test_catalogue_tools_describe_every_argument_and_result(writes_kernel):
    tools = {tool.name: tool for tool in writes_kernel.tools}
    assert CATALOGUE_TOOLS <= set(tools)
    for name in sorted(CATALOGUE_TOOLS):
        tool = tools[name]
        assert tool.description and tool.output_schema, name
        assert undocumented(tool.input_schema, tool.input_schema) == [], name
        closed_world = name in ("calculate_vat", "validate_cvr", "validate_ean", "format_dkk")
        assert tool.open_world is not closed_world, name
        assert tool.read_only is not name.startswith(("create_", "update_")), name
