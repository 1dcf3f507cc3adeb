"""Write the statuses every check gives the broken-layer and known-good sweeps (fast tier)
to tests/verdicts/<keras>.json, which tests/test_verdicts.py and tests/test_known_good.py
compare against: a speed-up must not change a verdict. Each target's label maps to the
checks that did not pass (``{check id: status}``, possibly empty): a check absent passed.

    python scripts/pin_verdicts.py            # the Keras this environment has
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    from tests.verdict_sweeps import sweep_statuses, verdicts_path

    statuses = sweep_statuses()
    path = verdicts_path()
    path.write_text(json.dumps(statuses, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(statuses)} targets pinned in {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
