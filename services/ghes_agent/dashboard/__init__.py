"""The agent's page: license sync for one GHES instance (Sync now, Export license usage),
served by ghes_agent itself with the common assets of services/common/web."""
