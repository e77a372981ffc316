"""The domain: jobs, the task store, the poll scheduler, downloads, uploads, secrets. Never imports Qt."""
