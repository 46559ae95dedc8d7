-- Two-person approvals (issue 26): a request for an irreversible action that waits
-- for approvers. Ids only: no names, no reasons in clear. No foreign keys to users or
-- offices, on purpose: an office purge removes the requester's account and the office
-- row, and the request must outlive both to record the outcome.
CREATE TABLE approvals (
    id                TEXT PRIMARY KEY,
    action            TEXT NOT NULL CHECK (action IN ('purge_office', 'lift_hold')),
    office            TEXT NOT NULL,
    -- The office's audit_from when asked: an office purged and created again under the
    -- same slug is another office, whose administrators do not see this request.
    office_from       INTEGER NOT NULL,
    case_id           TEXT,
    requester         TEXT NOT NULL,
    requester_session BLOB,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    expires_unix      INTEGER NOT NULL,
    needed            INTEGER NOT NULL CHECK (needed >= 1),
    -- Space-separated user ids of those who approved, in order.
    approvers         TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                        ('pending', 'approved', 'denied', 'expired', 'withdrawn', 'done', 'failed')),
    decided_by        TEXT,
    outcome           TEXT
);
CREATE INDEX approvals_office ON approvals (office, status);
