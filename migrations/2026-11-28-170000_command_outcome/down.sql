ALTER TABLE processed_commands
    DROP COLUMN event_id,
    DROP COLUMN event_type,
    DROP COLUMN rejection_message;
