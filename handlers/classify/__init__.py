"""Tip-off classification: a rule table (rules.py with the detectors of detectors.py and the cadre
detector of cadre.py, read through schema.py, over text.py's clauses),
a statistical model learnt from labelled examples (model.py) with its learnt second opinion on cadre
accusations (accusation.py), and their combination with a confidence per field (combine.py)."""

from handlers.classify.labels import Labels, RulesError
from handlers.classify.rules import DEFAULT_RULES, Classifier
from handlers.classify.text import cn_number

__all__ = ["DEFAULT_RULES", "Classifier", "Labels", "RulesError", "cn_number"]
