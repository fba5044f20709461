"""The ``ghostpen`` command line; ``main`` is the entry point of the console script,
``python -m app`` and the frozen app.

Layout, with dependencies pointing one way: ``program`` (the command table, the parser and
``main``) imports the command group modules (``gui``, ``complete``, ``convert``,
``models``, ``bench``, ``eval``), which import ``common`` and no other command module.
"""

from app.cli.program import main

__all__ = ["main"]
