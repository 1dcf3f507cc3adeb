"""The registry holds every documented name, with the API styles its architecture allows."""

import pathlib
import re

import pytest

import reference_models
from reference_models import FUNCTIONAL, SEQUENTIAL, SUBCLASSED

ROOT = pathlib.Path(__file__).resolve().parents[1]
ALL_STYLES = {SUBCLASSED, FUNCTIONAL, SEQUENTIAL}
DAG_ONLY = {SUBCLASSED, FUNCTIONAL}

EXPECTED_STYLES = {
    # layers
    "simple_dense": ALL_STYLES,
    "custom_dense": ALL_STYLES,
    "my_custom_layer": ALL_STYLES,
    "lambda_abs": ALL_STYLES,
    "lambda_my_relu": ALL_STYLES,
    "cnn_residual": DAG_ONLY,
    "dnn_residual": DAG_ONLY,
    "identity_block": DAG_ONLY,
    "dropout": ALL_STYLES,
    "batch_norm_dropout_block": ALL_STYLES,
    # models
    "linear_regression": ALL_STYLES,
    "mnist_sequential": ALL_STYLES,
    "flatten_simple_dense_dropout": ALL_STYLES,
    "lambda_abs_classifier": ALL_STYLES,
    "lambda_my_relu_classifier": ALL_STYLES,
    "my_model": ALL_STYLES,
    "my_custom_model": ALL_STYLES,
    "wide_and_deep": DAG_ONLY,
    "multi_input_model": DAG_ONLY,
    "shared_dense_two_output": DAG_ONLY,
    "my_residual": DAG_ONLY,
    "resnet": DAG_ONLY,
    "custom_dense_stack": ALL_STYLES,
    "my_custom_layer_stack": ALL_STYLES,
}
LAYERS = {
    "simple_dense", "custom_dense", "my_custom_layer", "lambda_abs", "lambda_my_relu",
    "cnn_residual", "dnn_residual", "identity_block", "dropout", "batch_norm_dropout_block",
}


def test_registry_holds_exactly_the_documented_names():
    assert set(reference_models.names()) == set(EXPECTED_STYLES)
    assert set(reference_models.names(kind="layer")) == LAYERS


@pytest.mark.parametrize("name", sorted(EXPECTED_STYLES))
def test_entry_declares_its_styles_and_metadata(name):
    ref = reference_models.get(name)
    assert set(ref.styles) == EXPECTED_STYLES[name]
    assert ref.description and ref.section
    assert (ROOT / "docs" / "seed-errata.md").exists()
    assert re.fullmatch(r"\d{3}_[0-9a-f]{16}\.txt", ref.seed)
    for shape in ref.shapes():
        assert all(isinstance(dim, int) and dim > 0 for dim in shape)
    assert ref.traits <= reference_models.TRAITS
    if len(ref.shapes()) > 1:
        assert "multi_input" in ref.traits


@pytest.mark.parametrize("name", sorted(EXPECTED_STYLES))
def test_seed_file_and_section_exist_in_the_notes(name):
    seeds = ROOT.parent / "shared" / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"the course notes are not beside this checkout ({seeds})")
    assert (seeds / reference_models.get(name).seed).is_file()


def _errata_ids():
    text = (ROOT / "docs" / "seed-errata.md").read_text(encoding="utf-8")
    return set(re.findall(r"^## ([a-z0-9-]+):", text, flags=re.MULTILINE))


@pytest.mark.parametrize("name", sorted(EXPECTED_STYLES))
def test_every_departure_from_the_notes_is_documented(name):
    missing = set(reference_models.get(name).notes_departures) - _errata_ids()
    assert not missing, f"{name} names errata entries missing from docs/seed-errata.md: {missing}"


def test_unknown_name_is_a_clear_key_error():
    with pytest.raises(KeyError, match="unknown reference 'nope'.*simple_dense"):
        reference_models.get("nope")


def test_unsupported_style_is_refused_with_the_supported_ones():
    with pytest.raises(ValueError, match="cannot be expressed in the sequential API"):
        reference_models.get("resnet").build(SEQUENTIAL)
