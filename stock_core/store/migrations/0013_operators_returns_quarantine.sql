-- Operators (who scanned), returns, scrap and quarantine (issue 17).
--
-- Operators: workers known by their badge code. A movement records the operator
-- signed in on the scanner (or named by an API request); plain text, not a foreign
-- key, so the ledger keeps who it was whatever becomes of the operator list.
CREATE TABLE operators (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE movements
    ADD COLUMN operator text CHECK (length(operator) BETWEEN 1 AND 64),
    ADD COLUMN reason text CHECK (reason ~ '^[a-z0-9_]{1,32}$');
CREATE INDEX movements_operator ON movements (operator, ts) WHERE operator IS NOT NULL;

-- The ledger's kinds: return and scrap (with a reason, and only they); the transfer
-- kinds of SPEC's warehouses are listed too, so that capability needs no second
-- rewrite of this constraint.
ALTER TABLE movements DROP CONSTRAINT movements_kind_check;
ALTER TABLE movements ADD CONSTRAINT movements_kind_check CHECK (kind IN
    ('receive', 'pick', 'adjust', 'count', 'move_out', 'move_in', 'undo',
     'return', 'scrap', 'transfer_out', 'transfer_in'));
ALTER TABLE movements ADD CONSTRAINT movements_reason_of_returns_and_scrap
    CHECK ((reason IS NOT NULL) = (kind IN ('return', 'scrap')));

-- Quarantine: stock in a quarantine location is on hand, never available and never
-- reserved. Each stock row carries its location's type as `quarantined` (set when the
-- row is made and whenever the location's type changes), so every availability
-- figure reads it from the row it already reads.
ALTER TABLE locations
    ADD COLUMN type text NOT NULL DEFAULT 'storage' CHECK (type IN ('storage', 'quarantine'));

ALTER TABLE stock
    ADD COLUMN quarantined boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT stock_quarantine_never_reserved CHECK (NOT quarantined OR reserved = 0);

-- A row's units are available (less what is reserved) unless quarantined or expired.
CREATE FUNCTION stockd_available(expiry date, quarantined boolean) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NOT quarantined AND NOT coalesce(expiry < stockd_today(), false) $$;

CREATE FUNCTION stockd_stock_quarantined() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.quarantined := coalesce(
        (SELECT type = 'quarantine' FROM locations WHERE id = NEW.location_id), false);
    RETURN NEW;
END $$;
CREATE TRIGGER stock_quarantined BEFORE INSERT ON stock
    FOR EACH ROW EXECUTE FUNCTION stockd_stock_quarantined();

CREATE FUNCTION stockd_location_type_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stock SET quarantined = (NEW.type = 'quarantine') WHERE location_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER locations_type_changed AFTER UPDATE OF type ON locations
    FOR EACH ROW WHEN (OLD.type IS DISTINCT FROM NEW.type)
    EXECUTE FUNCTION stockd_location_type_changed();

-- What a scanner's signed-in operator is, as the gateway last said.
ALTER TABLE scanner_states ADD COLUMN operator text;
