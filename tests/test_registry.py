import pytest

from ablate.registry import Registry, UnknownChoiceError


def test_unknown_name_lists_valid_ones():
    reg: Registry[int] = Registry("colour")
    reg.register("red")(1)
    reg.register("blue")(2)
    with pytest.raises(UnknownChoiceError, match=r"unknown colour 'green'; valid: red, blue"):
        reg["green"]
    assert reg["blue"] == 2
    assert "red" in reg and "green" not in reg


def test_duplicate_registration_is_refused():
    reg: Registry[int] = Registry("colour")
    reg.register("red")(1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("red")(2)
