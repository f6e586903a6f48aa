-- PostgreSQL roles for the staff review tool (sba requests and the app's staff pages).
--
-- Two roles:
--
-- * the OWNER (the role that first opened the database with the tool, e.g. sba_owner) owns
--   every table and trigger. Only it can create or upgrade the schema, and only it (or a
--   superuser) can DROP or DISABLE the audit log's triggers. Use it when installing or
--   upgrading the tool (any `sba requests ... --db postgresql://sba_owner@host/sba` command
--   upgrades the schema), never day to day.
-- * sba_app: what the app and the staff's command line connect as. It reads and writes
--   requests, but owns nothing, so it cannot drop or disable the triggers, and it has no
--   UPDATE, DELETE or TRUNCATE on audit_log or files: it can only append to the log.
--
-- Run this file as a superuser (or a role with CREATEROLE that owns the tables), connected
-- to the tool's database, after the owner has opened it once:
--   psql "postgresql://postgres@host/sba" -f docs/postgresql-roles.sql
-- then give sba_app a password (\password sba_app) and put it in the app's SBA_REQUESTS_DB.
-- tests/sba/requests/test_store.py runs this file against a throw-away server.

CREATE ROLE sba_app LOGIN;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO sba_app;
GRANT SELECT ON schema_migrations TO sba_app;
GRANT SELECT, INSERT ON staff TO sba_app;
GRANT SELECT, INSERT, UPDATE ON requests, features, api_tokens TO sba_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO sba_app;
GRANT SELECT, INSERT ON files, audit_log TO sba_app;
