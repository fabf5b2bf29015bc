from __future__ import annotations

import inspect

import eventmesh


def test_all_names_exist_and_are_documented() -> None:
    for name in eventmesh.__all__:
        obj = getattr(eventmesh, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, f"{name} has no docstring"


def test_all_lists_exactly_the_public_names() -> None:
    public = {n for n in vars(eventmesh) if not n.startswith("_")}
    modules = {n for n in public if inspect.ismodule(getattr(eventmesh, n))}
    assert set(eventmesh.__all__) == public - modules
