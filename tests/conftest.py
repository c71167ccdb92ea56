"""Shared settings for the unit tests."""

import matplotlib

matplotlib.use("Agg")  # no display needed; notebooks under nbval keep their inline backend
