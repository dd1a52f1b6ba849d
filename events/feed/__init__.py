"""Following the log: wake-ups between processes, and subscriptions that catch up and stay live."""
