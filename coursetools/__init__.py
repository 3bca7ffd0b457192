"""Course tooling: student notebooks, the JupyterLite site build, serving. Never shipped in the wheel."""
