"""RQ job functions: each takes ids, runs in an app context (mailer.queue.app_job)."""
