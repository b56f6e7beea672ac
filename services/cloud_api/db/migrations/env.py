from services.cloud_api.db.models import Base
from services.common.db import run_migrations_env

run_migrations_env(Base.metadata)
