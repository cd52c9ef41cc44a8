-- Run once as the postgres user: psql -f deploy/create-database.sql
-- Then set the password:  \password {{ cookiecutter.service_user }}   (and put it in secret.env)
CREATE ROLE {{ cookiecutter.service_user }} LOGIN;
-- CREATEDB lets `membership backup` check each backup in a scratch database.
ALTER ROLE {{ cookiecutter.service_user }} CREATEDB;
CREATE DATABASE {{ cookiecutter.project_slug|replace('-', '_') }} OWNER {{ cookiecutter.service_user }} ENCODING 'UTF8' TEMPLATE template0;
