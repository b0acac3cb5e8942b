"""The ``adrs`` command line: one module per command group (``run``: run/resume; ``browse``:
runs/problems/best/show/lineage), assembled in ``main``. Browsing never imports ray or litellm."""
