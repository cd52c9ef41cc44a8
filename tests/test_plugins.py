"""Plugin loading: built-ins, entry points, allow-list, block-list, the plugins listing."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest

from membership import plugins
from membership.errors import PluginError


@pytest.fixture
def entry_points(monkeypatch):
    """Pretend two distributions registered ``membership`` entry points, and load them."""
    eps = [
        importlib.metadata.EntryPoint("weekend", "tests.example_plugin.rules", "membership"),
        importlib.metadata.EntryPoint("broken", "tests.example_plugin.no_such_module", "membership"),
    ]
    monkeypatch.setattr(plugins, "_entry_points", lambda: eps)
    monkeypatch.setattr(sys, "_called_from_test", False)
    monkeypatch.setenv("MEMBERSHIP_DISABLE_PLUGINS", "broken")
    return eps


def names(hooks: plugins.Hooks) -> set[str]:
    return {info.name for info in hooks.plugins()}


def test_builtins_are_registered_like_plugins():
    built = plugins.build_hooks()
    assert set(plugins.DEFAULT_PLUGINS) <= names(built)
    info = {i.name: i for i in built.plugins()}["membership.builtin.points"]
    assert info.source == "builtin" and "membership_points_awards" in info.hooks


def test_entry_points_load_outside_tests_and_block_list_applies(entry_points):
    built = plugins.build_hooks()
    assert "weekend" in names(built) and "broken" not in names(built)
    assert {i.name: i for i in built.plugins()}["weekend"].hooks == ("membership_points_awards",)


def test_a_plugin_that_fails_to_load_is_named(entry_points, monkeypatch):
    monkeypatch.delenv("MEMBERSHIP_DISABLE_PLUGINS")
    with pytest.raises(PluginError) as caught:
        plugins.build_hooks()
    assert "broken" in caught.value.detail("en")


def test_allow_list_loads_only_named_entry_points(entry_points, monkeypatch):
    monkeypatch.setenv("MEMBERSHIP_PLUGINS", "someone-else")
    assert "weekend" not in names(plugins.build_hooks())


def test_block_list_can_disable_a_builtin(monkeypatch):
    monkeypatch.setenv("MEMBERSHIP_DISABLE_PLUGINS", "membership.builtin.tiers")
    built = plugins.build_hooks()
    assert "membership.builtin.tiers" not in names(built)
    assert "membership.builtin.points" in names(built)


def test_entry_points_are_not_loaded_under_test(entry_points, monkeypatch):
    monkeypatch.setattr(sys, "_called_from_test", True)
    assert "weekend" not in names(plugins.build_hooks())
