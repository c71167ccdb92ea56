"""Test-session settings shared by the unit tests and the notebooks run under nbval."""

import os

from course_lib.config import MODE_ENV

# pytester: tests of that plugin run pytest on small notebooks.
# nbval also runs each notebook's student copy from its first exercise to its last check, in the
# same kernel (tests/student_run.py says why that is enough).
pytest_plugins = ["pytester", "tests.student_run"]

# Notebooks run by nbval start kernels that inherit this environment: quick mode unless the
# caller asked for something else explicitly (COURSE_MODE=full pytest ... is allowed).
os.environ.setdefault(MODE_ENV, "quick")

# The Chinese notebooks (notebooks/zh/) share the English notebooks' code (tests/test_i18n.py
# proves it), so nbval runs one of them end to end to prove the mechanism, not all of them.
ZH_UNDER_NBVAL = "01_gradient_descent.ipynb"


def pytest_ignore_collect(collection_path, config):
    """Skip notebooks/zh/*.ipynb except ZH_UNDER_NBVAL during collection."""
    path = collection_path
    if path.suffix == ".ipynb" and path.parent.name == "zh" and path.parent.parent.name == "notebooks":
        return path.name != ZH_UNDER_NBVAL
    return None
