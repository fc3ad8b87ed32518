"""The paper's ablations as Optuna studies sharing one storage."""

from reid.tuning.studies import STUDIES, StudyPlan, study_plan

__all__ = ["STUDIES", "StudyPlan", "study_plan"]
