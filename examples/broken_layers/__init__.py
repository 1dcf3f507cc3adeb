"""A gallery of deliberately broken custom layers, one module per check family.

Each class breaks one contract in a way seen in real code; its docstring names the
check that must catch it. The test-suite asserts that every check fails its broken
layer, with a message naming the contract, what was expected and what was seen.
"""
