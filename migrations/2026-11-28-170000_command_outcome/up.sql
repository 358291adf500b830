-- What a command's outcome was, for GET /commands/{id} and answers that
-- wait (Prefer: wait): the event it caused and, for a rejection, its
-- message. NULL for rows written before these columns.
ALTER TABLE processed_commands
    ADD COLUMN event_id uuid,
    ADD COLUMN event_type varchar(64),
    ADD COLUMN rejection_message text;
