"""The benchmark: `python -m bench` (see bench/README.md). Generated exports and outputs live in bench/cache/."""
