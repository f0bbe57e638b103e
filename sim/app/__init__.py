"""Applications: the command line, a whole run to a results folder, reproduction of a manifest,
and the benchmarks."""
