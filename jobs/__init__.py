"""Analysis jobs: a registry of derived-property builders and an incremental runner."""
