"""HTTP views of the sandbox: server API, admin API, browser checkout, dashboard."""
