"""``python -m loopsafe``."""

from __future__ import annotations

import sys

from loopsafe.cli import main

if __name__ == "__main__":
    sys.exit(main())
