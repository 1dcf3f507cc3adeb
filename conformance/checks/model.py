"""Model: what a ``keras.Model`` subclass must support beyond being a layer."""

import re

import numpy as np

from conformance.catalogue import contract
from conformance.checks._common import defined_arrays, run_step
from conformance.outcomes import NotApplicable, expect
from conformance.tensors import as_arrays, flatten, mismatch
from conformance.wrapping import losses_and_targets

#: Relative tolerance between ``predict`` (compiled, batched) and a direct call.
_PREDICT = 1e-4


def _describe_history(entries):
    shapes = [np.shape(entry) for entry in entries]
    return f"{len(entries)} entries of shapes {shapes}" if any(shapes) else repr(entries)


def _numbers(result):
    """Every number in a loss, a list of losses or a dict of metrics, as a flat float array."""
    if isinstance(result, dict):
        result = [result[key] for key in sorted(result)]
    return np.asarray([float(v) for v in np.ravel(np.asarray(result, dtype="float64"))])


@contract("model", kinds=("model",), skipped_by=("inference_only",))
def check_model_compile_fit_evaluate_predict(spec):
    """``compile``, ``fit``, ``evaluate`` and ``predict`` work with the model's inputs and outputs: finite losses, and predictions shaped like (and equal to) a direct call."""
    model = spec.model_of(spec.built())
    batch_size = spec.batch_size
    rows = 2 * batch_size + 1  # two full batches and a final batch of one sample
    values = spec.draw(batch_size=rows, seed=1)
    x = spec.model_data(model, values)
    outputs = spec.call(model, values, training=False)
    direct = defined_arrays(spec, outputs)
    losses, y = losses_and_targets(outputs, spec=spec, batch_size=rows)
    if not any(loss is not None for loss in flatten(losses)):
        raise NotApplicable("no floating-point output with a batch axis to put a loss on "
                            "(name one with loss_outputs)")
    # predict() concatenates each output over the batches: only outputs that carry the
    # batch come back as a direct call gives them (an anchor table comes back 3 times).
    batched = [i for i, d in enumerate(direct) if d.ndim and d.shape[0] == rows]
    run_step("compile(optimizer='adam', loss='mse' for the outputs trained) to work",
             lambda: model.compile(optimizer="adam", loss=losses, jit_compile=False))
    history = run_step(f"fit() to train one epoch on {rows} samples in batches of {batch_size}",
                       lambda: model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0))
    reported = history.history.get("loss", [])
    expect(len(reported) == 1 and np.ndim(reported[0]) == 0 and np.isfinite(float(np.asarray(reported[0]))),
           "one finite scalar training loss for the epoch from fit()",
           lambda: f"a loss history of {_describe_history(reported)}",
           hint="a custom train_step must return the mean loss as a scalar")
    evaluated = _numbers(run_step("evaluate() to work",
                                  lambda: model.evaluate(x, y, batch_size=batch_size, verbose=0)))
    expect(evaluated.size and np.all(np.isfinite(evaluated)), "finite losses from evaluate()",
           lambda: f"{evaluated.tolist()}")
    predicted = as_arrays(run_step("predict() to work",
                                   lambda: model.predict(x, batch_size=batch_size, verbose=0)))
    after_fit = defined_arrays(spec, spec.call(model, values, training=False))
    expect(len(predicted) == len(direct) and all(predicted[i].shape == direct[i].shape for i in batched),
           f"predictions shaped like a direct call: {[d.shape for d in direct]}",
           lambda: f"{[p.shape for p in predicted]}")
    predicted, after_fit = [predicted[i] for i in batched], [after_fit[i] for i in batched]
    expect(all(np.all(np.isfinite(p)) for p in predicted), "finite predictions", "non-finite values")
    if spec.has_trait("stochastic_inference") or spec.has_trait("batch_dependent"):
        return
    difference = mismatch(after_fit, predicted, _PREDICT)
    expect(not difference, "predict() to give a direct inference call's outputs", difference)


_COUNT = r"\s*([\d,]+)"


def _reported(text, label):
    """The number after ``label`` in a summary ("1,002" on Keras 3, "1002" on Keras 2)."""
    match = re.search(r"(?<![\w-])" + re.escape(label) + _COUNT, text)
    return None if match is None else int(match.group(1).replace(",", ""))


def _count(variables):
    unique = {id(v): v for v in variables}
    return sum(int(np.prod(v.shape)) for v in unique.values())


@contract("model", kinds=("model",))
def check_model_summary_counts(spec):
    """``summary()`` and ``count_params()`` count the parameters in ``trainable_weights``, ``non_trainable_weights`` and ``weights``, and every weight is one or the other."""
    model = spec.built()
    lines = []
    print_fn = lambda line, *args, **kwargs: lines.append(str(line))  # noqa: E731
    run_step("summary() to print", lambda: model.summary(print_fn=print_fn))
    text = "\n".join(lines)
    trainable, non_trainable = _count(model.trainable_weights), _count(model.non_trainable_weights)
    total = _count(model.weights)
    for label, want in (("Trainable params:", trainable), ("Non-trainable params:", non_trainable)):
        seen = _reported(text, label)
        expect(seen == want, f"summary() to report '{label} {want}' (the sum over the weights)",
               "no such line" if seen is None else f"{label} {seen}")
    counted = run_step("count_params() to work", model.count_params)
    expect(counted == total, f"count_params() = {total}, the sum over model.weights", str(counted))
    expect(trainable + non_trainable == total,
           f"every weight counted once, as trainable or non-trainable: {total} parameters in model.weights",
           f"{trainable} trainable + {non_trainable} non-trainable = {trainable + non_trainable}",
           hint="freeze weights with layer.trainable = False, not by overriding trainable_weights")
