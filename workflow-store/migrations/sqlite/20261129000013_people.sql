-- The people who sign in to the web console (programs use api_tokens): a role, the
-- agency of a liaison officer or head, an argon2id password hash (a PHC string, absent
-- until the person sets it through their one-time link), lock-out after repeated
-- failures, and the SHA-256 of the one-time set-password link's secret.
CREATE TABLE people
(
    user_name               text NOT NULL PRIMARY KEY,
    role                    text NOT NULL,
    agency                  text,
    password_hash           text,
    failed_attempts         integer NOT NULL DEFAULT 0,
    locked_until            text,
    set_password_hash       text,
    set_password_expires_at text,
    disabled_at             text,
    created_at              text NOT NULL
);
CREATE UNIQUE INDEX people_by_set_password ON people (set_password_hash);

-- Signed-in sessions: the SHA-256 of the cookie's secret (the secret is never stored),
-- the form token every form of the session carries, when it began, was last used and
-- ends at the latest; ended_at once signed out or ended by a disabling.
CREATE TABLE sessions
(
    session_hash text NOT NULL PRIMARY KEY,
    user_name    text NOT NULL,
    csrf_token   text NOT NULL,
    created_at   text NOT NULL,
    last_seen_at text NOT NULL,
    expires_at   text NOT NULL,
    ended_at     text
);
CREATE INDEX sessions_by_user ON sessions (user_name);
