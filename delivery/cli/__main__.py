"""``python -m delivery.cli``: the ``callbacks`` command."""

import sys

from delivery.cli.main import main

sys.exit(main())
