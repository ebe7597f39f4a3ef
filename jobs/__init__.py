"""RQ job functions. Each takes ids, runs in an app context (mailer.queue.app_job), calls services."""
