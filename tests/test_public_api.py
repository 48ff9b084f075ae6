"""Every module of msgload's packages states its public names, and they exist."""

import importlib
import pkgutil

import pytest

import analysis
import stack
import users

MODULES = sorted(
    f"{package.__name__}.{info.name}"
    for package in (users, stack, analysis)
    for info in pkgutil.iter_modules(package.__path__)
    if info.name != "__main__"
) + ["users", "stack", "analysis"]


@pytest.mark.parametrize("module_name", MODULES)
def test_module_all_names_exist(module_name):
    module = importlib.import_module(module_name)

    assert hasattr(module, "__all__"), module_name
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name}"
