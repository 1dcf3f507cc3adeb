"""Hypothesis property tests over the reference registry.

``properties.py`` holds each property as a plain function ``property_xxx(layer_factory,
data)``; ``test_properties.py`` runs them on the references, ``test_broken_variants.py``
runs them on the deliberately broken layers of ``broken_variants.py`` and expects
hypothesis to find a counterexample.
"""
