-- Runs once, when the dueprocess database volume is first created (postgres image's
-- /docker-entrypoint-initdb.d). The migrations run as the owner; the workers log in as
-- dueprocess_worker, which holds only dueprocess_app: append and read, never rewrite.
CREATE ROLE dueprocess_app NOLOGIN;
\getenv worker_password DUEPROCESS_WORKER_PASSWORD
CREATE ROLE dueprocess_worker LOGIN PASSWORD :'worker_password' IN ROLE dueprocess_app;
