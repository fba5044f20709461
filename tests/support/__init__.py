"""What the tests share: generated models, servers, GUI helpers, reference code.

Tests import from here, never from a conftest or from another test module.
"""
