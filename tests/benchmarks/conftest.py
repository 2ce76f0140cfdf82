"""The benchmarks package lives at the checkout's root and is not installed: put it on the path."""

from __future__ import annotations

import sys

from bsc_pipeline.settings import PROJECT_ROOT

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
