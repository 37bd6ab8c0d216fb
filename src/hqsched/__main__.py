"""``python -m hqsched`` = the ``hqsched`` command."""

import sys

from hqsched.cli import main

sys.exit(main())
