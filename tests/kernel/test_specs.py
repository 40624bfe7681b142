"""Family specs are typed and checked when a family registers: a typo fails at import."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from adl_runner.kernel.registry import Registry
from adl_runner.kernel.specs import DatasetSpec, EpisodeSpec, FitSpec, InputKindSpec, NoneSpec


@dataclass
class Options:
    size: int = 1


def test_a_misspelt_field_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="viw"):
        FitSpec(options=Options, viw="image")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda: FitSpec(options=Options, view="img"), "view must be one of flat, image, sequence"),
        (lambda: FitSpec(options=Options, view="image", objective="clasify"), "objective must be one of"),
        (lambda: FitSpec(options=Options, view="image", sample="sample_gan"), "sample must be callable"),
        (lambda: FitSpec(options=dict, view="image"), "options must be a dataclass type"),
        (lambda: FitSpec(options=Options, view="image", sample_options=Options), "sample_options must be a dataclass subclass"),
        (lambda: EpisodeSpec(options=Options, accepts=True), "accepts must be callable"),
        (lambda: NoneSpec(options=Options()), "options must be a dataclass type"),
        (lambda: FitSpec(options=Options, view="image", input_kind="pairs", two_domains=True), "excludes two_domains"),
        (lambda: DatasetSpec(options=Options, source="box"), "source must name sources among labels, pairs, boxes"),
        (lambda: InputKindSpec(options=Options, sources="boxes"), "sources must name sources among"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_value_is_refused_at_registration(make, fragment: str) -> None:
    with pytest.raises(TypeError, match=fragment):
        make()


def test_a_registry_takes_only_its_spec_types() -> None:
    models: Registry = Registry("model", (FitSpec, EpisodeSpec, NoneSpec))
    with pytest.raises(TypeError, match="must be registered with a FitSpec or EpisodeSpec or NoneSpec, got dict"):
        models.register("x", {"view": "image"})  # the untyped meta of old
    models.register("x", FitSpec(options=Options, view="flat"))(lambda opts, ctx: None)
    assert models.get("x").spec.loop == "fit"
    with pytest.raises(ValueError, match="registered twice"):
        models.register("x", NoneSpec(options=None))(lambda opts, ctx: None)


def test_each_loop_says_what_it_reads() -> None:
    assert FitSpec(options=None, view="image").reads() == ("dataset", "optimizer", "trainer", "logger")
    assert EpisodeSpec(options=None).reads() == ("env", "trainer", "logger")
    assert "optimizer" in EpisodeSpec(options=None, uses_optimizer=True).reads()
    assert NoneSpec(options=None).reads() == ("logger",)
