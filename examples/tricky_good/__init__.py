"""Correct layers that are easy to mistake for broken ones: each does something Keras
allows that a naive check would blame. Every check must pass them (or report only what the
layer's docstring says it should)."""
