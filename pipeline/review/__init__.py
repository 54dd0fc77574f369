"""The analysts' review page and JSON API (see ``pipeline.review.app.create_app``)."""
