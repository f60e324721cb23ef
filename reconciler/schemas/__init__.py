"""The JSON Schemas (Draft 2020-12), shipped with the package.

This folder is the single source; the top-level ``schemas/`` folder holds identical copies for
editors and for readers of the repository (``tests/packaging/test_wheel.py`` keeps them equal).
"""
