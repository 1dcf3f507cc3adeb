"""Forward passes and training steps of every reference, in each API style and mode."""

import pytest

import reference_models
from benchmarks import forms
from benchmarks.timing import devices, measure


def _forward_cases():
    cases = []
    for reference in reference_models.all_references():
        for style in reference.styles:
            for mode in forms.MODES:
                for batch in forms.BATCH_SIZES:
                    representative = style == reference.styles[0] and mode == forms.GRAPH
                    cases.append(
                        pytest.param(
                            reference.name, style, mode, batch,
                            id=f"{reference.name}-{style}-{mode}-batch{batch}",
                            marks=[pytest.mark.quick] if representative else [],
                        )
                    )
    return cases


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name, style, mode, batch", _forward_cases())
def test_forward(benchmark, name, style, mode, batch, device):
    model = forms.forward_forms(name, device)[style]
    inputs = forms.inputs_for(name, batch, device)
    measure(
        benchmark, forms.forward(model, mode), inputs,
        group=f"forward {name}, batch {batch}, {device}: API styles x eager/tf.function/XLA "
        "(same weights)",
        device=device, kind="forward", reference=name, style=style, mode=mode, batch=batch,
    )


def _training_cases():
    cases = []
    for reference in reference_models.all_references():
        if "weightless" in reference.traits:
            continue
        for style in reference.styles:
            for mode in forms.MODES:
                representative = style == reference.styles[0] and mode == forms.GRAPH
                cases.append(
                    pytest.param(
                        reference.name, style, mode,
                        id=f"{reference.name}-{style}-{mode}",
                        marks=[pytest.mark.quick] if representative else [],
                    )
                )
    return cases


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name, style, mode", _training_cases())
def test_training_step(benchmark, name, style, mode, device):
    """One SGD step at the large batch; weightless references have nothing to train."""
    model = forms.training_forms(name, device)[style]
    inputs = forms.inputs_for(name, forms.LARGE_BATCH, device)
    measure(
        benchmark, forms.training_step(model, mode), inputs,
        group=f"training step {name}, batch {forms.LARGE_BATCH}, {device}: API styles x "
        "eager/tf.function/XLA",
        device=device, kind="training step", reference=name, style=style, mode=mode,
        batch=forms.LARGE_BATCH,
    )
