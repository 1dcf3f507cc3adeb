"""Every option of a ``check`` run, declared once: its name (the pyproject key), where it may
be given (command-line flags, the ``[tool.keras-conformance]`` table, a target entry), the
:class:`~conformance.spec.CheckSpec` argument it becomes, how its value is validated, its
default and its help. The command's parser and the pyproject key lists are built from
:data:`OPTIONS`, so an option added here is known to both."""

import difflib
import math
from dataclasses import dataclass, field
from typing import Callable, Optional

#: The report formats (``--format``, ``format`` in the table).
FORMATS = ("text", "json", "junit", "markdown", "html")
#: Seconds each check may take unless told otherwise.
DEFAULT_TIMEOUT = 180.0
#: The tiers of the catalogue.
TIERS = ("fast", "full")


class UsageError(Exception):
    """What the user asked for cannot be done as asked (exit code 2, one line)."""


def positive_seconds(value, where):
    """``value`` as seconds; a usage error unless it is a positive, finite number (the
    same rule for the command-line options and the pyproject keys)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value <= 0:
        raise UsageError(f"{where} takes a positive number of seconds, got {value!r}")
    return float(value)


def report_format(value, where):
    if value not in FORMATS:
        close = difflib.get_close_matches(str(value), FORMATS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UsageError(f"{where} must be one of {', '.join(FORMATS)}, got {value!r}{hint}")
    return value


def positive_jobs(value, where):
    """``value`` as a number of target processes; a one-line usage error unless it is a
    positive integer."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{where} takes a positive whole number of target processes, got {value!r}")
    return value


def tier(value, where):
    if value not in TIERS:
        raise UsageError(f"{where} must be 'fast' or 'full', got {value!r}")
    return value


def folder(value, where):
    """``value`` as a folder path; a usage error unless it is a non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where} takes a folder path, got {value!r}")
    return value


@dataclass(frozen=True)
class Option:
    """One option. ``name`` is its pyproject key; ``flags`` its command-line spelling (none:
    not on the command line) with ``dest`` the attribute argparse stores it in and ``cli``
    the rest of argparse's arguments; ``table`` / ``target``: a key of the
    ``[tool.keras-conformance]`` table / of a target entry; ``spec``: the CheckSpec argument
    it becomes; ``validate(value, where)`` checks a value given on any of these paths."""

    name: str
    help: Optional[str] = None
    flags: tuple = ()
    dest: Optional[str] = None
    cli: dict = field(default_factory=dict)
    table: bool = False
    target: bool = False
    spec: Optional[str] = None
    validate: Optional[Callable] = None
    default: object = None
    group: Optional[str] = None  # options of one group exclude each other on the command line
    passes_through: bool = False  # given to CheckSpec as written, with no reading of its own
    api: Optional[str] = None  # the argument of runner.check_layer, when not ``spec``

    @property
    def api_argument(self):
        """The argument of :func:`conformance.runner.check_layer` it is, or None."""
        return self.api or self.spec

    @property
    def attribute(self):
        """Where argparse stores the option's value."""
        return self.dest or self.name

    def where(self, source):
        """How a message names the option given through ``source`` (``"cli"`` or a place)."""
        return self.flags[0] if source == "cli" and self.flags else f"{self.name} in {source}"


