"""The registry: the extension seam and the source of 'unknown name' errors."""

import pytest

from linclass.registry import Registry


def test_register_get_membership_and_errors():
    registry = Registry("loss")
    registry.register("b", 2)

    @registry.register("a")
    def first():
        return 1

    assert registry.resolve("a") is first and registry["b"] == 2
    assert registry.names() == ["a", "b"] and list(registry) == ["a", "b"] and len(registry) == 2
    assert "a" in registry and "zzz" not in registry and 3 not in registry
    with pytest.raises(ValueError, match=r"^loss='zzz' is not supported; expected one of \['a', 'b'\]$"):
        registry.resolve("zzz")
    with pytest.raises(ValueError, match="loss 'a' is already registered"):
        registry.register("a", 3)


def test_registry_honours_the_mapping_contract():
    registry = Registry("loss")
    registry.register("a", 1)
    assert registry.get("a") == 1 and registry.get("zzz") is None and registry.get("zzz", 5) == 5
    with pytest.raises(KeyError):
        registry["zzz"]
    assert dict(registry) == {"a": 1} and list(registry.items()) == [("a", 1)]
    with pytest.raises(ValueError, match=r"^loss=3 is not supported; expected one of \['a'\]$"):
        registry.resolve(3)
