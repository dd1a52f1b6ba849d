-- Access tokens: only a SHA-256 of each token is kept (a token is 256 random bits, so a fast hash
-- is enough); a revoked token stays listed with the time it was revoked.
CREATE TABLE access_tokens (
    name text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
    role text NOT NULL CHECK (role IN ('field', 'legal', 'leadership', 'admin')),
    token_sha256 bytea NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
