-- Supabase roles, schemas and publication for Tutorplane. Idempotent: applied with psql as the
-- `postgres` superuser on every release, before GoTrue, PostgREST, Realtime and the Tutorplane
-- migrations use them. Passwords come from the environment (one Kubernetes Secret):
--   AUTHENTICATOR_PASSWORD, AUTH_ADMIN_PASSWORD, SUPABASE_ADMIN_PASSWORD, APP_PASSWORD
\set ON_ERROR_STOP on
\getenv authenticator_password AUTHENTICATOR_PASSWORD
\getenv auth_admin_password AUTH_ADMIN_PASSWORD
\getenv supabase_admin_password SUPABASE_ADMIN_PASSWORD
\getenv app_password APP_PASSWORD

-- API roles (PostgREST switches to them by the JWT `role` claim). Same attributes as the
-- Tutorplane migrations create when they run on a database without this file.
SELECT 'CREATE ROLE anon NOLOGIN NOINHERIT'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'anon') \gexec
SELECT 'CREATE ROLE authenticated NOLOGIN NOINHERIT'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') \gexec
SELECT 'CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') \gexec

-- PostgREST logs in as authenticator and may only become one of the API roles.
SELECT 'CREATE ROLE authenticator LOGIN NOINHERIT'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticator') \gexec
ALTER ROLE authenticator WITH LOGIN NOINHERIT PASSWORD :'authenticator_password';
GRANT anon, authenticated, service_role TO authenticator;

-- GoTrue owns the auth schema and runs its own migrations there. Its search_path is fixed to
-- auth, otherwise its migrations fail with "no schema has been selected" on a plain PostgreSQL.
SELECT 'CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'supabase_auth_admin') \gexec
ALTER ROLE supabase_auth_admin WITH LOGIN NOINHERIT CREATEROLE PASSWORD :'auth_admin_password';
ALTER ROLE supabase_auth_admin SET search_path = auth;
SELECT format('GRANT CREATE ON DATABASE %I TO supabase_auth_admin', current_database()) \gexec
CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_auth_admin;
ALTER SCHEMA auth OWNER TO supabase_auth_admin;
-- GoTrue replaces these helpers; they may already exist (created by the Tutorplane migrations).
SELECT format('ALTER FUNCTION %s OWNER TO supabase_auth_admin', p.oid::regprocedure)
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'auth' AND p.proname IN ('uid', 'role', 'email', 'jwt') \gexec
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

-- Realtime needs a superuser for logical replication slots and its own schemas (upstream
-- requirement); it keeps its tenant tables in _realtime.
SELECT 'CREATE ROLE supabase_admin LOGIN SUPERUSER'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'supabase_admin') \gexec
ALTER ROLE supabase_admin WITH LOGIN SUPERUSER PASSWORD :'supabase_admin_password';
CREATE SCHEMA IF NOT EXISTS _realtime AUTHORIZATION supabase_admin;
SELECT 'CREATE PUBLICATION supabase_realtime'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime') \gexec

-- The Tutorplane services log in as tutorplane_app, a member of service_role (the row-level
-- security policies cover login roles granted service_role). Not a superuser, no DDL rights.
SELECT 'CREATE ROLE tutorplane_app LOGIN INHERIT'
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'tutorplane_app') \gexec
ALTER ROLE tutorplane_app WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'app_password';
GRANT service_role TO tutorplane_app;
