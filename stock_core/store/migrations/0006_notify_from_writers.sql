-- The per-statement NOTIFY trigger on outbox serialised every committing transaction
-- on PostgreSQL's notification queue lock (it halved raw write throughput in
-- benchmarks/bench_throughput.py). Writers now send one coalesced NOTIFY after they
-- commit (stock_core.store.outbox.OutboxNotifier); relays still poll the table.
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION stockd_notify_outbox();
