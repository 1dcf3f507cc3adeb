"""Known-bad examples: the course notes' code, kept as the notes wrote it.

Each module here holds one example from the notes in ``../shared/seeds/`` whose code
is broken or silently wrong on Keras 3 (and sometimes on Keras 2 as well). The code is
verbatim except for the least needed to import the module, and every such change is
marked with a comment. Each module's docstring names the seed file and section it comes
from and the errata ids it demonstrates; ``docs/seed-errata.md`` describes every id and
what was measured, and ``tests/test_notes_verbatim.py`` pins that behaviour.

These are NOT implementations to use: the corrected versions live in
``reference_models``. Importing a module here has no side effects: model-building
snippets are wrapped in functions, nothing is trained and nothing is registered with
Keras serialization.
"""
