-- The org clock (issue 14, `byoc clock`, docs/org-as-code.md): the org's time is real time plus
-- `offset_millis`, shared by every instance on this database. One row, `id` always 1; no row
-- means real time. `moved_at` is the real time (epoch ms) of the last move, for diagnoses.
CREATE TABLE org_clock (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    offset_millis  BIGINT  NOT NULL,
    moved_at       BIGINT  NOT NULL
);
