"""The plugin manager: entry points, disabling, dependencies, broken plugins."""

from __future__ import annotations

import pytest

from billy_core.errors import StartupError
from tests.support.installed import install_plugin

GREETER = """
from billy_core import hookimpl
from billy_core.tools import Tool, ToolInput

class Args(ToolInput):
    name: str = "verden"

async def hello(args, ctx):
    return {"greeting": f"hej {args.name}"}

@hookimpl
def register_tools(register):
    register(Tool(name="greet", description="Say hello", input_model=Args, handler=hello))
"""


def test_builtin_billy_plugin_loads_through_its_entry_point(make_kernel):
    kernel = make_kernel()
    record = kernel.plugins.records["billy"]
    assert record.enabled and record.builtin
    assert "register_tools" in record.hooks
    assert kernel.tools.get("list_invoices").plugin == "billy"


def test_the_essential_billy_plugin_cannot_be_disabled(make_kernel):
    with pytest.raises(StartupError, match="billy plugin is essential"):
        make_kernel(plugins_disabled=["billy"])


def test_third_party_plugin_is_discovered_and_can_be_disabled(make_kernel, tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch, name="greeter", module="greeter_plugin", source=GREETER)
    assert make_kernel().tools.get("greet") is not None
    kernel = make_kernel(plugins_disabled=["greeter"])
    assert kernel.tools.get("greet") is None
    assert kernel.plugins.records["greeter"].disabled_reason == "disabled by BILLY_PLUGINS_DISABLED"


def test_disabled_plugin_is_never_imported(make_kernel, tmp_path, monkeypatch):
    install_plugin(
        tmp_path, monkeypatch, name="bomb", module="bomb_plugin", source="raise RuntimeError('boom')\n"
    )
    kernel = make_kernel(plugins_disabled=["bomb"])
    assert kernel.plugins.records["bomb"].enabled is False
    assert "bomb_plugin" not in __import__("sys").modules


def test_allow_list_keeps_only_named_plugins_and_the_essential_one(make_kernel, tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch, name="greeter", module="greeter_plugin", source=GREETER)
    kernel = make_kernel(plugins_enabled=["billy"])
    assert kernel.plugins.records["greeter"].disabled_reason == "not listed in BILLY_PLUGINS_ENABLED"
    assert kernel.plugins.records["billy"].enabled


def test_unknown_plugin_in_allow_list_is_a_clear_error(make_kernel):
    with pytest.raises(StartupError, match="BILLY_PLUGINS_ENABLED names unknown plugins: nosuch"):
        make_kernel(plugins_enabled=["billy", "nosuch"])


def test_unknown_plugin_in_block_list_is_only_a_warning(make_kernel):
    kernel = make_kernel(plugins_disabled=["nosuch"])
    assert kernel.plugins.records["billy"].enabled


def test_auto_discovered_plugin_that_raises_at_import_is_skipped_with_the_reason(
    make_kernel, tmp_path, monkeypatch
):
    install_plugin(
        tmp_path, monkeypatch, name="bomb", module="bomb_plugin", source="raise RuntimeError('boom')\n"
    )
    kernel = make_kernel()
    record = kernel.plugins.records["bomb"]
    assert record.enabled is False
    assert record.disabled_reason == "failed to load: RuntimeError: boom"
    assert kernel.tools.get("list_invoices") is not None


def test_explicitly_enabled_plugin_that_fails_stops_startup(make_kernel, tmp_path, monkeypatch):
    install_plugin(
        tmp_path, monkeypatch, name="bomb", module="bomb_plugin", source="raise RuntimeError('boom')\n"
    )
    with pytest.raises(StartupError, match="plugin 'bomb' failed to load: RuntimeError: boom"):
        make_kernel(plugins_enabled=["billy", "bomb"])


ASYNC_HOOK = """
from billy_core import hookimpl

@hookimpl
async def register_tools(register):
    pass
"""


def test_async_def_hook_implementation_is_refused_clearly(make_kernel, tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch, name="asyncy", module="asyncy_plugin", source=ASYNC_HOOK)
    kernel = make_kernel()
    reason = kernel.plugins.records["asyncy"].disabled_reason
    assert "hook 'register_tools' is 'async def'" in reason
    with pytest.raises(StartupError, match="is 'async def'"):
        make_kernel(plugins_enabled=["billy", "asyncy"])


def test_unknown_hook_name_is_refused(make_kernel, billy_plugins):
    class Typo:
        from billy_core import hookimpl

        @hookimpl
        def register_toolz(self, register):  # a typo of register_tools
            pass

    billy_plugins.append(("typo", Typo()))
    with pytest.raises(StartupError, match="unknown hooks: register_toolz"):
        make_kernel()


DEPENDENT = """
from billy_core import hookimpl
requires = ("greeter",)

@hookimpl
def register_tools(register):
    pass
"""


def test_disabling_a_plugin_disables_its_dependents_with_the_reason(make_kernel, tmp_path, monkeypatch):
    install_plugin(tmp_path, monkeypatch, name="greeter", module="greeter_plugin", source=GREETER)
    install_plugin(tmp_path, monkeypatch, name="fan", module="fan_plugin", source=DEPENDENT)
    assert make_kernel().plugins.records["fan"].enabled
    kernel = make_kernel(plugins_disabled=["greeter"])
    record = kernel.plugins.records["fan"]
    assert record.enabled is False
    assert record.disabled_reason == "requires 'greeter', which is disabled or missing"


def test_plugins_are_fresh_per_kernel(make_kernel, billy_plugins):
    first = make_kernel()
    second = make_kernel()
    assert first.plugins.pm is not second.plugins.pm
    assert first.tools is not second.tools