OPTIONS = (
    Option("target", flags=(), target=True, spec="import_path",
           help="package.module:ClassName or path/to/file.py:ClassName"),
    Option("kwargs", flags=("--kwargs",), target=True, spec="kwargs",
           help="constructor kwargs as a JSON object "
                "(Keras objects in Keras's serialized form, {\"class_name\": ..., \"config\": ...})"),
    Option("kwargs_factory", flags=("--kwargs-factory",), target=True, spec="kwargs_factory",
           cli={"metavar": "MODULE:FUNCTION"},
           passes_through=True,
           help="a function returning more constructor kwargs, called for each instance"),
    Option("loss_outputs", flags=("--loss-output",), dest="loss_output", target=True,
           spec="loss_outputs", cli={"action": "append", "metavar": "OUTPUT"},
           passes_through=True,
           help="an output the training-based checks put a loss on (a path such as "
                "0, logits or 1.cache; default: every float output with a batch axis)"),
    Option("unbatched_outputs", flags=("--unbatched-output",), dest="unbatched_output", target=True,
           spec="unbatched_outputs", cli={"action": "append", "metavar": "OUTPUT"},
           passes_through=True,
           help="an output with no batch axis that the checker cannot tell apart"),
    Option("float32_outputs", flags=("--float32-output",), dest="float32_output", target=True,
           spec="float32_outputs", cli={"action": "append", "metavar": "OUTPUT"},
           passes_through=True,
           help="an output kept in float32 by design under mixed precision and under float64 "
                "(a float32 residual stream, box coordinates); --trait float32_outputs: all of them"),
    Option("inputs", flags=("--input",), dest="inputs", target=True, spec="inputs",
           cli={"action": "ordered_input", "metavar": "[NAME=]SHAPE[:DTYPE][@LOW..HIGH][!MARK]"},
           help="one input, batch first: 3,7 (positional; several make a list), "
                "query=2,5,8 (a keyword argument), inputs.ids=2,5:int32@0..50 (a key "
                "of a dict argument), 2,5:bool (a padding mask); repeat for each input. "
                "Marks: !mask (0/1 mask in the dtype given), !mask_of=NAME, !unbatched, "
                "!broadcast, !onehot, !tuple, !seq=AXIS[,AXIS] or !seq=none (its sequence "
                "(length) axes; by default axis 1 of ids and of rank-3 float inputs)"),
    Option("input_shapes", flags=("--input-shape",), dest="inputs", target=True, spec="input_shapes",
           cli={"action": "ordered_input", "metavar": "SHAPE"},
           help="shorthand for a positional float32 --input, e.g. 3,7"),
    Option("call_kwargs", flags=("--call-kwargs",), target=True, spec="call_kwargs",
           cli={"metavar": "JSON"},
           help='constant keyword arguments of every call, e.g. \'{"use_causal_mask": true}\''),
    Option("reference", flags=("--reference",), target=True, spec="reference",
           help="what to compare against: a reference_models entry (simple_dense), a Layer class "
                "(keras.layers:LayerNormalization, pkg.module:Class, file.py:Class) or a function "
                "(pkg.formulas:layer_norm, called like the target with NumPy arrays, weights= "
                "and training=, returning the expected outputs)"),
    Option("reference_kwargs", flags=("--reference-kwargs",), target=True, spec="reference_kwargs",
           help="kwargs of the reference (default: --kwargs)"),
    Option("weight_map", flags=("--weight-map",), target=True, spec="weight_map",
           cli={"metavar": "JSON|MODULE:FUNCTION"}, passes_through=True,
           help="how the reference's weights become the target's when order and shape do not "
                "say: '{\"target weight\": \"reference weight\"}' (a name ending in .T is "
                "transposed; unmapped weights take the reference's weight of the same name) or a "
                "function taking the reference's weights {name: array} and returning the target's"),
    Option("golden", flags=("--golden",), table=True, target=True, spec="golden", validate=folder,
           cli={"metavar": "DIR"},
           help="golden files: the first run records each target's inputs, weights, outputs and "
                "gradients in DIR, later runs compare against them (check_matches_golden; "
                "pyproject key: golden, relative to the pyproject's folder)"),
    Option("update_golden", flags=("--update-golden",), spec="update_golden", default=False,
           cli={"action": "store_true"},
           help="record the golden files in the --golden DIR again instead of comparing"),
    Option("tier", flags=("--tier",), table=True, target=True, spec="tier", validate=tier,
           default="fast", cli={"choices": TIERS}),
    Option("expect_fail", flags=("--expect-fail",), target=True, spec="expected_failures",
           cli={"action": "append", "metavar": "CHECK_ID=REASON"}),
    Option("format", flags=("--format",), table=True, validate=report_format, default="text",
           cli={"choices": FORMATS}),
    Option("output", flags=("--output",), table=True, cli={"metavar": "PATH"},
           help="write the report here (missing folders are created)"),
    Option("verbose", flags=("-v", "--verbose"), group="loudness", cli={"action": "store_true"},
           help="list every check, and let TensorFlow's own log lines through"),
    Option("quiet", flags=("-q", "--quiet"), group="loudness", cli={"action": "store_true"},
           help="only one summary line per target, no progress display"),
    Option("traits", flags=("--trait",), dest="trait", target=True, spec="traits",
           cli={"action": "append", "metavar": "TRAIT"},
           help="declare a trait the checker cannot detect (see `checks`)"),
    Option("strict", flags=("--strict",), table=True, target=True, spec="strict", default=False,
           cli={"action": "store_true"}, help="an unexpected pass fails the run"),
    Option("timeout", flags=("--timeout",), table=True, target=True, spec="timeout",
           validate=positive_seconds, default=DEFAULT_TIMEOUT, cli={"type": float},
           help="seconds per check (default 180)"),
    Option("target_timeout", flags=("--target-timeout",), table=True, target=True, api="target_timeout",
           validate=positive_seconds, cli={"type": float, "metavar": "SECONDS"},
           help="seconds for all the checks of one target; when they run out, its "
                "remaining checks are errors saying so (pyproject key: target_timeout)"),
    Option("run_timeout", flags=("--run-timeout",), table=True, validate=positive_seconds, api="run_timeout",
           cli={"type": float, "metavar": "SECONDS"},
           help="seconds for the whole run; when they run out, what is left is reported "
                "as not run and the exit code is 5 unless a check failed "
                "(pyproject key: run_timeout)"),
    Option("only_checks", flags=("--check",), cli={"action": "append", "metavar": "CHECK_ID"},
           help="run only this check (repeat for several; see `checks` for the ids)"),
    Option("only_families", flags=("--family",), cli={"action": "append", "metavar": "FAMILY"},
           help="run only the checks of this family (repeat for several)"),
    Option("config", flags=("--config",), default="pyproject.toml",
           help="pyproject.toml read when no TARGET is given"),
    Option("jobs", flags=("--jobs",), table=True, validate=positive_jobs, default=1,
           cli={"type": int, "metavar": "N"},
           help="check the targets in N target processes, one report in target "
                "order (default 1: all in this process; pyproject key: jobs)"),
    Option("isolate", flags=("--isolate",), cli={"action": "store_true"},
           help="check each target in a target process of its own, so that os._exit or a crash "
                "in native code in the code under test is that target's error row "
                "(costs one process start)"),
)

