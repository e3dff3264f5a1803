-- The request (idempotency key) that opened a transfer: a transfer opened with no
-- lines yet writes no ledger rows, and `stockd verify` knows its key by this.
ALTER TABLE transfers ADD COLUMN idempotency_key text UNIQUE REFERENCES idempotency_keys;
