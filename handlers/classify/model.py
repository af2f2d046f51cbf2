"""A statistical model of tip-offs, learnt from labelled examples, one per field.

Two layers per field:

* text — TF-IDF over character 1–2-grams and a balanced logistic regression. No word segmentation:
  grid workers write run-on, colloquial and mistyped text, and characters need no dictionary. On
  its own this is "the model alone" of `gridline classify eval`.
* combined — a calibrated logistic regression over the text layer's out-of-fold probabilities and
  the rule table's reading (its answer and scores). It learns from the examples where the rules are
  right and where the text says more; its probabilities are the fields' confidence.

A file written by `save` is replaced atomically (a temporary file, then os.replace), so a reader
sees the old model or the new one, never half of one. Only Gridline writes the file it loads
(joblib/pickle): the model file is as trusted as the code.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from handlers.classify.labels import Labels

log = logging.getLogger("gridline.classify")
FIELDS = ("category", "urgent", "online", "involves_cadre")
FORMAT = 3  # 2: the fast path reads the text itself; 3: the accusation scorer (accusation.py) rides along
MAX_SCORE = 9.0  # category scores above this say nothing more
NGRAMS = (1, 2)  # the text layer's character n-grams


class ModelError(Exception):
    """The model file is missing, unreadable or not a model of this version."""


@dataclass(frozen=True)
class Example:
    text: str
    labels: Mapping[str, object]  # field → value, only the fields known for this example
    weight: float = 1.0


def rule_features(name: str, labels: Labels, categories: Sequence[str]) -> list[float]:
    """What the rule table said about one field, as numbers for the combined layer."""
    if name == "category":
        scores = dict(labels.category_scores)
        return ([float(labels.category == c) for c in categories]
                + [min(scores.get(c, 0.0), MAX_SCORE) / MAX_SCORE for c in categories]
                + [float(labels.cadre_verdict == "yes"), float(labels.cadre_verdict == "ask")])
    if name == "urgent":
        return [float(labels.urgent), float(labels.crowd_said)]
    if name == "online":
        return [float(labels.online), float(labels.platform is not None), float(bool(labels.links))]
    return [float(labels.cadre_verdict == "yes"), float(labels.cadre_verdict == "ask"), float(labels.involves_cadre)]


def prepare(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


@dataclass
class FieldModel:
    classes: list  # the field's values, in the order of the probability columns
    text: LogisticRegression
    combined: CalibratedClassifierCV


class Fast:
    """The fitted layers as plain arrays, for one text at a time: scikit-learn's predict_proba checks
    its input on every call, which costs more than the arithmetic (2 ms per tip-off is the budget).
    Built after training and checked against scikit-learn on the training texts; a mismatch (a future
    scikit-learn computing differently) leaves the model on scikit-learn's own calls."""

    def __init__(self, fields: dict[str, FieldModel], vectorizer: TfidfVectorizer):
        # The vectorizer's own arithmetic for one text (n-grams → sublinear tf × idf, l2-normed): its
        # transform's checks cost about as much as everything else of a classification.
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary = vectorizer.vocabulary_
        self.idf = vectorizer.idf_
        self.names = list(fields)
        self.text_weights = np.vstack([fm.text.coef_ for fm in fields.values()]).T.copy()  # V × Σ rows
        self.text_bias = np.concatenate([fm.text.intercept_ for fm in fields.values()])
        self.spans, start = [], 0
        self.combined = []
        for fm in fields.values():
            rows = fm.text.coef_.shape[0]
            self.spans.append((start, start + rows))
            start += rows
            calibrated = fm.combined.calibrated_classifiers_[0]
            estimator = calibrated.estimator
            self.combined.append((estimator.coef_.T.copy(), estimator.intercept_.copy(),
                                  np.array([c.a_ for c in calibrated.calibrators]),
                                  np.array([c.b_ for c in calibrated.calibrators])))

    def text(self, text: str) -> list[np.ndarray]:
        counts = Counter(i for i in map(self.vocabulary.get, self.analyze(text)) if i is not None)
        scores = self.text_bias.copy()
        if counts:
            index = np.fromiter(counts, dtype=np.intp, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))) * self.idf[index]
            values /= np.sqrt(values @ values)
            scores += values @ self.text_weights[index]
        return [_proba(scores[a:b]) for a, b in self.spans]

    def combine(self, i: int, features: np.ndarray) -> np.ndarray:
        weights, bias, a, b = self.combined[i]
        decision = features @ weights + bias
        p = expit(-(a * decision + b))
        if p.size == 1:  # two values: the calibrator speaks for the second
            return np.array([1.0 - p[0], p[0]])
        total = p.sum()
        return p / total if total > 0 else np.full(p.size, 1.0 / p.size)


def _proba(scores: np.ndarray) -> np.ndarray:
    if scores.size == 1:
        p = expit(scores[0])
        return np.array([1.0 - p, p])
    e = np.exp(scores - scores.max())
    return e / e.sum()


