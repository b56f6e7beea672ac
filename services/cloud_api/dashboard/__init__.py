"""The owner's dashboard: a page, its script modules and style sheet, served by cloud_api
itself (with the common assets of services/common/web)."""
