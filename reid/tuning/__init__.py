"""The paper's ablations as Optuna studies sharing one storage."""

from reid.tuning.studies import STUDY_NAMES, StudyPlan, study_plan

__all__ = ["STUDY_NAMES", "StudyPlan", "study_plan"]
