"""The PyTorch cross-check: build the network a spec describes (build), run it and measure what
PyTorch did (measure), and compare with the static analysis (diff).

This is the only package that imports torch; the static path never imports it.
"""
