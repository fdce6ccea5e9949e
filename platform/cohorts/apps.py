from django.apps import AppConfig


class CohortsConfig(AppConfig):
    name = "cohorts"

    def ready(self) -> None:
        # Grading sits below cohorts; it learns the cohorts' rules through this interface.
        from cohorts import signals
        from cohorts.rules import CohortRules
        from grading import policy

        policy.install(CohortRules())
        signals.connect()
