"""Demo content (accounts, registry, board: data files in ``data/``) and the generators of
populations and boards for tests, benchmarks and the demo. Nothing below imports it."""
