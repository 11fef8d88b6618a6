"""Settings for a DAG task: config, environment and .env, plus the Elasticsearch Airflow connection if defined.

The one module of the package that imports Airflow (the `airflow` extra): only DAG files import it, so the stages,
the CLI and the tests of the stages stay Airflow-free.
"""

from __future__ import annotations

from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowNotFoundException

from pipeline.settings import Settings, connection_env, load_settings

# Define it in the Airflow UI/CLI or as AIRFLOW_CONN_NEWSETL_ELASTICSEARCH; it wins over ELASTICSEARCH_* variables.
ES_CONNECTION_ID = "newsetl_elasticsearch"


def task_settings() -> Settings:
    """The run's settings; credentials come from the connection (masked in task logs by Airflow) when one exists."""
    try:
        conn = Connection.get(ES_CONNECTION_ID)
    except AirflowNotFoundException:
        return load_settings()
    return load_settings(overrides=connection_env(host=conn.host, port=conn.port, scheme=conn.schema,
                                                  login=conn.login, password=conn.password,
                                                  extra=conn.extra_dejson))
