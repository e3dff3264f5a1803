-- Storefronts and webhooks (issue 22).
--
-- products.backorder_allowed: whether an order may wait for what cannot be reserved
-- (true, as orders always behaved); false refuses such an order instead.
-- orders.customer_email: the customer's contact, passed in order and backorder events.
-- order_lines.announced_date: the expected date last announced for a waiting line, so a
-- backorder.eta_changed is written only when the date really moves.
-- api_tokens: the read-only `shop` role for storefront integrations.
-- webhooks / webhook_deliveries: subscriptions, and one row per event to send to one
-- endpoint, in feed order (seq). `cursor` is the last feed seq an endpoint was offered;
-- `lease_owner`/`lease_until` say which web node sends its deliveries for now, so
-- several nodes never send the same endpoint's events at once. A delivery is retried
-- for a day from `retry_from` (its creation, or a manual redelivery).

ALTER TABLE products ADD COLUMN backorder_allowed boolean NOT NULL DEFAULT true;

ALTER TABLE orders ADD COLUMN customer_email text
    CHECK (length(customer_email) BETWEEN 3 AND 254);

ALTER TABLE order_lines ADD COLUMN announced_date date;

ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('admin', 'manager', 'worker', 'display', 'shop'));

CREATE TABLE webhooks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url          text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    events       text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
    secret       text NOT NULL,
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL DEFAULT '',
    cursor       bigint NOT NULL,
    lease_owner  text,
    lease_until  timestamptz
);

CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       bigint NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    msg_id           text NOT NULL,
    seq              bigint NOT NULL,
    type             text NOT NULL,
    coalesce_key     text,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    retry_from       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_status      integer,
    last_error       text,
    finished_at      timestamptz,
    UNIQUE (webhook_id, msg_id)
);
-- An endpoint's queue, in feed order.
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (webhook_id, seq)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
-- Unsent coalesced deliveries (stock.changed per SKU), replaced by newer ones.
CREATE INDEX webhook_deliveries_coalesce ON webhook_deliveries (webhook_id, coalesce_key)
    WHERE status = 'pending' AND attempts = 0 AND coalesce_key IS NOT NULL;
