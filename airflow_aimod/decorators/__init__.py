"""TaskFlow decorators: ``@task.sql_agent`` and ``@task.route`` (registered through provider info)."""
