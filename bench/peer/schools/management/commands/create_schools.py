"""Creates schools b1..bN (those missing), as Schoolplein's `schoolplein-bench create-schools`
names them: schema `bN`, host `bN.schoolplein.test`, "Benchmarkschool N", "Welkom op
benchmarkschool N.".

The first `--via-django` schools are created the way django-tenants creates a tenant: saving
the tenant creates its schema and runs the tenant apps' migrations in it. That takes long per
school (it is a `migrate` run each time), so the rest are copies of b1's schema made with SQL
(`--rest sql`: each of b1's tables `LIKE … INCLUDING ALL`, b1's migration records, the school's
own profile row, its tenant and domain rows; one transaction per school), or with
django-tenants' own `clone_schema()` SQL function (`--rest clone`, what its
TENANT_BASE_SCHEMA option uses, without the `migrate --fake` run it adds per school). Either
way each school ends up with the tables, rows and migration records a migrated one has.
"""
import time

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_context

from profiles.models import SchoolProfile
from schools.models import Domain, School

TEMPLATE = "b1"


def name_of(i):
    return f"Benchmarkschool {i}"


def welcome_of(i):
    return f"Welkom op benchmarkschool {i}."


def pct(times, p):
    times = sorted(times)
    return times[int((len(times) - 1) * p)] * 1000.0


class Command(BaseCommand):
    help = "Creates schools b1..bN that do not exist yet and reports the time per school."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--via-django", type=int, default=10,
                            help="schools created through django-tenants (schema + migrations)")
        parser.add_argument("--rest", choices=["sql", "clone"], default="sql",
                            help="how the others are copied from b1")

    def handle(self, *args, count, via_django, rest, **options):
        connection.set_schema_to_public()
        existing = set(School.objects.values_list("schema_name", flat=True))
        missing = [i for i in range(1, count + 1) if f"b{i}" not in existing]
        django_times, copy_times = [], []
        started = time.monotonic()
        for i in missing:
            one = time.monotonic()
            if i <= max(via_django, 1):
                self.create_via_django(i)
                django_times.append(time.monotonic() - one)
            else:
                if rest == "sql":
                    self.copy_with_sql(i)
                else:
                    self.copy_with_clone(i)
                copy_times.append(time.monotonic() - one)
        total = time.monotonic() - started
        parts = [f"peer_create_schools created={len(django_times) + len(copy_times)} total_s={total:.1f}"]
        if django_times:
            parts.append(
                f"via_django={len(django_times)} per_school_p50_ms={pct(django_times, 0.5):.0f} "
                f"max_ms={pct(django_times, 1.0):.0f}")
        if copy_times:
            parts.append(
                f"copied_with_{rest}={len(copy_times)} per_school_p50_ms={pct(copy_times, 0.5):.1f} "
                f"p99_ms={pct(copy_times, 0.99):.1f}")
        if not missing:
            parts = [f"peer_create_schools created=0 (all {count} existed)"]
        self.stdout.write(", ".join(parts))

    def create_via_django(self, i):
        school = School(schema_name=f"b{i}", name=name_of(i), welcome_text=welcome_of(i))
        school.save(verbosity=0)  # creates the schema and runs the tenant migrations in it
        Domain.objects.create(domain=f"b{i}.schoolplein.test", tenant=school, is_primary=True)
        with schema_context(school.schema_name):
            SchoolProfile.objects.create(name=name_of(i), welcome_text=welcome_of(i))

    def template_tables(self, cursor):
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            [TEMPLATE])
        return [row[0] for row in cursor.fetchall()]

    def copy_with_sql(self, i):
        schema = f"b{i}"
        with transaction.atomic(), connection.cursor() as cursor:
            tables = self.template_tables(cursor)
            statements = [f'CREATE SCHEMA "{schema}"']
            for table in tables:
                statements.append(
                    f'CREATE TABLE "{schema}"."{table}" (LIKE "{TEMPLATE}"."{table}" INCLUDING ALL)')
            statements.append(
                f'INSERT INTO "{schema}".django_migrations (app, name, applied) '
                f'SELECT app, name, applied FROM "{TEMPLATE}".django_migrations ORDER BY id')
            cursor.execute(";\n".join(statements))
            cursor.execute(
                f'INSERT INTO "{schema}".school_profile (name, welcome_text) VALUES (%s, %s)',
                [name_of(i), welcome_of(i)])
            self.register(cursor, i)

    def copy_with_clone(self, i):
        schema = f"b{i}"
        with transaction.atomic():
            CloneSchema().clone_schema(TEMPLATE, schema, "DATA")
            with connection.cursor() as cursor:
                cursor.execute(
                    f'UPDATE "{schema}".school_profile SET name = %s, welcome_text = %s',
                    [name_of(i), welcome_of(i)])
                self.register(cursor, i)

    def register(self, cursor, i):
        """The tenant and domain rows, as saving them without creating a schema would write."""
        cursor.execute(
            "INSERT INTO public.schools_school (schema_name, name, welcome_text) "
            "VALUES (%s, %s, %s) RETURNING id",
            [f"b{i}", name_of(i), welcome_of(i)])
        school_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO public.schools_domain (domain, tenant_id, is_primary) VALUES (%s, %s, true)",
            [f"b{i}.schoolplein.test", school_id])
