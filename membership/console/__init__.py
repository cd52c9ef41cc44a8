"""The web console: layout, auth pages, static files and locale catalogs (see the console issue)."""
