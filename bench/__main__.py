"""Entry point of ``python -m bench``: run every scenario, print the table, write results."""

from __future__ import annotations

SCENARIOS = ("a_full_resync", "b_incremental", "c_propagation", "d_planning", "e_postgres")


def main() -> int:
    """Run the benchmarks and print one line per scenario."""
    for name in SCENARIOS:
        print(f"{name}: not yet measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
