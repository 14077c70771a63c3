"""Page objects for the Hive dashboard: every selector the E2E suite uses lives here.

The dashboard has no ``data-testid`` attributes, so selectors are roles, labels and visible
text. Nothing here waits for ``networkidle``: the dashboard's SSE streams never go idle.
"""
