-- Handheld scanners (the /scan/ page in a phone's or a mobile computer's browser).
-- Each one's session (mode, location, order or PO, one-shot quantity, a count or a move
-- in progress) is kept between its connections, with the last scan it took, so a scan
-- sent again after a lost reply or a server restart is answered, not taken twice.
CREATE TABLE handheld_sessions (
    scanner     text PRIMARY KEY CHECK (length(scanner) BETWEEN 1 AND 64),
    session     jsonb NOT NULL,
    last_seq    bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    worker      text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The reply each recent scan got (the last few hundred per handheld), sent again
-- verbatim when the same scan arrives again.
CREATE TABLE handheld_replies (
    scanner  text NOT NULL REFERENCES handheld_sessions (scanner) ON DELETE CASCADE,
    seq      bigint NOT NULL CHECK (seq > 0),
    reply    jsonb NOT NULL,
    PRIMARY KEY (scanner, seq)
);

-- A handheld whose page is closed or out of reach shows as offline.
ALTER TABLE scanner_states DROP CONSTRAINT scanner_states_state_check;
ALTER TABLE scanner_states ADD CONSTRAINT scanner_states_state_check
    CHECK (state IN ('connected', 'reconnecting', 'misconfigured', 'stopped', 'offline'));
