-- What the REST API keeps for the org rather than for one instance (issue 13), so every instance
-- sharing the database answers alike.
--
-- Open query cursors (`nextRecordsUrl`, `/services/data/vXX.X/query/01g…-2000`): the records a
-- query has yet to hand out, one compact JSON object a line, in order. `owner` is the user who ran
-- the query (only they may read on); `used_at` (ms) is when it was last read, for the 15-minute
-- idle limit and for dropping the least recently used cursor when there are too many.
CREATE TABLE query_cursors (
    id          TEXT   PRIMARY KEY,
    owner       TEXT   NOT NULL,
    base        TEXT   NOT NULL,
    records     TEXT   NOT NULL,
    total       BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    used_at     BIGINT NOT NULL
);
CREATE INDEX query_cursors_used_at ON query_cursors (used_at);
-- The org's API request count per UTC day (`Sforce-Limit-Info: api-usage=N/15000`): each
-- instance counts locally and adds its count here about once a second.
CREATE TABLE api_usage (
    day       TEXT   PRIMARY KEY,
    requests  BIGINT NOT NULL
);
