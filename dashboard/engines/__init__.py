"""Other engines for the build graph: the DuckDB SQL in ``queries/`` stays the one source of truth.

- ``transpile``: DuckDB SQL -> Spark SQL with a pinned sqlglot plus this project's own rewrites (no pyspark).
- ``spark``: the graph's nodes built on a SparkSession, written as Parquet with a manifest (needs pyspark).
- ``prepared``: serving a folder of those Parquet files to the app as it serves a snapshot (DuckDB only).

pyspark and sqlglot are optional extras (``requirements-spark.txt``); the app never imports them.
"""
