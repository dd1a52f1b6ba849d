-- Finds the operation that registered a survivor (for erasure), without scanning the log.
CREATE INDEX events_rescued_survivors ON events
    USING gin ((data -> 'survivors') jsonb_path_ops) WHERE type = 'RescueExecuted';
