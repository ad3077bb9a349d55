-- Valid runs counted per hour, risk and status, kept by triggers as rows come and go:
-- the timeline over any span (unfiltered, or filtered by risk and status only) reads at
-- most one row per hour and combination instead of every run of the span.
CREATE TABLE run_index_hourly (
    hour INTEGER NOT NULL,      -- floor(created_us / 3,600,000,000)
    risk_key TEXT NOT NULL,     -- as run_index.risk_key ('' when none)
    status TEXT NOT NULL,       -- as run_index.status ('' when none)
    n INTEGER NOT NULL,
    PRIMARY KEY (hour, risk_key, status)
) WITHOUT ROWID;

INSERT INTO run_index_hourly (hour, risk_key, status, n)
SELECT (created_us - ((created_us % 3600000000) + 3600000000) % 3600000000) / 3600000000,
       coalesce(risk_key, ''), coalesce(status, ''), count(*)
FROM run_index WHERE valid = 1 GROUP BY 1, 2, 3;

CREATE TRIGGER run_index_hourly_insert AFTER INSERT ON run_index WHEN NEW.valid = 1
BEGIN
    INSERT INTO run_index_hourly (hour, risk_key, status, n) VALUES (
        (NEW.created_us - ((NEW.created_us % 3600000000) + 3600000000) % 3600000000) / 3600000000,
        coalesce(NEW.risk_key, ''), coalesce(NEW.status, ''), 1)
    ON CONFLICT (hour, risk_key, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER run_index_hourly_delete AFTER DELETE ON run_index WHEN OLD.valid = 1
BEGIN
    UPDATE run_index_hourly SET n = n - 1
    WHERE hour = (OLD.created_us - ((OLD.created_us % 3600000000) + 3600000000) % 3600000000) / 3600000000
      AND risk_key = coalesce(OLD.risk_key, '') AND status = coalesce(OLD.status, '');
END;

CREATE TRIGGER run_index_hourly_update_old
AFTER UPDATE OF valid, created_us, risk_key, status ON run_index WHEN OLD.valid = 1
BEGIN
    UPDATE run_index_hourly SET n = n - 1
    WHERE hour = (OLD.created_us - ((OLD.created_us % 3600000000) + 3600000000) % 3600000000) / 3600000000
      AND risk_key = coalesce(OLD.risk_key, '') AND status = coalesce(OLD.status, '');
END;

CREATE TRIGGER run_index_hourly_update_new
AFTER UPDATE OF valid, created_us, risk_key, status ON run_index WHEN NEW.valid = 1
BEGIN
    INSERT INTO run_index_hourly (hour, risk_key, status, n) VALUES (
        (NEW.created_us - ((NEW.created_us % 3600000000) + 3600000000) % 3600000000) / 3600000000,
        coalesce(NEW.risk_key, ''), coalesce(NEW.status, ''), 1)
    ON CONFLICT (hour, risk_key, status) DO UPDATE SET n = n + 1;
END;
