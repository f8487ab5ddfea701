"""End-to-end tests: real Airflow processes (api-server, scheduler, dag-processor) on Postgres."""
