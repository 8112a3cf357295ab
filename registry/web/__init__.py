"""``registry serve``: the web viewer and HTTP API over one registry home (FastAPI app, pages, API, tokens)."""
