"""The catalogue of contract checks: one function per contract, registered by family."""

from dataclasses import dataclass
from typing import Callable, Optional

FAMILIES = (
    "construction",
    "outputs",
    "shapes",
    "modes",
    "masking",
    "gradients",
    "graph",
    "serialization",
    "dtype",
    "distribution",
    "reference",
    "golden",
    "model",
    "quantization",
    "pipelines",
    "backends",
)
TIERS = ("fast", "full")

_CHECKS = {}


@dataclass(frozen=True)
class Check:
    """A registered contract check. ``id`` is the function name and never changes."""

    id: str
    family: str
    contract: str
    func: Callable
    tier: str = "fast"
    kinds: tuple = ("layer", "model")
    needs_reference: bool = False
    #: Declarable traits (:mod:`conformance.traits`) that make the whole check not apply;
    #: the runner skips it with the first one the target declares.
    skipped_by: tuple = ()
    #: ``start(spec)``, when given, begins the check's slow part in the background before
    #: its turn (the runner calls it once per run of the check); the check then finishes it.
    start: Optional[Callable] = None

    def __call__(self, spec):
        return self.func(spec)

    def in_tier(self, tier):
        return self.tier == "fast" or tier == "full"


def contract(family, tier="fast", kinds=("layer", "model"), needs_reference=False, start=None,
             skipped_by=()):
    """Register the decorated ``check_<contract>(spec)`` function.

    Its docstring's first line is the contract, stated in one sentence. ``tier="full"``
    marks checks that start a subprocess or export a SavedModel. ``kinds`` limits the
    check to layers or models (a ``keras.Model`` subclass counts as a model). ``start``
    begins the check's work in the background (see :attr:`Check.start`). ``skipped_by``
    names the declarable traits under which the check does not apply (in the order their
    reasons are given).
    """
    from conformance.traits import DECLARABLE_TRAITS

    if isinstance(skipped_by, str) or set(skipped_by) - set(DECLARABLE_TRAITS):
        raise ValueError(f"skipped_by takes declarable trait names, got {skipped_by!r}")
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}")

    def register(func):
        name = func.__name__
        if not name.startswith("check_"):
            raise ValueError(f"check functions are named check_<contract>, got {name}")
        if name in _CHECKS:
            raise ValueError(f"{name} is registered twice")
        doc = (func.__doc__ or "").strip()
        if not doc:
            raise ValueError(f"{name} needs a docstring stating its contract")
        _CHECKS[name] = Check(
            id=name,
            family=family,
            contract=doc.splitlines()[0].strip().replace("``", ""),
            func=func,
            tier=tier,
            kinds=tuple(kinds),
            needs_reference=needs_reference,
            start=start,
            skipped_by=tuple(skipped_by),
        )
        return func

    return register


def _load_families():
    import conformance.checks  # noqa: F401  (importing registers every family)


def all_checks(tier="full", family=None):
    """Registered checks in catalogue order (family order, then definition order)."""
    _load_families()
    checks = [c for c in _CHECKS.values() if c.in_tier(tier)]
    if family is not None:
        checks = [c for c in checks if c.family == family]
    order = {name: index for index, name in enumerate(FAMILIES)}
    return sorted(checks, key=lambda c: order[c.family])  # stable: keeps definition order


def get_check(check_id):
    _load_families()
    try:
        return _CHECKS[check_id]
    except KeyError:
        raise KeyError(f"unknown check {check_id!r}; see `keras-conformance checks`") from None


def checks_skipped_by(trait):
    """The ids of the registered checks that the declared ``trait`` skips as a whole."""
    return [c.id for c in all_checks() if trait in c.skipped_by]
