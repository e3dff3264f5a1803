"""The application's database role: what it is granted, and checking that it has it.

stockd runs its migrations as the role that owns the schema (``[database] admin_url``)
and serves as a login role that owns nothing (``[database] url``, whose user is
``[database] app_role``). That role may read and write rows and nothing more: no DDL,
no TRUNCATE, no UPDATE or DELETE on the movement ledger, so it cannot drop or disable
the ledger's append-only trigger. :func:`grant_app_role` (run by ``stockd migrate``
and at start-up, after the migrations) gives it exactly this; the DBA's equivalent SQL
is in ``docs/how-to/deploy.md``. :func:`missing_privileges` is what start-up checks
as the app's own role.

Role names are checked by the settings (``^[a-z_][a-z0-9_]{0,62}$``) and quoted here;
statements that name a role or a database are built from these templates.
"""

from __future__ import annotations

import re
from typing import Final

import asyncpg

from stock_core.errors import StockUsageError
from stock_core.store.connection import Connection

__all__ = [
    "APP_GRANTS",
    "APP_ROLE_PATTERN",
    "CREATE_LOGIN_ROLE",
    "ensure_login_role",
    "grant_app_role",
    "missing_privileges",
    "owner_powers",
    "quote_role",
]

APP_ROLE_PATTERN: Final = r"^[a-z_][a-z0-9_]{0,62}$"

_LEDGER: Final = "movements"
_MIGRATIONS: Final = "stockd_migrations"

# {role} and {database} are quoted identifiers. Every table in the schema, then what the
# ledger and the migrations table must not allow; identity sequences; the functions.
APP_GRANTS: Final = (
    "GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role}",
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    f"REVOKE UPDATE, DELETE, TRUNCATE ON {_LEDGER} FROM {{role}}",
    f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {_MIGRATIONS} FROM {{role}}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}",
)

CREATE_LOGIN_ROLE: Final = "CREATE ROLE {role} LOGIN"

ROLE_EXISTS: Final = "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)"

DATABASE_NAME: Final = "SELECT current_database()"

# What the connected role lacks: table privileges stockd uses (the ledger and the
# migrations table take fewer), sequences of identity columns, stockd's functions.
MISSING_PRIVILEGES: Final = """
WITH wanted AS (
    SELECT c.relname AS name, 'table' AS what,
           CASE c.relname WHEN $1 THEN ARRAY['SELECT', 'INSERT']
                          WHEN $2 THEN ARRAY['SELECT']
                          ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] END AS privileges,
           c.oid
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
)
SELECT w.what, w.name, p.privilege
FROM wanted w CROSS JOIN LATERAL unnest(w.privileges) AS p(privilege)
WHERE NOT has_table_privilege(w.oid, p.privilege)
UNION ALL
SELECT 'sequence', c.relname, 'USAGE'
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'S'
  AND CASE WHEN c.relkind = 'S' THEN NOT has_sequence_privilege(c.oid, 'USAGE') END
UNION ALL
SELECT 'function', f.proname, 'EXECUTE'
FROM pg_proc f JOIN pg_namespace n ON n.oid = f.pronamespace
WHERE n.nspname = 'public' AND f.proname LIKE 'stockd%'
  AND NOT has_function_privilege(f.oid, 'EXECUTE')
ORDER BY 1, 2, 3
"""

# Why the connected role could undo the ledger's guarantees: it is a superuser, or it
# owns (or is a member of the role owning) the ledger table.
OWNER_POWERS: Final = """
SELECT current_user AS role, r.rolsuper AS superuser,
       (SELECT pg_has_role(current_user, c.relowner, 'USAGE')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = $1) AS owner
FROM pg_roles r WHERE r.rolname = current_user
"""


def quote_role(role: str) -> str:
    if not re.fullmatch(APP_ROLE_PATTERN, role):
        raise StockUsageError(f"not a role name stockd grants to: {role!r}")
    return f'"{role}"'


async def ensure_login_role(conn: Connection, role: str) -> bool:
    """Create ``role`` as a login role without a password unless it exists (for the
    embedded server, which trusts its own socket); True when it was created."""
    quoted = quote_role(role)
    if await conn.fetchval(ROLE_EXISTS, role):
        return False
    try:
        await conn.execute(CREATE_LOGIN_ROLE.format(role=quoted))
    except (asyncpg.DuplicateObjectError, asyncpg.UniqueViolationError):
        return False  # another process made it first
    return True


async def grant_app_role(conn: Connection, role: str) -> None:
    """Grant ``role`` what the app needs on this database's schema (idempotent); run as
    the schema's owner, after the migrations."""
    quoted = quote_role(role)
    database = str(await conn.fetchval(DATABASE_NAME)).replace('"', '""')
    async with conn.transaction():
        for statement in APP_GRANTS:
            await conn.execute(statement.format(role=quoted, database=f'"{database}"'))


async def missing_privileges(conn: Connection) -> list[str]:
    """What the connected role lacks of what stockd needs, e.g. ``INSERT on table
    outbox`` (empty: all there)."""
    rows = await conn.fetch(MISSING_PRIVILEGES, _LEDGER, _MIGRATIONS)
    return [f"{r['privilege']} on {r['what']} {r['name']}" for r in rows]


async def owner_powers(conn: Connection) -> str | None:
    """Why the connected role could drop the ledger's trigger (superuser, owner), or None."""
    row = await conn.fetchrow(OWNER_POWERS, _LEDGER)
    if row is None:
        return None
    if row["superuser"]:
        return f"role {row['role']} is a superuser"
    if row["owner"]:
        return f"role {row['role']} owns the schema's tables"
    return None
