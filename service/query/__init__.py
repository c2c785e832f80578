"""Query building for the API: field mapping, OPTIMADE filters, cursors, aggregation pipelines.

Everything here is pure (query dicts in, query dicts out) and unit-tested without a database.
"""
