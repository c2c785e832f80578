"""OPTIMADE v1 at ``/optimade/v1`` (and ``/optimade``): Ionbase's structure results as OPTIMADE structures."""
