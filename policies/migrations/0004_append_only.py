from django.db import migrations

# Decision records and policy versions are history: on PostgreSQL the database itself refuses
# to change or remove them, whatever code (or person with a SQL prompt) asks. TRUNCATE, which
# test teardown uses, is not a row operation and is not affected.
TABLES = {"worker_policy_decisions": "decided_at", "worker_policies": "created_at"}

FORWARD = """
CREATE OR REPLACE FUNCTION pls_refuse_change() RETURNS trigger AS $$
DECLARE
    stamp text := TG_ARGV[0];
BEGIN
    -- Writing a row back as it was alters no history; Django's fixture loading does it, with
    -- the row's timestamp cut to milliseconds. Such a write keeps the stored row as it is.
    IF TG_OP = 'UPDATE'
        AND (to_jsonb(NEW) - stamp) = (to_jsonb(OLD) - stamp)
        AND date_trunc('milliseconds', (to_jsonb(NEW) ->> stamp)::timestamptz)
            = date_trunc('milliseconds', (to_jsonb(OLD) ->> stamp)::timestamptz)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% on % is not allowed: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION pls_refuse_change('{stamp}');
"""
    for table, stamp in TABLES.items()
)

BACKWARD = "".join(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t};" for t in TABLES) + (
    "DROP FUNCTION IF EXISTS pls_refuse_change();"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("policies", "0003_roles")]

    operations = [migrations.RunPython(forward, backward)]
