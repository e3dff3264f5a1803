from __future__ import annotations

import sys

from stockd.cli import main

sys.exit(main())
