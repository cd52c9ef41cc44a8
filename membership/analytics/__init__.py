"""Analytics: reports and metrics the console, API and CLI show."""
