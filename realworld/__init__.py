"""A corpus of real, correct-by-their-authors layers from keras-hub, keras-rs and Keras itself,
each called the way its own documentation calls it (issue 17).

``realworld.corpus`` lists the targets; ``python -m realworld.pin`` re-pins their fast-tier
verdicts in ``realworld/verdicts/``; ``tests/test_realworld.py`` (slow) checks them.
"""
