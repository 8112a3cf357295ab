"""ClickHouse → DuckDB extract cache: the only code that talks to ClickHouse or opens a cache file."""
