-- Expired stock: on hand but not available, and the `expired` alert.
--
-- A lot is good through the day it expires: it has expired when its expiry date is
-- before today, and "today" is the UTC date (the warehouse day stockd uses everywhere,
-- as the forecasts and reports do). Every figure of available stock leaves expired
-- rows out; what they hold (less what orders reserved before the lot expired) is
-- counted apart as `expired`, so on hand = available + reserved + expired.

CREATE FUNCTION stockd_today() RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT (now() AT TIME ZONE 'UTC')::date $$;

CREATE FUNCTION stockd_expired(expiry date) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(expiry < stockd_today(), false) $$;

ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check
    CHECK (kind IN ('low_stock', 'out_of_stock', 'projected_stockout', 'expired'));

-- The expiry sweep and the expiry report read dated stock only.
CREATE INDEX stock_dated ON stock (expiry) WHERE expiry IS NOT NULL AND on_hand > 0;
