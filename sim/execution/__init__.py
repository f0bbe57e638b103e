"""Execution: ensembles of replicates through one executor interface (local processes or a Dask
cluster), and writing results atomically with a manifest."""
