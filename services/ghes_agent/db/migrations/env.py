from services.common.db import run_migrations_env
from services.ghes_agent.db.models import Base

run_migrations_env(Base.metadata)
