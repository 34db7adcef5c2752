"""Benchmarks: full resync, incremental, propagation, planning, PostgreSQL.

Run with ``make bench`` (``python -m bench``); prints a table and writes ``bench/results.json``.
"""
