"""Ingest: loaders, the spreadsheet template, instrument-file parsers and the batch importer."""
