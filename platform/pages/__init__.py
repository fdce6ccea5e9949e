"""The pages on top of the apps: views that show catalog, grading and cohorts together.

Nothing below imports from here (the import contract in pyproject.toml says so).
"""
