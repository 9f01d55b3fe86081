-- SQLite compares text bytewise already; the primary key serves the audit walk.
SELECT 1;
