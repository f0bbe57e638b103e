"""Inputs (the bottom layer): parameters as data, scenario files and overrides, the register's
vocabulary, and the error for input that cannot be used. Imports nothing else from ``sim``."""
