"""``python -m airflow_aimod.cli``: the ``aimod`` command."""

import sys

from airflow_aimod.cli import main

sys.exit(main())
