/**
 * The SQLite layout of the job store. One row per distinct idea run (keyed by its idempotency key), one row per
 * job, and a join table so that a job's G ideas — and identical ideas submitted again by a retrying client — map
 * onto those runs. An idea row is the unit of work: it is queued, leased by one worker, and completed once.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- States are shared by the G ideas of a group: stored once per content hash.
CREATE TABLE IF NOT EXISTS states (
  hash TEXT PRIMARY KEY,
  json TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS jobs (
  id           TEXT PRIMARY KEY,
  idem_key     TEXT NOT NULL UNIQUE,
  request_hash TEXT NOT NULL,
  kind         TEXT NOT NULL,
  total        INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  error        TEXT
);

CREATE TABLE IF NOT EXISTS ideas (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  key           TEXT NOT NULL UNIQUE,
  state_hash    TEXT NOT NULL REFERENCES states(hash),
  raw           TEXT NOT NULL,
  scheme        TEXT NOT NULL,
  task          TEXT,
  timeout_sec   INTEGER,
  -- The request's baselineSeeds / noiseZ (NULL: the task's, else the defaults).
  baseline_seeds INTEGER,
  noise_z       REAL,
  status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  lease_owner   TEXT,
  lease_expires INTEGER,
  result        TEXT,
  created_at    INTEGER NOT NULL,
  started_at    INTEGER,
  finished_at   INTEGER
);
CREATE INDEX IF NOT EXISTS ideas_by_status ON ideas(status, seq);

CREATE TABLE IF NOT EXISTS job_ideas (
  job_id   TEXT NOT NULL REFERENCES jobs(id),
  idx      INTEGER NOT NULL,
  idea_key TEXT NOT NULL REFERENCES ideas(key),
  PRIMARY KEY (job_id, idx)
);
CREATE INDEX IF NOT EXISTS job_ideas_by_idea ON job_ideas(idea_key);

-- Measured run times (ms, a running mean over the last ~50 runs), per 'state:<hash>' and per 'task:<id>' ('task:'
-- for printed-score states): the expected duration of queued ideas, so the longest expected go first (queue/LPT).
CREATE TABLE IF NOT EXISTS durations (
  k       TEXT PRIMARY KEY,
  runs    INTEGER NOT NULL,
  mean_ms REAL NOT NULL
);

-- p_t measured by running C_t through the same sandbox and grader as the ideas (k seeded runs per code + task
-- content + time limit + k): score = the mean of the valid ones, scores = the k of them (JSON; NULL in stores
-- from before the noise-aware reward, which measured once).
CREATE TABLE IF NOT EXISTS baselines (
  key        TEXT PRIMARY KEY,
  score      REAL,
  error      TEXT,
  created_at INTEGER NOT NULL,
  scores     TEXT
);
`;
