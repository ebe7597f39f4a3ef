"""RQ job functions: each takes ids, runs in an app context (jobs.runtime.app_job)."""
