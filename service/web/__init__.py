"""Pages for people: search, sample, measurement (Jinja2 templates over the API's own query code)."""
