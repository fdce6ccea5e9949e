"""Submissions and their grading: models, the grading service, the Celery tasks."""
