"""The owner's dashboard: a page, a script and a style sheet, served by cloud_api itself."""
