"""The catalogue's public promises: stable ids, one-sentence contracts, a broken layer each."""

import importlib
import pkgutil

import examples.broken_layers
from conformance.catalogue import FAMILIES, all_checks, get_check

# Check ids are a public API (CI scripts pass them to --expect-fail): renaming or removing
# one is a breaking change. Add new ids here; never edit or delete one.
STABLE_IDS = [
    "check_no_weights_after_init",
    "check_constructor_leaves_arguments_unchanged",
    "check_accepts_base_kwargs",
    "check_build_runs_once",
    "check_no_new_state_after_first_call",
    "check_variables_tracked",
    "check_sublayers_built",
    "check_symbolic_unknown_batch",
    "check_output_shapes_agree",
    "check_batch_sizes",
    "check_symbolic_unknown_length",
    "check_lengths_vary",
    "check_inference_deterministic",
    "check_default_call_is_inference",
    "check_batch_independent_inference",
    "check_inference_mutates_no_variable",
    "check_training_argument_exposed",
    "check_training_updates_nested_state",
    "check_gradients_nonzero",
    "check_gradients_match_finite_differences",
    "check_fit_updates_trainable_weights",
    "check_trainable_false_freezes",
    "check_graph_matches_eager",
    "check_xla_matches_eager",
    "check_no_retracing",
    "check_get_config_json",
    "check_config_keeps_kwargs",
    "check_config_keeps_non_default_kwargs",
    "check_from_config_same_outputs",
    "check_keras_save_load",
    "check_fresh_process_load",
    "check_weights_h5_round_trip",
    "check_saved_model_export",
    "check_mixed_precision",
    "check_float64_policy",
    "check_dtype_policy_reaches_sublayers",
    "check_reference_weight_structure",
    "check_reference_outputs",
    "check_reference_gradients",
    "check_reference_initialization",
    "check_reference_stochastic_statistics",
    "check_reference_parameter_counts",
    "check_matches_golden",
    "check_model_compile_fit_evaluate_predict",
    "check_model_summary_counts",
    "check_quantized_outputs_close",
    "check_quantized_save_load",
    "check_predict_from_dataset",
    "check_fit_from_dataset",
    "check_call_returns_tensors",
    "check_outputs_finite",
    "check_input_domain_accepted",
    "check_mask_propagation",
    "check_masked_values_ignored",
    "check_compute_mask_matches_functional",
    "check_dropped_mask_reported",
    "check_distributed_variables",
    "check_distributed_fit_matches_one_device",
    "check_distributed_predict_matches_one_device",
    "check_distributed_save_load",
    "check_backend_outputs_match",
    "check_backend_gradients_match",
    "check_backend_keras_file_portable",
    "check_backend_fit_step_matches",
]


def _broken_catalogue():
    covered = {}
    for module_info in pkgutil.iter_modules(examples.broken_layers.__path__):
        module = importlib.import_module(f"examples.broken_layers.{module_info.name}")
        for check_id, cases in getattr(module, "BROKEN", {}).items():
            covered.setdefault(check_id, []).extend(cases)
    return covered


def test_no_check_id_was_renamed_or_removed():
    ids = [c.id for c in all_checks("full")]
    assert sorted(ids) == sorted(STABLE_IDS), "add new ids to STABLE_IDS; never rename or remove one"
    assert len(set(ids)) == len(ids)


def test_every_check_states_its_contract_in_one_sentence():
    for check in all_checks("full"):
        assert check.family in FAMILIES
        assert check.contract.endswith(".") and "\n" not in check.contract, check.id
        assert get_check(check.id) is check


def test_every_check_has_a_deliberately_broken_layer():
    covered = _broken_catalogue()
    missing = [c.id for c in all_checks("full") if not covered.get(c.id)]
    assert not missing, f"checks without a broken layer in examples/broken_layers: {missing}"


def test_every_trait_a_check_is_skipped_by_is_declarable_and_skips_something_or_steers_a_check():
    from conformance.catalogue import checks_skipped_by
    from conformance.traits import DECLARABLE_TRAITS

    for check in all_checks():
        assert set(check.skipped_by) <= set(DECLARABLE_TRAITS), check.id
    assert checks_skipped_by("batch_dependent") == [
        "check_batch_independent_inference", "check_distributed_fit_matches_one_device",
        "check_distributed_predict_matches_one_device"]
    assert "check_gradients_nonzero" in checks_skipped_by("inference_only")


def test_an_unknown_trait_cannot_skip_a_check():
    import pytest
    from conformance.catalogue import contract

    with pytest.raises(ValueError, match="declarable trait"):
        contract("modes", skipped_by=("no_such_trait",))
    with pytest.raises(ValueError, match="declarable trait"):
        contract("modes", skipped_by="batch_dependent")


def test_the_runner_skips_a_declared_check_with_the_traits_description_without_calling_it():
    import dataclasses

    import keras_compat as compat
    from conformance.runner import run_check
    from conformance.spec import CheckSpec
    from conformance.traits import DECLARABLE_TRAITS

    def never_called(spec):
        raise AssertionError("a check its declared trait skips is not called")

    check = dataclasses.replace(get_check("check_batch_independent_inference"), func=never_called)
    spec = CheckSpec(compat.keras.layers.Dense, kwargs={"units": 2}, input_shapes=[(3, 4)],
                     traits={"stochastic_inference", "batch_dependent"})
    result = run_check(check, spec)
    assert (result.status, result.reason) == (
        "skipped", f"declared batch_dependent: {DECLARABLE_TRAITS['batch_dependent']}")


def test_no_check_decides_a_declared_skip_itself():
    """Whole-check skips are declared with ``@contract(skipped_by=...)`` and decided by the runner."""
    import pathlib

    import conformance.checks

    for path in pathlib.Path(conformance.checks.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert 'NotApplicable(f"declared' not in text and 'NotApplicable("declared' not in text, path.name
