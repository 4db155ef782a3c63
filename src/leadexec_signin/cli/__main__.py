"""``python -m leadexec_signin.cli``, the same as ``leadexec-signin``."""

import os
import sys

from leadexec_signin.cli import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
