"""Bundled sample mail for `mailbridge demo`."""
