"""Test-session settings shared by the unit tests and the notebooks run under nbval."""

import os

from course_lib.config import MODE_ENV

# Notebooks run by nbval start kernels that inherit this environment: quick mode unless the
# caller asked for something else explicitly (COURSE_MODE=full pytest ... is allowed).
os.environ.setdefault(MODE_ENV, "quick")
