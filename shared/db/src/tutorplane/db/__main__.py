"""``python -m tutorplane.db ...`` is ``tutorplane-db ...``."""

import sys

from tutorplane.db.cli import main

sys.exit(main())