BY_NAME = {option.name: option for option in OPTIONS}
#: The keys a ``[[tool.keras-conformance.targets]]`` entry may hold.
TARGET_KEYS = tuple(option.name for option in OPTIONS if option.target)
#: The target keys handed to CheckSpec as they are written.
PASSED_THROUGH = tuple(option.name for option in OPTIONS if option.passes_through)
#: The target keys the command line gives per target (the table's keys are run-wide defaults there).
TARGET_FLAGS = tuple(option for option in OPTIONS if option.target and option.flags and not option.table)
#: The keys the ``[tool.keras-conformance]`` table itself may hold.
TABLE_KEYS = ("targets",) + tuple(option.name for option in OPTIONS if option.table)


def validated(name, value, where):
    """``value`` of option ``name`` as its validator returns it (a usage error naming
    ``where`` if it is not valid)."""
    check = BY_NAME[name].validate
    return value if check is None else check(value, where)


def add_arguments(parser, ordered_input_action):
    """The command-line options of :data:`OPTIONS` on ``parser`` (``check``'s subparser);
    ``ordered_input_action`` is the argparse action ``--input`` and ``--input-shape`` share."""
    groups = {}
    for option in OPTIONS:
        if not option.flags:
            continue
        where = parser
        if option.group is not None:
            if option.group not in groups:
                groups[option.group] = parser.add_mutually_exclusive_group()
            where = groups[option.group]
        extra = dict(option.cli)
        if extra.get("action") == "ordered_input":
            extra["action"] = ordered_input_action
        if extra.get("action") not in ("store_true",):
            extra.setdefault("default", option.default if option.name == "config" else None)
        where.add_argument(*option.flags, dest=option.attribute, help=option.help, **extra)