@dataclass
class Model:
    categories: tuple[str, ...]
    vectorizer: TfidfVectorizer
    fields: dict[str, FieldModel]
    info: dict = field(default_factory=dict)  # examples by source, when trained
    format: int = FORMAT
    fast: Fast | None = None
    accusation: object | None = None  # hook: handlers/classify/accusation.Scorer, trained with the fields

    def text_proba(self, text: str) -> dict[str, dict[object, float]]:
        """The model alone: field → value → probability."""
        rows = self._text(text)
        return {name: dict(zip(fm.classes, row.tolist())) for (name, fm), row in zip(self.fields.items(), rows)}

    def proba(self, text: str, rules: Labels) -> dict[str, dict[object, float]]:
        """Text and rules combined: field → value → calibrated probability."""
        out = {}
        for i, ((name, fm), row) in enumerate(zip(self.fields.items(), self._text(text))):
            features = np.hstack([row, rule_features(name, rules, self.categories)])
            p = self.fast.combine(i, features) if self.fast else fm.combined.predict_proba(features[None, :])[0]
            out[name] = dict(zip(fm.classes, p.tolist()))
        return out

    def _text(self, text: str) -> list[np.ndarray]:
        if self.fast:
            return self.fast.text(prepare(text))
        x = self.vectorizer.transform([prepare(text)])
        return [fm.text.predict_proba(x)[0] for fm in self.fields.values()]

    def check_fast(self, texts: Sequence[str], readings: Sequence[Labels]) -> None:
        """Keep the fast path only if it gives scikit-learn's probabilities."""
        fast, self.fast = Fast(self.fields, self.vectorizer), None
        slow = [self.proba(t, r) for t, r in zip(texts, readings)]
        self.fast = fast
        quick = [self.proba(t, r) for t, r in zip(texts, readings)]
        same = all(np.allclose([a[f][v] for f in a for v in a[f]], [b[f][v] for f in a for v in a[f]], atol=1e-6)
                   for a, b in zip(slow, quick))
        if not same:
            log.warning("fast model path disagrees with scikit-learn; using scikit-learn's",
                        extra={"event": "model_fast_off"})
            self.fast = None


def _decode(values: list[str], originals: dict[str, object]) -> list:
    return [originals[v] for v in values]


def train(examples: Sequence[Example], readings: Sequence[Labels], categories: Sequence[str],
          info: dict | None = None) -> Model:
    """Fit every field that has examples of at least two values. `readings`: the rule table's labels
    of each example's text, in the same order."""
    if not examples:
        raise ModelError("no labelled examples to learn from")
    texts = [prepare(e.text) for e in examples]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True)
    x_all = vectorizer.fit_transform(texts)
    fields: dict[str, FieldModel] = {}
    for name in FIELDS:
        rows = [i for i, e in enumerate(examples) if e.labels.get(name) is not None]
        originals = {str(examples[i].labels[name]): examples[i].labels[name] for i in rows}
        y = np.array([str(examples[i].labels[name]) for i in rows])
        counts = {v: int((y == v).sum()) for v in set(y)}
        if len(counts) < 2 or min(counts.values()) < 3:
            continue  # nothing to tell apart, or too few of a value to learn it
        x, w = x_all[rows], np.array([examples[i].weight for i in rows])
        folds = StratifiedKFold(min(5, min(counts.values())), shuffle=True, random_state=0)
        text_model = LogisticRegression(C=10, max_iter=3000, class_weight="balanced")
        # The combined layer learns from probabilities the text layer gives to texts it has not seen,
        # as it will in use; fitted on its own training texts it would look surer than it is.
        held_out = cross_val_predict(text_model, x, y, cv=folds, method="predict_proba",
                                     params={"sample_weight": w})
        text_model.fit(x, y, sample_weight=w)
        features = np.hstack([held_out, [rule_features(name, readings[i], categories) for i in rows]])
        combined = CalibratedClassifierCV(LogisticRegression(C=3, max_iter=3000), method="sigmoid",
                                          cv=min(3, min(counts.values())), ensemble=False)
        combined.fit(features, y, sample_weight=w)
        classes = list(text_model.classes_)
        assert classes == list(combined.classes_)
        fields[name] = FieldModel(_decode(classes, originals), text_model, combined)
    model = Model(tuple(categories), vectorizer, fields, dict(info or {}))
    model.check_fast(texts[:50], readings[:50])
    return model


def save(model: Model, path: str | Path) -> None:
    """Write the model so that a reader sees the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            joblib.dump(model, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | Path) -> Model:
    try:
        model = joblib.load(path)
    except FileNotFoundError:
        raise ModelError(f"no model file at {path}") from None
    except Exception as exc:  # a truncated or foreign file fails in many ways
        raise ModelError(f"model file {path} cannot be read: {type(exc).__name__}") from None
    if not isinstance(model, Model) or model.format != FORMAT:
        raise ModelError(f"model file {path} is not a Gridline model of format {FORMAT}")
    return model


class ModelFile:
    """The model in a file that `gridline classify train` may replace at any time: each use checks the
    file (one stat) and loads a new one once. Missing or unreadable: None — the rules alone — and one
    log line per change of the file."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self._stamp: tuple | str | None = "unread"
        self._model: Model | None = None
        self._lock = threading.Lock()

    def current(self) -> Model | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
            stamp: tuple | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._model = self._load(stamp)
                    self._stamp = stamp
        return self._model

    def _load(self, stamp: tuple | None) -> Model | None:
        if stamp is None:
            log.warning("no classifier model file; classifying by the rules alone",
                        extra={"event": "model_missing", "path": str(self.path)})
            return None
        try:
            model = load(self.path)
        except ModelError as exc:
            log.error("classifier model unusable; classifying by the rules alone: %s", exc,
                      extra={"event": "model_broken", "path": str(self.path)})
            return None
        log.info("classifier model loaded", extra={"event": "model_loaded", "path": str(self.path), **model.info})
        return model
