"""Entry script of the frozen app: the same command line as ``ghostpen`` and ``python -m app``.

PyInstaller needs a script file, and a frozen app has no ``-m``: everything (the editor,
the commands, the model probe's child process) goes through ``app.cli.main``.
"""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
