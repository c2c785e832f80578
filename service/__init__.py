"""The service layer: the Flask API and the command line, on top of schemas, store, ingest and jobs."""
