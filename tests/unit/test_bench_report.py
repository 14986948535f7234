"""The benchmark's table writer: one aligned table, the latest result per database kept."""

from __future__ import annotations

from datetime import date

from bench.report import Row, Section, document, percentile, table, write


def rows() -> list[Row]:
    return [
        Row("1. Callback c=8", "throughput (req/s)", "610", "700", "0.87x", ">= 0.8x", True),
        Row("1. Callback c=8", "p99 (ms)", "120.5", "60.0", "2.01x", "<= 1.5x", False),
        Row("3. Sale burst", "peak RSS per shop worker (MB)", "90, 91 | 92"),
    ]


def test_one_aligned_markdown_table_with_verdicts():
    lines = table(rows()).splitlines()
    assert lines[0].startswith("| Scenario") and set(lines[1]) <= {"|", "-"}
    assert len({len(line) for line in lines}) == 1  # every line padded to the same width
    assert lines[2].rstrip(" |").endswith("yes")
    assert lines[3].rstrip(" |").endswith("**no**")
    assert lines[4].split("|")[-2].strip() == ""  # no target, no verdict
    assert "90, 91 \\| 92" in lines[4]  # a cell's own bar cannot break the table


def test_document_has_context_table_notes_and_charts():
    section = Section("1. Callback", rows(), ["30 paid orders."], ["sqlite-callback.svg"])
    text = document("Benchmark results: sqlite", ["Load average 0.5"], [section])
    assert text.startswith("# Benchmark results: sqlite\n\n- Load average 0.5\n\n| Scenario")
    assert "## 1. Callback\n\n- 30 paid orders.\n\n![1. Callback](sqlite-callback.svg)" in text


def test_write_keeps_only_the_latest_result_of_each_database(tmp_path):
    (tmp_path / "2026-01-01-sqlite.md").write_text("old")
    (tmp_path / "2026-01-01-postgresql.md").write_text("other database")
    path = write("new", "sqlite", tmp_path, date(2026, 2, 3))
    assert path == tmp_path / "2026-02-03-sqlite.md" and path.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2026-01-01-postgresql.md",
        "2026-02-03-sqlite.md",
    ]


def test_percentile_is_nearest_rank():
    values = list(range(1, 201))
    assert percentile(values, 50) == 100
    assert percentile(values, 99) == 198
    assert percentile(values, 100) == 200
    assert percentile([7.0], 99) == 7.0
