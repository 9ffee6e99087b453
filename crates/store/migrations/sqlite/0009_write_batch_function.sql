-- PostgreSQL applies the Interaction API's write batches with a server-side function (see
-- migrations/postgres/0009_write_batch_function.sql); SQLite applies them in process.
SELECT 1;
