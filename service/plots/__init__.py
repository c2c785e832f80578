"""Figures from the database: pure renderers (render.py) and the /api/v1/plots blueprint (views.py)."""
